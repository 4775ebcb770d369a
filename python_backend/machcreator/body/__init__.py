"""The template body and face (Mach §2.2 geometry, embedded default: anny).

anny's parametric human shaped by the attributes through one readable table (shape_table.py),
cut into head and body parts with their own UV layouts (geometry.py), with eyes (eyes.py) and
procedural teeth and gums fitted into the mouth (mouth.py).
"""
