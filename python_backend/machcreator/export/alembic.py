"""Strand grooms as Alembic (.abc) curves, following Epic's "Alembic for Grooms" specification.

Spec: https://dev.epicgames.com/documentation/en-us/unreal-engine/using-alembic-for-grooms-in-unreal-engine
(schema 1.5), cross-checked against Unreal's importer (AlembicHairImporter, ``AlembicHairTranslator.cpp``).

What a file holds, one groom per file::

    /<groom name>            OXform, identity; user properties groom_version_major (int16 1),
                             groom_version_minor (int16 5), groom_tool (string "MachCreator")
    /<groom name>/strands    OCurves: every strand (rendered and guides), linear, non-periodic,
                             widths per vertex, and the groom_* arbGeomParams of GROOM_ATTRIBUTES

- Positions are **centimetres, Y-up, the character facing +Z**: the glb's axes (``to_y_up``) times
  100, like a Maya export. :data:`UNREAL_CONVERSION` is the import transform that puts the groom on
  the glb as Unreal imports it.
- Widths are the strand diameter in centimetres (Unreal reads them as ``groom_width``; a file
  without widths falls back to 1 cm hairs).
- Only curves and transforms: Unreal rejects a groom file holding any PolyMesh.
- Written with a plain ``OArchive`` (no "date written" metadata): the same groom gives a
  byte-identical file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import imath
import numpy as np
from alembic3d import Abc, AbcGeom

from machcreator.character import GROOM_NAMES, Groom
from machcreator.export.gltf import to_y_up
from machcreator.export.native_lock import serialised

GROOM_VERSION = (1, 5)
GROOM_TOOL = "MachCreator"
CURVES_NAME = "strands"
M_TO_CM = 100.0

#: Unreal's ``GroomConversionSettings`` for these files (degrees; scale as a 3-vector). Unreal
#: transforms each file point p as a row vector, ``p' = p · Scale · R(Rotation)``
#: (``FScaleMatrix(Scale) * FRotationMatrix(FQuat::MakeFromEuler(Rotation))``, Euler X = roll).
#: Scale (1, -1, 1) then a 90° roll maps (x, y, z) -> (x, -y, z) -> (x, z, y): a Y/Z swap, which is
#: exactly how Unreal's glTF importer places the glb (``GLTF::ConvertVec3`` = (X, Z, Y), metres x
#: 100), so the groom lands on the imported character. Scale magnitude 1: the file is already in
#: centimetres (Unreal also multiplies widths by |Scale.X|). The struct's own default is identity
#: (rotation 0, scale 1) and the editor remembers the last values used: importers must set these.
UNREAL_CONVERSION: dict[str, tuple[float, float, float]] = {"rotation": (90.0, 0.0, 0.0), "scale": (1.0, -1.0, 1.0)}

#: name -> scope of every per-strand/per-vertex attribute written (Epic's names, lowercase).
GROOM_ATTRIBUTES: dict[str, str] = {
    "groom_color": "vertex",        # float3, linear RGB
    "groom_root_uv": "uniform",     # float2, V up: see groom_attributes
    "groom_guide": "uniform",       # int, 1 = simulation guide, 0 = rendered strand
    "groom_group_id": "uniform",    # int, the groom's group (index in GROOM_NAMES)
    "groom_id": "uniform",          # int, strand index in the file
    "groom_clumpid": "uniform",     # int, clump of the strand
    "groom_group_name": "constant",  # string, the groom name (Unreal 5 names the group with it)
}

#: plausible strand diameters in cm: eyelash tips ~0.002, coarse beard ~0.02; 1 cm is Unreal's fallback
WIDTH_RANGE_CM = (0.001, 0.2)

_SCOPES = {"constant": AbcGeom.GeometryScope.kConstantScope, "uniform": AbcGeom.GeometryScope.kUniformScope,
           "varying": AbcGeom.GeometryScope.kVaryingScope, "vertex": AbcGeom.GeometryScope.kVertexScope,
           "facevarying": AbcGeom.GeometryScope.kFacevaryingScope}
_SCOPE_NAMES = {str(v): k for k, v in _SCOPES.items()} | {"kUnknownScope": "unknown"}
#: the short codes Alembic stores in a geom param's "geoScope" metadata
_SCOPE_CODES = {"con": "constant", "uni": "uniform", "var": "varying", "vtx": "vertex", "fvr": "facevarying"}


# --- groom -> file data (pure functions, shared with the USD writer) ------------------------------

def check_groom(groom: Groom) -> None:
    """Raise ValueError when the groom's arrays disagree in shape (a writer must never guess)."""
    S, P = groom.num_strands, len(groom.points)
    problems = []
    if groom.name not in GROOM_NAMES:
        problems.append(f"name {groom.name!r} is not one of {GROOM_NAMES}")
    if groom.points.shape != (P, 3):
        problems.append(f"points have shape {groom.points.shape}, expected (P, 3)")
    if S == 0 or int(groom.counts.sum()) != P or int(groom.counts.min()) < 2:
        problems.append(f"counts (S={S}, sum {int(groom.counts.sum())}) must be >= 2 each and sum to P={P}")
    for attr, shape in (("widths", (P,)), ("colors", (P, 3)), ("root_uv", (S, 2)), ("guide", (S,)), ("clump_id", (S,))):
        if getattr(groom, attr).shape != shape:
            problems.append(f"{attr} have shape {getattr(groom, attr).shape}, expected {shape}")
    if problems:
        raise ValueError(f"groom {groom.name!r}: " + "; ".join(problems))


def groom_points_cm(groom: Groom) -> np.ndarray:
    """(P, 3) float32 points in centimetres, Y-up, character facing +Z (the glb's axes x 100)."""
    return (to_y_up(groom.points) * M_TO_CM).astype(np.float32)


def groom_widths_cm(groom: Groom) -> np.ndarray:
    """(P,) float32 strand diameter at each point, centimetres."""
    return (np.asarray(groom.widths, np.float64) * M_TO_CM).astype(np.float32)


def groom_attributes(groom: Groom) -> dict[str, tuple[np.ndarray, str]]:
    """name -> (values, scope) for :data:`GROOM_ATTRIBUTES`.

    Values: vertex scope (P, ...), uniform scope (S, ...), constant scope (1,); float32 for
    colours/UVs, int32 for ids and flags, str for the group name.

    Root UVs are written V up (bottom-left origin): ``(u, 1 - v)`` of the Groom's top-left UVs.
    Unreal keeps groom root UVs that way and flips V when it meets the mesh UVs (its own note in
    MetaHuman's groom verification, which compares ``1 - v`` with the mesh: "The UVs in the groom
    roots have the Y axis inverted. See UnpackHairRootUV in HairStrandsPack.ush"); Blender's UVs
    are V up too.
    """
    S = groom.num_strands
    uv = np.asarray(groom.root_uv, np.float32).reshape(-1, 2)
    values = {
        "groom_color": np.asarray(groom.colors, np.float32).reshape(-1, 3),
        "groom_root_uv": np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1),
        "groom_guide": np.asarray(groom.guide, bool).astype(np.int32),
        "groom_group_id": np.full(S, groom.group_id, np.int32),
        "groom_id": np.arange(S, dtype=np.int32),
        "groom_clumpid": np.asarray(groom.clump_id, np.int32),
        "groom_group_name": np.array([groom.name]),
    }
    return {name: (values[name], scope) for name, scope in GROOM_ATTRIBUTES.items()}


# --- writing -------------------------------------------------------------------------------------

@serialised
def write_groom_abc(groom: Groom, path: Path) -> None:
    """Write one groom as an Unreal-ready Alembic file at ``path`` (see the module docstring)."""
    check_groom(groom)
    points = groom_points_cm(groom)
    widths = groom_widths_cm(groom)
    counts = np.ascontiguousarray(groom.counts, np.int32)
    # every Alembic object holds the archive open: they all live in this call, so the file is
    # complete when it returns
    archive = Abc.OArchive(str(path))
    xform = AbcGeom.OXform(archive.getTop(), groom.name)
    props = xform.getSchema().getUserProperties()
    Abc.OInt16Property(props, "groom_version_major").setValue(GROOM_VERSION[0])
    Abc.OInt16Property(props, "groom_version_minor").setValue(GROOM_VERSION[1])
    Abc.OStringProperty(props, "groom_tool").setValue(GROOM_TOOL)
    schema = AbcGeom.OCurves(xform, CURVES_NAME).getSchema()
    width_sample = AbcGeom.OFloatGeomParamSample(imath.FloatArrayFromBuffer(widths), _SCOPES["vertex"])
    sample = AbcGeom.OCurvesSchemaSample(
        imath.V3fArrayFromBuffer(points), imath.IntArrayFromBuffer(counts),
        AbcGeom.CurveType.kLinear, AbcGeom.CurvePeriodicity.kNonPeriodic, width_sample)
    sample.setBasis(AbcGeom.BasisType.kNoBasis)  # the constructor defaults to Bezier, meaningless for linear
    schema.set(sample)
    arb = schema.getArbGeomParams()
    for name, (values, scope) in groom_attributes(groom).items():
        _write_param(arb, name, values, scope)


def _write_param(parent, name: str, values: np.ndarray, scope: str) -> None:
    """One non-indexed arbGeomParam; float3 is written as a colour (C3f, "rgb")."""
    if values.dtype.kind == "U":
        param, array = AbcGeom.OStringGeomParam, imath.StringArray(len(values))
        for i, s in enumerate(values):
            array[i] = str(s)
    elif values.dtype == np.int32:
        param, array = AbcGeom.OInt32GeomParam, imath.IntArrayFromBuffer(values)
    elif values.dtype == np.float32 and values.ndim == 2 and values.shape[1] == 2:
        param, array = AbcGeom.OV2fGeomParam, imath.V2fArrayFromBuffer(np.ascontiguousarray(values))
    elif values.dtype == np.float32 and values.ndim == 2 and values.shape[1] == 3:
        # C3fArray has no FromBuffer; converting a V3fArray is a C++ copy
        param, array = AbcGeom.OC3fGeomParam, imath.C3fArray(imath.V3fArrayFromBuffer(np.ascontiguousarray(values)))
    else:
        raise TypeError(f"{name}: no Alembic param for {values.dtype} {values.shape}")
    sample_type = getattr(AbcGeom, param.__name__ + "Sample")
    param(parent, name, False, _SCOPES[scope], 1).set(sample_type(array, _SCOPES[scope]))


# --- reading -------------------------------------------------------------------------------------

@dataclass
class GroomFile:
    """What a groom file holds, as re-read from disk (Alembic here, USD in ``usd.py``).

    points: (P, 3) float32 as stored (centimetres for our files; parent transforms not applied).
    counts: (S,) int32 points per strand; widths: (W,) float32 or None, with ``widths_scope``.
    attributes: name -> (values, scope), scope "constant" | "uniform" | "vertex" | ...
    properties: groom-level values -> (value, type): Alembic user properties (e.g.
        ``groom_version_major`` -> (1, "int16")); for USD the stage's upAxis and metersPerUnit.
    curve_type / wrap: "linear" | "cubic" | ..., "nonperiodic" | "periodic".
    num_curve_objects: ICurves (or BasisCurves) objects found; their data is concatenated.
    other_objects: "path (schema)" of every object that is neither a transform nor curves.
    """

    points: np.ndarray
    counts: np.ndarray
    widths: np.ndarray | None
    widths_scope: str | None
    attributes: dict[str, tuple[np.ndarray, str]]
    properties: dict[str, tuple[object, str]]
    curve_type: str
    wrap: str
    num_curve_objects: int
    other_objects: list[str] = field(default_factory=list)

    @classmethod
    def gathered(cls, points: list, counts: list, widths: list, width_scopes: list, attrs: dict, properties: dict,
                 types: set, wraps: set, others: list) -> "GroomFile":
        """One record from what a reader collected per curves object (lists concatenated)."""
        return cls(
            points=np.concatenate(points) if points else np.zeros((0, 3), np.float32),
            counts=np.concatenate(counts) if counts else np.zeros(0, np.int32),
            widths=np.concatenate(widths) if widths else None,
            widths_scope=width_scopes[0] if width_scopes else None,
            attributes={k: (np.concatenate(v), scope) for k, (v, scope) in attrs.items()},
            properties=properties,
            curve_type="/".join(sorted(types)), wrap="/".join(sorted(wraps)),
            num_curve_objects=len(points), other_objects=others)

    @property
    def num_strands(self) -> int:
        return int(len(self.counts))

    @property
    def version(self) -> tuple[object, object]:
        """(major, minor) groom schema version; None where missing."""
        return tuple(self.properties.get(k, (None, ""))[0] for k in ("groom_version_major", "groom_version_minor"))


def _pod_name(data_type) -> str:
    """Alembic POD enum -> "int16", "float32", "string"... (from e.g. ``kInt16POD``)."""
    return str(data_type.getPod())[1:-3].lower()


#: (pod, extent) -> typed array property (each also reads the colour/normal/point flavours)
_ARRAY_READERS = {
    ("boolean", 1): Abc.IBoolArrayProperty, ("int8", 1): Abc.ICharArrayProperty,
    ("int16", 1): Abc.IInt16ArrayProperty, ("int32", 1): Abc.IInt32ArrayProperty,
    ("float32", 1): Abc.IFloatArrayProperty, ("float32", 2): Abc.IV2fArrayProperty,
    ("float32", 3): Abc.IV3fArrayProperty, ("float64", 1): Abc.IDoubleArrayProperty,
    ("float64", 2): Abc.IV2dArrayProperty, ("float64", 3): Abc.IV3dArrayProperty,
    ("string", 1): Abc.IStringArrayProperty,
}


def _read_array(parent, name: str) -> np.ndarray:
    header = parent.getPropertyHeader(name)
    key = (_pod_name(header.getDataType()), header.getDataType().getExtent())
    if key not in _ARRAY_READERS:
        raise ValueError(f"{name}: unsupported Alembic array type {key}")
    value = _ARRAY_READERS[key](parent, name).getValue()
    if isinstance(value, imath.C3fArray):
        # C3fArray has no buffer interface: np.array copies element by element (seconds per million);
        # its channel views do have one
        return np.stack([np.asarray(value.r), np.asarray(value.g), np.asarray(value.b)], axis=1)
    return np.array(value)  # a copy: the imath array owns the memory


def _read_param(arb, index: int) -> tuple[str, np.ndarray, str]:
    """(name, values expanded over any index, scope) of the index-th arbGeomParam."""
    header = arb.getPropertyHeader(index)
    name = header.getName()
    scope = _SCOPE_CODES.get(header.getMetaData().get("geoScope"), "unknown")
    if header.isCompound():  # an indexed param: .vals and .indices
        compound = Abc.ICompoundProperty(arb, name)
        scope = _SCOPE_CODES.get(compound.getPropertyHeader(".vals").getMetaData().get("geoScope"), scope)
        return name, _read_array(compound, ".vals")[_read_array(compound, ".indices")], scope
    return name, _read_array(arb, name), scope


def _scalar_properties(props) -> dict[str, tuple[object, str]]:
    out = {}
    # an absent compound is invalid, and alembic3d segfaults when asked for its size
    for i in range(props.getNumProperties() if props.valid() else 0):
        h = props.getPropertyHeader(i)
        if h.isScalar():
            out[h.getName()] = (Abc.IScalarProperty(props, h.getName()).getValue(), _pod_name(h.getDataType()))
    return out


def _walk(obj):
    """Depth-first over every object below ``obj``, in file order."""
    for i in range(obj.getNumChildren()):
        child = obj.getChild(i)
        yield child
        yield from _walk(child)


@serialised
def read_groom_abc(path: Path) -> GroomFile:
    """Re-read a groom Alembic file with alembic3d.

    Groom properties come from the first transform carrying user properties, else from the
    first curves' (where Unreal looks). Raises RuntimeError (from Alembic) for an unreadable file.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    archive = Abc.IArchive(str(path))
    properties: dict[str, tuple[object, str]] = {}
    points, counts, widths, width_scopes, attrs = [], [], [], [], {}
    types, wraps, others = set(), set(), []
    for obj in _walk(archive.getTop()):
        meta = obj.getMetaData()
        if AbcGeom.IXform.matches(meta):
            if not properties:
                properties = _scalar_properties(AbcGeom.IXform(obj, Abc.WrapExistingFlag.kWrapExisting).getSchema().getUserProperties())
        elif AbcGeom.ICurves.matches(meta):
            schema = AbcGeom.ICurves(obj, Abc.WrapExistingFlag.kWrapExisting).getSchema()
            sample = schema.getValue()
            points.append(np.array(sample.getPositions()).reshape(-1, 3))
            counts.append(np.array(sample.getCurvesNumVertices(), np.int32))
            types.add(str(sample.getType())[1:].lower())
            wraps.add(str(sample.getWrap())[1:].lower())
            param = schema.getWidthsParam()
            if param.valid():
                widths.append(np.array(param.getExpandedValue().getVals(), np.float32))
                width_scopes.append(_SCOPE_NAMES[str(param.getScope())])
            arb = schema.getArbGeomParams()
            for i in range(arb.getNumProperties() if arb.valid() else 0):  # (see _scalar_properties)
                name, values, scope = _read_param(arb, i)
                attrs.setdefault(name, ([], scope))[0].append(values)
            if not properties:
                properties = _scalar_properties(schema.getUserProperties())
        elif meta.get("schema"):
            others.append(f"{obj.getFullName()} ({meta.get('schema')})")
    return GroomFile.gathered(points, counts, widths, width_scopes, attrs, properties, types, wraps, others)


# --- checking against the spec -------------------------------------------------------------------

def groom_file_problems(gf: GroomFile, *, alembic: bool = True) -> list[str]:
    """Everything in a re-read groom file that breaks Epic's spec or our contract; empty = fine.

    Checks: only curves (Unreal rejects PolyMesh), one curves object, linear non-periodic curves,
    (Alembic only) the int16 groom version 1.5, every attribute of :data:`GROOM_ATTRIBUTES` with
    its scope and length, per-vertex widths > 0 within :data:`WIDTH_RANGE_CM`, root UVs in 0..1,
    finite points.
    """
    out = []
    S, P = gf.num_strands, len(gf.points)
    if gf.other_objects:
        out.append(f"holds non-curve objects (Unreal rejects the file): {', '.join(gf.other_objects)}")
    if gf.num_curve_objects != 1:
        out.append(f"expected one curves object, found {gf.num_curve_objects}")
    if gf.curve_type != "linear" or gf.wrap != "nonperiodic":
        out.append(f"curves are {gf.curve_type} {gf.wrap}, expected linear nonperiodic")
    if int(gf.counts.sum()) != P or (S and int(gf.counts.min()) < 2):
        out.append(f"strand point counts (sum {int(gf.counts.sum())}) do not cover the {P} points with >= 2 each")
    if alembic:
        for key, want in zip(("groom_version_major", "groom_version_minor"), GROOM_VERSION):
            value, kind = gf.properties.get(key, (None, "missing"))
            if value != want or kind != "int16":
                out.append(f"{key} is {value!r} ({kind}), the spec requires int16 {want}")
    sizes = {"vertex": P, "uniform": S, "constant": 1}
    for name, scope in GROOM_ATTRIBUTES.items():
        if name not in gf.attributes:
            out.append(f"attribute {name} missing")
            continue
        values, got = gf.attributes[name]
        if got != scope or len(values) != sizes[scope]:
            out.append(f"attribute {name} is {got} with {len(values)} values, expected {scope} with {sizes[scope]}")
    if gf.widths is None or gf.widths_scope != "vertex" or len(gf.widths) != P:
        out.append(f"widths must be per vertex ({P}); found {gf.widths_scope} with "
                   f"{0 if gf.widths is None else len(gf.widths)}")
    elif P and not (WIDTH_RANGE_CM[0] <= float(gf.widths.min()) and float(gf.widths.max()) <= WIDTH_RANGE_CM[1]):
        out.append(f"widths span {gf.widths.min():.4g}..{gf.widths.max():.4g} cm, outside the plausible "
                   f"{WIDTH_RANGE_CM[0]}..{WIDTH_RANGE_CM[1]} cm")
    uv = gf.attributes.get("groom_root_uv", (np.zeros((0, 2)), ""))[0]
    if len(uv) and not (np.isfinite(uv).all() and uv.min() >= 0.0 and uv.max() <= 1.0):
        out.append("groom_root_uv outside 0..1")
    if not np.isfinite(gf.points).all():
        out.append("non-finite point positions")
    return out
