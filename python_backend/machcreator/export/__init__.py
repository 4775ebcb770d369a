"""Writers of a finished character: glTF (gltf.py), strand grooms as Alembic (alembic.py) and
USD (usd.py), a self-contained glb with the textures inside (embed.py), the package folder and its manifest (package.py), and the Khronos glTF validator
bridge (gltf_validator.py); native_lock.py serialises every use of USD and Alembic. Export only reads."""
