"""Dress a character: fit every chosen asset in layer order, tuck the hair, hide covered skin.

Order matters because each layer must clear the ones under it: shoes, bottoms, tops and dresses,
outerwear, then accessories (which sit on the outermost cloth), glasses and headwear (the hair
under a hat is compressed to fit inside it). Strands that hang over garments (long hair over a
coat) are pushed out of the cloth.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from machcreator.assets.fitting import BodySurface, FittedAsset, SurfaceCloud
from machcreator.character import Character, Groom, MeshPart

#: fitting order of the garment slots (see the module docstring)
LAYER_ORDER: tuple[str, ...] = ("shoes", "bottom", "top", "outerwear", "accessory", "glasses", "headwear")
#: strands keep this far outside the outermost cloth, metres
HAIR_CLEARANCE_M = 0.003


@dataclass(frozen=True)
class AssetChoice:
    """One asset to fit: which builder makes it and how it is coloured.

    slot: one of :data:`LAYER_ORDER`; generator: "garment:shirt", "glasses:round", ...;
    color: sRGB 0..255 or None for the builder's default; entry_id: the library id.
    """

    slot: str
    generator: str
    entry_id: str
    color: tuple[int, int, int] | None = None
    pattern: str | None = None


@dataclass
class Dressing:
    """What dressing made: the fitted assets, the grooms after tucking, the hidden skin mask."""

    assets: list[FittedAsset]
    grooms: list[Groom]
    hidden_body: np.ndarray  # (V,) bool over BodySurface vertices
    layers: list[SurfaceCloud] = field(default_factory=list)


def choices_from_attributes(resolved: "Attributes") -> list[AssetChoice]:
    """The built-in garments the resolved attributes name (used until matching picks them)."""
    from machcreator.attributes import COLORS

    g = resolved.garments
    out = []
    for slot, kind, color, pattern in (("bottom", g.bottom, g.bottom_color, getattr(g, "bottom_pattern", None)),
                                       ("top", g.top, g.top_color, getattr(g, "top_pattern", None)),
                                       ("outerwear", getattr(g, "outerwear", None), getattr(g, "outerwear_color", None),
                                        getattr(g, "outerwear_pattern", None))):
        if kind and kind != "none":
            out.append(AssetChoice(slot, f"garment:{kind}", kind, COLORS.get(color or "", None), pattern))
    return out


def fit_choice(choice: AssetChoice, surface: BodySurface, layers: list[SurfaceCloud], *, num_morphs: int,
               seed: int, hair_thickness_m: float = 0.0, under_outerwear: bool = False) -> FittedAsset:
    """Run the builder named by ``choice.generator`` for this body."""
    kind, _, name = choice.generator.partition(":")
    color = choice.color if choice.color is not None else (60, 60, 60)
    if kind == "garment":
        from machcreator.assets.garments import fit_garment

        return fit_garment(name, surface, color=color, pattern=choice.pattern, layers=layers,
                           num_morphs=num_morphs, seed=seed, under_outerwear=under_outerwear)
    if kind == "shoes":
        from machcreator.assets.shoes import fit_shoes

        return fit_shoes(name, surface, color=color, num_morphs=num_morphs, seed=seed)
    if kind == "accessory":
        from machcreator.assets.accessories import fit_accessory

        return fit_accessory(name, surface, color=choice.color, layers=layers, num_morphs=num_morphs, seed=seed)
    if kind == "glasses":
        from machcreator.assets.glasses import fit_glasses

        return fit_glasses(name, surface, color=choice.color, num_morphs=num_morphs)
    if kind == "headwear":
        from machcreator.assets.headwear import fit_headwear

        return fit_headwear(name, surface, color=color, pattern=choice.pattern, hair_thickness_m=hair_thickness_m,
                            num_morphs=num_morphs, seed=seed)
    raise ValueError(f"no builder for {choice.generator!r}")


def dress(character: Character, choices: list[AssetChoice], seed: int) -> Dressing:
    """Fit ``choices`` to ``character`` in :data:`LAYER_ORDER` and tuck its grooms."""
    surface = BodySurface.from_character(character)
    layers = [surface.cloud]
    assets: list[FittedAsset] = []
    grooms = list(character.grooms)
    hidden = np.zeros(len(surface.positions), bool)
    num_morphs = len(character.morph_names)
    for slot in LAYER_ORDER:
        for choice in (c for c in choices if c.slot == slot):
            if slot == "headwear":
                from machcreator.assets.headwear import fit_hair_under, hair_thickness

                thickness = hair_thickness(grooms, surface)
                asset = fit_choice(choice, surface, layers, num_morphs=num_morphs, seed=seed,
                                   hair_thickness_m=thickness)
                grooms = fit_hair_under(grooms, asset, surface)
            else:
                asset = fit_choice(choice, surface, layers, num_morphs=num_morphs, seed=seed,
                                   under_outerwear=slot == "top" and any(c.slot == "outerwear" for c in choices))
            assets.append(asset)
            if asset.outer_surface is not None:
                layers.append(asset.outer_surface)
            if asset.hidden_body is not None:
                hidden |= asset.hidden_body
    grooms = [push_strands_out(g, layers[1:]) if g.name == "scalp" else g for g in grooms]
    return Dressing(assets=assets, grooms=grooms, hidden_body=hidden, layers=layers)


def push_strands_out(groom: Groom, cloth: list[SurfaceCloud]) -> Groom:
    """Strand points that fell inside a garment's outer surface (long hair over a coat) moved
    back out along the cloth's normal; roots never move."""
    if not cloth:
        return groom
    points = groom.points.astype(np.float64).copy()
    movable = np.ones(len(points), bool)
    movable[groom.offsets[:-1]] = False
    for layer in cloth:
        d, i = layer.tree.query(points)
        gap = np.einsum("nc,nc->n", points - layer.positions[i], layer.normals[i])
        move = movable & (gap < HAIR_CLEARANCE_M) & (d < 0.05)
        points[move] += layer.normals[i[move]] * (HAIR_CLEARANCE_M - gap[move])[:, None]
    return dataclasses.replace(groom, points=points.astype(np.float32))


def dressed_character(character: Character, dressing: Dressing, surface: BodySurface | None = None) -> Character:
    """``character`` with its assets added and the skin they hide removed from the body part."""
    surface = surface or BodySurface.from_character(character)
    parts = []
    for part in character.parts:
        if part.name == "body" and dressing.hidden_body.any():
            _, nearest = surface.tree.query(part.positions)
            part = drop_faces(part, dressing.hidden_body[nearest][part.faces].all(1))
        parts.append(part)
    materials, textures = dict(character.materials), dict(character.textures)
    for asset in dressing.assets:
        parts += asset.parts
        materials |= asset.materials
        textures |= asset.textures
    return dataclasses.replace(character, parts=parts, materials=materials, textures=textures,
                               grooms=dressing.grooms)


def drop_faces(part: MeshPart, drop: np.ndarray) -> MeshPart:
    """``part`` without the faces ``drop`` (F,) and the vertices only they used."""
    faces = part.faces[~drop]
    used = np.unique(faces)
    remap = np.full(part.num_vertices, -1)
    remap[used] = np.arange(len(used))
    return dataclasses.replace(
        part, positions=part.positions[used], normals=part.normals[used], uvs=part.uvs[used],
        faces=remap[faces], joints=part.joints[used], weights=part.weights[used],
        morph_deltas=part.morph_deltas[:, used],
        template_uvs=None if part.template_uvs is None else part.template_uvs[used])
