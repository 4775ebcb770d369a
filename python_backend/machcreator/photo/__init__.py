"""The photo path (Mach §2.2–2.4): a portrait in, the template head fitted to it and its delit
texture out. ``image.py`` decodes and checks the photo, ``landmarks.py`` finds the face,
``correspondence.py`` ties landmarks to the template, ``camera.py`` and ``geometry_fit.py`` fit
camera and shape, ``texture_fit.py``, ``delight.py`` and ``completion.py`` make the texture."""
