"""CPU rendering: a vectorised rasteriser (raster.py), shading frames (surface.py), strand
rendering (strands.py) and the preview renderer (preview.py) every package ships so a person can
see the character without Unreal."""
