"""The base layer every stage may import and that imports no stage: errors, file helpers, colour
spaces, seeded random streams, ramps, surface normals and tangents, and the hairstyle vocabulary.

Standard library and numpy only (``files`` and ``errors`` travel into the editor with the client,
so they import nothing else)."""
