"""MachCreator: text-to-3D character generation after Make-A-Character (Ren et al. 2023)."""

__version__ = "0.1.0"
