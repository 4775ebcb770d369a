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

from machcreator.assets.fitting import BodySurface, FittedAsset, SurfaceCloud, push_out
from machcreator.assets.matching import SlotChoice
from machcreator.attributes import COLORS
from machcreator.character import Character, Groom, MeshPart

#: fitting order of the matched slots (see the module docstring)
LAYER_ORDER: tuple[str, ...] = ("shoes", "bottom", "top", "outerwear", "accessories", "glasses", "headwear")
#: strands keep this far outside the outermost cloth, metres
HAIR_CLEARANCE_M = 0.003


@dataclass
class Dressing:
    """What dressing made: the fitted assets, the grooms after tucking, the hidden skin mask."""

    assets: list[FittedAsset]
    grooms: list[Groom]
    surface: BodySurface  # the skin they were fitted to
    hidden_body: np.ndarray  # (V,) bool over ``surface`` vertices
    layers: list[SurfaceCloud] = field(default_factory=list)


def fit_choice(choice: SlotChoice, surface: BodySurface, layers: list[SurfaceCloud], *, num_morphs: int,
               seed: int, under_outerwear: bool = False) -> FittedAsset | None:
    """Fit one matched asset: a built-in builder (``entry.generator``), a studio glb fitted from
    the reference body, or nothing for an Unreal-only asset (the editor scripts reference it)."""
    entry = choice.asset.entry
    color = COLORS[choice.color] if choice.color else None
    if entry.generator is None:
        if entry.glb is None:
            return None
        from machcreator.assets.user_mesh import fit_user_mesh, reference_surface

        return fit_user_mesh(choice.asset, reference_surface(), surface, num_morphs, color=choice.color)
    kind, _, name = entry.generator.partition(":")
    base = color if color is not None else (60, 60, 60)
    if kind == "garment":
        from machcreator.assets.garments import fit_garment

        return fit_garment(name, surface, color=base, pattern=choice.pattern, layers=layers,
                           num_morphs=num_morphs, seed=seed, under_outerwear=under_outerwear)
    if kind == "shoes":
        from machcreator.assets.shoes import fit_shoes

        return fit_shoes(name, surface, color=base, num_morphs=num_morphs, seed=seed)
    if kind == "accessory":
        from machcreator.assets.accessories import fit_accessory

        name, _, style = name.partition(":")
        return fit_accessory(name, surface, color=color, layers=layers, num_morphs=num_morphs, seed=seed,
                             style=style or None)
    if kind == "glasses":
        from machcreator.assets.glasses import fit_glasses

        return fit_glasses(name, surface, color=color, num_morphs=num_morphs)
    raise ValueError(f"no builder for {entry.generator!r}")


def dress(character: Character, choices: list[SlotChoice], seed: int) -> Dressing:
    """Fit the matched assets to ``character`` in :data:`LAYER_ORDER` and tuck its grooms."""
    surface = BodySurface.from_character(character)
    layers = [surface.cloud]
    assets: list[FittedAsset] = []
    grooms = list(character.grooms)
    hidden = np.zeros(len(surface.positions), bool)
    num_morphs = len(character.morph_names)
    outerwear = any(c.slot == "outerwear" for c in choices)
    for slot in LAYER_ORDER:
        for choice in (c for c in choices if c.slot == slot):
            if slot == "headwear" and choice.asset.entry.generator is not None:
                asset, grooms = _fit_headwear(choice, surface, grooms, num_morphs, seed)
            else:
                asset = fit_choice(choice, surface, layers, num_morphs=num_morphs, seed=seed,
                                   under_outerwear=slot == "top" and outerwear)
            if asset is None:
                continue
            assets.append(asset)
            if asset.outer_surface is not None:
                layers.append(asset.outer_surface)
            if asset.hidden_body is not None:
                hidden |= asset.hidden_body
    grooms = [push_strands_out(g, layers[1:]) if g.name == "scalp" else g for g in grooms]
    assets = hide_covered_cloth(assets, surface)
    return Dressing(assets=assets, grooms=grooms, surface=surface, hidden_body=hidden, layers=layers)


def hide_covered_cloth(assets: list[FittedAsset], surface: BodySurface) -> list[FittedAsset]:
    """Each garment without the faces a garment fitted over it covers for sure, as the skin under
    both is: a shirt's armpit inside a jacket's cannot cross it, in any pose, if it is not there.

    assets: in fitting order (inner first); garments are those with an ``outer_surface``.
    """
    out = list(assets)
    covered = np.zeros(len(surface.positions), bool)
    for i in reversed(range(len(out))):
        asset = out[i]
        if asset.outer_surface is None or asset.hidden_body is None:
            continue
        if covered.any():
            parts = []
            for part in asset.parts:
                _, nearest = surface.tree.query(part.positions)
                hidden = covered[nearest][part.faces].all(1)
                parts.append(drop_faces(part, hidden) if hidden.any() else part)
            out[i] = dataclasses.replace(asset, parts=[p for p in parts if len(p.faces)])
        covered |= asset.hidden_body
    return out


def _fit_headwear(choice: SlotChoice, surface: BodySurface, grooms: list[Groom], num_morphs: int,
                  seed: int) -> tuple[FittedAsset, list[Groom]]:
    """A hat big enough for the hair under it, and that hair pressed inside it."""
    from machcreator.assets.headwear import fit_hair_under, fit_headwear, hair_thickness, headwear_cover

    style = choice.asset.entry.generator.partition(":")[2]
    thickness = hair_thickness(grooms, style, surface)
    color = COLORS[choice.color] if choice.color else (70, 70, 70)
    asset = fit_headwear(style, surface, color=color, pattern=choice.pattern, hair_thickness_m=thickness,
                         num_morphs=num_morphs, seed=seed)
    return asset, fit_hair_under(grooms, headwear_cover(style, surface, thickness), style)


def push_strands_out(groom: Groom, cloth: list[SurfaceCloud]) -> Groom:
    """Strand points that fell inside a garment's outer surface (long hair over a coat) moved
    back out along the cloth's normal; roots never move."""
    if not cloth:
        return groom
    points = groom.points.astype(np.float64)
    movable = np.ones(len(points), bool)
    movable[groom.offsets[:-1]] = False
    # hair between the skin and a loose coat can be 6 cm from its cloth
    points[movable] = push_out(points[movable], cloth, HAIR_CLEARANCE_M, rounds=1, reach_m=0.08, planes=1)
    return dataclasses.replace(groom, points=points.astype(np.float32))


def dressed_character(character: Character, dressing: Dressing) -> Character:
    """``character`` with its assets added and the skin they hide removed from the body part."""
    surface = dressing.surface
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
