"""CPU rendering: a vectorised rasteriser (raster.py), strand rendering (strands.py) and the
preview renderer (preview.py) every package ships so a person can see the character without
Unreal; a differentiable rasteriser for the photo fit (diffrast.py). Shading frames are in
core/normals.py."""
