"""Strand grooms as USD BasisCurves (.usdc): the same data as the Alembic groom, for USD tools.

Blender's USD importer keeps the ``groom_*`` primvars (its Alembic importer drops them), and
Hydra viewers show the strands in colour through ``displayColor``. Layout, one groom per file::

    /<groom name>            Xform (default prim)
    /<groom name>/strands    BasisCurves, type linear, wrap nonperiodic, widths per vertex

Stage metadata: upAxis Y, metersPerUnit 0.01: points and widths are the Alembic file's values
(centimetres, Y-up, the character facing +Z). Primvars: the names and interpolations of
``alembic.GROOM_ATTRIBUTES`` (USD's "uniform" is one value per curve, like Alembic's), with
``groom_color`` as color3f. The crate writer is deterministic: the same groom gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pxr import Sdf, Usd, UsdGeom, Vt

from machcreator.character import Groom
from machcreator.export.alembic import (CURVES_NAME, GroomFile, check_groom, groom_attributes, groom_points_cm,
                                        groom_widths_cm)
from machcreator.export.native_lock import serialised

METERS_PER_UNIT = 0.01


def _vt_value(values: np.ndarray, name: str):
    """(type name, Vt value) of one primvar's values (shapes as in ``groom_attributes``)."""
    if values.dtype.kind == "U":
        return Sdf.ValueTypeNames.String, str(values[0])  # constant: one string
    if values.dtype == np.int32:
        return Sdf.ValueTypeNames.IntArray, Vt.IntArray.FromNumpy(values)
    if values.shape[1:] == (2,):
        return Sdf.ValueTypeNames.Float2Array, Vt.Vec2fArray.FromNumpy(np.ascontiguousarray(values, np.float32))
    if values.shape[1:] == (3,):
        return Sdf.ValueTypeNames.Color3fArray, Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(values, np.float32))
    raise TypeError(f"{name}: no USD primvar type for {values.dtype} {values.shape}")


@serialised
def write_groom_usd(groom: Groom, path: Path) -> None:
    """Write one groom as a binary USD layer at ``path`` (see the module docstring)."""
    check_groom(groom)
    # an in-memory stage exported at the end: Usd.Stage.CreateNew refuses a path whose layer is
    # still open in this process (writing the same package twice)
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, METERS_PER_UNIT)
    root = UsdGeom.Xform.Define(stage, f"/{groom.name}")
    stage.SetDefaultPrim(root.GetPrim())
    curves = UsdGeom.BasisCurves.Define(stage, f"/{groom.name}/{CURVES_NAME}")
    curves.CreateTypeAttr(UsdGeom.Tokens.linear)
    curves.CreateWrapAttr(UsdGeom.Tokens.nonperiodic)
    curves.CreateCurveVertexCountsAttr(Vt.IntArray.FromNumpy(np.ascontiguousarray(groom.counts, np.int32)))
    curves.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(groom_points_cm(groom)))
    curves.CreateWidthsAttr(Vt.FloatArray.FromNumpy(groom_widths_cm(groom)))
    curves.SetWidthsInterpolation(UsdGeom.Tokens.vertex)
    primvars = UsdGeom.PrimvarsAPI(curves)
    attrs = groom_attributes(groom)
    for name, (values, interpolation) in attrs.items():
        type_name, value = _vt_value(values, name)
        primvars.CreatePrimvar(name, type_name, interpolation).Set(value)
    color = attrs["groom_color"][0]
    curves.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex).Set(Vt.Vec3fArray.FromNumpy(color))
    stage.GetRootLayer().Export(str(path))


def _primvar_values(primvar) -> np.ndarray:
    value = primvar.Get()
    return np.array([value]) if isinstance(value, str) else np.array(value)


@serialised
def read_groom_usd(path: Path) -> GroomFile:
    """Re-read a groom USD file with pxr (every BasisCurves prim, concatenated, as in
    ``read_groom_abc``). ``properties`` holds the stage's upAxis and metersPerUnit.
    Raises ``pxr.Tf.ErrorException`` for an unreadable file."""
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    stage = Usd.Stage.Open(str(path))
    points, counts, widths, width_scopes, attrs = [], [], [], [], {}
    types, wraps, others = set(), set(), []
    for prim in stage.Traverse():
        if prim.IsA(UsdGeom.BasisCurves):
            curves = UsdGeom.BasisCurves(prim)
            points.append(np.array(curves.GetPointsAttr().Get(), np.float32).reshape(-1, 3))
            counts.append(np.array(curves.GetCurveVertexCountsAttr().Get(), np.int32))
            types.add(str(curves.GetTypeAttr().Get()))
            wraps.add(str(curves.GetWrapAttr().Get()))
            if curves.GetWidthsAttr().HasAuthoredValue():
                widths.append(np.array(curves.GetWidthsAttr().Get(), np.float32))
                width_scopes.append(str(curves.GetWidthsInterpolation()))
            for pv in UsdGeom.PrimvarsAPI(prim).GetAuthoredPrimvars():
                attrs.setdefault(pv.GetPrimvarName(), ([], str(pv.GetInterpolation())))[0].append(_primvar_values(pv))
        elif prim.GetTypeName() not in ("Xform", "Scope", ""):
            others.append(f"{prim.GetPath()} ({prim.GetTypeName()})")
    properties = {"upAxis": (str(UsdGeom.GetStageUpAxis(stage)), "token"),
                  "metersPerUnit": (UsdGeom.GetStageMetersPerUnit(stage), "double")}
    return GroomFile.gathered(points, counts, widths, width_scopes, attrs, properties, types, wraps, others)
