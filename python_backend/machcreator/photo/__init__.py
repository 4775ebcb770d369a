"""The photo path (Mach §2.2–2.4): a portrait in, the template head fitted to it and its delit
texture out. ``image.py`` decodes and checks the photo."""
