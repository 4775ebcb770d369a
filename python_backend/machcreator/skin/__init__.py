"""Procedural PBR textures (Mach §2.3–2.4 without a portrait: what delighting and completion produce).

Skin from the ITA tone with regions, freckles, moles, wrinkles and make-up (textures.py), placed on
a UV-space position map (position_map.py); hair painted on the skin as the dense root layer under
the grooms (painted_hair.py); iris (iris.py), teeth and tongue (teeth.py); seeded noise, spots and resampling (noise.py).
"""
