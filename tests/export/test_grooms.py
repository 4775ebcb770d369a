"""Groom files: Alembic after Epic's "Alembic for Grooms" spec, USD BasisCurves, package + validator.

Every check re-reads the written file with alembic3d or pxr and measures it.
"""

import dataclasses
import hashlib
import json
import shutil
import time

import imath
import numpy as np
import pytest
from alembic3d import Abc, AbcGeom
from pxr import Sdf, Usd, UsdGeom

from machcreator.character import GROOM_NAMES, Groom
from machcreator.export.alembic import (GROOM_ATTRIBUTES, UNREAL_CONVERSION, groom_file_problems, read_groom_abc,
                                        write_groom_abc)
from machcreator.export.gltf import to_y_up
from machcreator.export.package import read_manifest, validate_package, write_package
from machcreator.export.usd import read_groom_usd, write_groom_usd


# --- synthetic grooms ----------------------------------------------------------------------------

def helical_groom(name="scalp", n=400, seed=0, centre=(0.0, 0.0, 1.62), radius=0.095, counts=None,
                  guide_every=10) -> Groom:
    """``n`` helical strands of varied length (2-30 cm) and point count grown outwards from the upper
    half of a sphere (metres, Z-up); every ``guide_every``-th strand is a guide. Diameter tapers
    from 0.012 cm at the root to 0.005 cm at the tip."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d[:, 2] = np.abs(d[:, 2])
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    counts = rng.integers(8, 25, n).astype(np.int32) if counts is None else np.asarray(counts, np.int32)
    strand = np.repeat(np.arange(n), counts)
    t = np.concatenate([np.linspace(0.0, 1.0, k) for k in counts]) if len(set(counts.tolist())) > 1 \
        else np.tile(np.linspace(0.0, 1.0, counts[0]), n)
    e1 = np.cross(d, np.where(np.abs(d[:, 2:]) < 0.9, [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]))
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(d, e1)
    length = rng.uniform(0.02, 0.30, n)[strand]
    phase = 2 * np.pi * (3 * t + rng.uniform(0, 1, n)[strand])
    curl = 0.01 * t
    points = (np.asarray(centre) + radius * d[strand] + (length * t)[:, None] * d[strand]
              + curl[:, None] * (np.cos(phase)[:, None] * e1[strand] + np.sin(phase)[:, None] * e2[strand]))
    colors = np.clip(np.array([0.10, 0.06, 0.03]) + 0.05 * t[:, None] + 0.02 * rng.random((len(t), 3)), 0, 1)
    root_uv = np.stack([np.arctan2(d[:, 1], d[:, 0]) / (2 * np.pi) + 0.5, np.arccos(d[:, 2]) / np.pi], axis=1)
    return Groom(name=name, points=points.astype(np.float32), counts=counts,
                 widths=(1.2e-4 - 0.7e-4 * t).astype(np.float32), colors=colors.astype(np.float32),
                 root_uv=root_uv.astype(np.float32), guide=np.arange(n) % guide_every == 0,
                 clump_id=(np.arange(n) // 8).astype(np.int32), group_id=GROOM_NAMES.index(name),
                 labels={"style": "test helix", "length_cm": 30})


@pytest.fixture(scope="module")
def groom() -> Groom:
    return helical_groom()


@pytest.fixture(scope="module")
def abc(groom, tmp_path_factory):
    path = tmp_path_factory.mktemp("abc") / "scalp.abc"
    write_groom_abc(groom, path)
    return path


@pytest.fixture(scope="module")
def usdc(groom, tmp_path_factory):
    path = tmp_path_factory.mktemp("usd") / "scalp.usdc"
    write_groom_usd(groom, path)
    return path


# --- Alembic -------------------------------------------------------------------------------------

def test_abc_holds_one_linear_curves_object_under_the_groom_xform(abc, groom):
    top = Abc.IArchive(str(abc)).getTop()
    assert top.getNumChildren() == 1
    xform = top.getChild(0)
    assert xform.getName() == "scalp" and AbcGeom.IXform.matches(xform.getMetaData())
    assert xform.getNumChildren() == 1 and AbcGeom.ICurves.matches(xform.getChild(0).getMetaData())
    sample = AbcGeom.ICurves(xform.getChild(0), Abc.WrapExistingFlag.kWrapExisting).getSchema().getValue()
    assert sample.getType() == AbcGeom.CurveType.kLinear
    assert sample.getWrap() == AbcGeom.CurvePeriodicity.kNonPeriodic
    assert sample.getBasis() == AbcGeom.BasisType.kNoBasis
    assert sample.getNumCurves() == groom.num_strands == 400


def test_abc_groom_version_and_tool_are_int16_and_string_user_properties(abc):
    xform = AbcGeom.IXform(Abc.IArchive(str(abc)).getTop().getChild(0), Abc.WrapExistingFlag.kWrapExisting)
    props = xform.getSchema().getUserProperties()
    kinds = {props.getPropertyHeader(i).getName(): str(props.getPropertyHeader(i).getDataType().getPod())
             for i in range(props.getNumProperties())}
    assert kinds == {"groom_version_major": "kInt16POD", "groom_version_minor": "kInt16POD", "groom_tool": "kStringPOD"}
    assert Abc.IInt16Property(props, "groom_version_major").getValue() == 1
    assert Abc.IInt16Property(props, "groom_version_minor").getValue() == 5
    assert Abc.IStringProperty(props, "groom_tool").getValue() == "MachCreator"


def test_abc_counts_widths_and_positions_round_trip(abc, groom):
    gf = read_groom_abc(abc)
    np.testing.assert_array_equal(gf.counts, groom.counts)
    assert len(gf.points) == int(groom.counts.sum())
    assert gf.widths_scope == "vertex"
    np.testing.assert_allclose(gf.widths, groom.widths.astype(np.float64) * 100, rtol=1e-6)  # metres -> cm
    np.testing.assert_allclose(gf.points, to_y_up(groom.points) * 100, rtol=1e-6, atol=1e-4)
    assert 0.005 <= gf.widths.min() and gf.widths.max() <= 0.012 + 1e-6
    assert groom_file_problems(gf) == []


def test_abc_attributes_have_spec_names_scopes_and_values(abc, groom):
    gf = read_groom_abc(abc)
    assert {name: scope for name, (_, scope) in gf.attributes.items()} == GROOM_ATTRIBUTES
    a = {name: values for name, (values, _) in gf.attributes.items()}
    np.testing.assert_array_equal(a["groom_guide"], groom.guide.astype(int))
    assert a["groom_guide"].sum() == 40
    np.testing.assert_array_equal(a["groom_id"], np.arange(400))
    np.testing.assert_array_equal(a["groom_group_id"], np.zeros(400))
    np.testing.assert_array_equal(a["groom_clumpid"], groom.clump_id)
    # V up, as Unreal keeps groom root UVs (it flips them to meet the mesh's top-left UVs)
    np.testing.assert_array_equal(a["groom_root_uv"], np.stack([groom.root_uv[:, 0], 1 - groom.root_uv[:, 1]], 1))
    np.testing.assert_array_equal(a["groom_color"], groom.colors)
    assert a["groom_group_name"].tolist() == ["scalp"]


def test_abc_color_is_an_rgb_float3_vertex_param(abc):
    curves = Abc.IArchive(str(abc)).getTop().getChild(0).getChild(0)
    arb = AbcGeom.ICurves(curves, Abc.WrapExistingFlag.kWrapExisting).getSchema().getArbGeomParams()
    meta = arb.getPropertyHeader("groom_color").getMetaData()
    assert (meta.get("interpretation"), meta.get("podName"), meta.get("podExtent"), meta.get("geoScope")) == \
        ("rgb", "float32_t", "3", "vtx")


def test_axes_a_known_point_goes_to_centimetres_y_up_facing_plus_z(tmp_path):
    # one strand from 1.70 m high, 1 cm to the character's left (+X), 2 cm in front of it (-Y in
    # character space), rising 1 cm: Y-up, facing +Z -> (1, 170, 2) and (1, 171, 2) cm
    g = dataclasses.replace(helical_groom(n=1, counts=[2]), points=np.array([[0.01, -0.02, 1.70], [0.01, -0.02, 1.71]], np.float32))
    write_groom_abc(g, tmp_path / "p.abc")
    write_groom_usd(g, tmp_path / "p.usdc")
    for gf in (read_groom_abc(tmp_path / "p.abc"), read_groom_usd(tmp_path / "p.usdc")):
        np.testing.assert_allclose(gf.points, [[1.0, 170.0, 2.0], [1.0, 171.0, 2.0]], atol=1e-4)


def _ue_rotation(pitch, yaw, roll):
    """Unreal's FRotationMatrix (row-vector convention: p' = p @ M), angles in degrees."""
    sp, sy, sr = np.sin(np.radians([pitch, yaw, roll]))
    cp, cy, cr = np.cos(np.radians([pitch, yaw, roll]))
    return np.array([[cp * cy, cp * sy, sp],
                     [sr * sp * cy - cr * sy, sr * sp * sy + cr * cy, -sr * cp],
                     [-(cr * sp * cy + sr * sy), cy * sr - cr * sp * sy, cr * cp]])


def test_unreal_conversion_puts_the_groom_where_unreal_puts_the_glb(abc, groom):
    # Unreal's groom importer: p' = p * FScaleMatrix(Scale) * FRotationMatrix(MakeFromEuler(Rotation)),
    # Euler (X, Y, Z) = (roll, pitch, yaw). Its glTF importer: (x, y, z) m -> 100 * (x, z, y) cm.
    rx, ry, rz = UNREAL_CONVERSION["rotation"]
    in_unreal = read_groom_abc(abc).points * np.asarray(UNREAL_CONVERSION["scale"]) @ _ue_rotation(ry, rz, rx)
    glb_in_unreal = 100 * to_y_up(groom.points)[:, [0, 2, 1]]
    np.testing.assert_allclose(in_unreal, glb_in_unreal, atol=1e-3)
    assert in_unreal[:, 2].min() > 150  # standing on Unreal's +Z, hair at head height


def test_abc_is_byte_for_byte_deterministic(groom, abc, tmp_path):
    write_groom_abc(groom, tmp_path / "again.abc")
    assert (tmp_path / "again.abc").read_bytes() == abc.read_bytes()


def test_writers_refuse_inconsistent_grooms(groom, tmp_path):
    bad = dataclasses.replace(groom, widths=groom.widths[:-1])
    with pytest.raises(ValueError, match="widths"):
        write_groom_abc(bad, tmp_path / "bad.abc")
    with pytest.raises(ValueError, match="counts"):
        write_groom_usd(dataclasses.replace(groom, counts=groom.counts + 1), tmp_path / "bad.usdc")
    assert not (tmp_path / "bad.abc").exists() and not (tmp_path / "bad.usdc").exists()


# --- files that break the spec -------------------------------------------------------------------

def write_raw_abc(path, groom, *, version=True, polymesh=False):
    """A groom file written with alembic3d directly: curves with widths, optionally the groom
    version user properties and a PolyMesh (a triangle) beside the curves."""
    archive = Abc.OArchive(str(path))
    xform = AbcGeom.OXform(archive.getTop(), groom.name)
    if version:
        props = xform.getSchema().getUserProperties()
        Abc.OInt16Property(props, "groom_version_major").setValue(1)
        Abc.OInt16Property(props, "groom_version_minor").setValue(5)
    widths = AbcGeom.OFloatGeomParamSample(imath.FloatArrayFromBuffer(groom.widths * 100),
                                           AbcGeom.GeometryScope.kVertexScope)
    sample = AbcGeom.OCurvesSchemaSample(
        imath.V3fArrayFromBuffer((to_y_up(groom.points) * 100).astype(np.float32)),
        imath.IntArrayFromBuffer(groom.counts), AbcGeom.CurveType.kLinear,
        AbcGeom.CurvePeriodicity.kNonPeriodic, widths)
    AbcGeom.OCurves(xform, "strands").getSchema().set(sample)
    if polymesh:
        tri = AbcGeom.OPolyMeshSchemaSample(
            imath.V3fArrayFromBuffer(np.eye(3, dtype=np.float32)), imath.IntArrayFromBuffer(np.arange(3, dtype=np.int32)),
            imath.IntArrayFromBuffer(np.array([3], np.int32)))
        AbcGeom.OPolyMesh(xform, "scalp_cap").getSchema().set(tri)


def test_problems_name_a_polymesh_and_a_missing_version(groom, tmp_path):
    write_raw_abc(tmp_path / "mesh.abc", groom, polymesh=True)
    write_raw_abc(tmp_path / "nover.abc", groom, version=False)
    mesh, nover = read_groom_abc(tmp_path / "mesh.abc"), read_groom_abc(tmp_path / "nover.abc")
    assert mesh.other_objects == ["/scalp/scalp_cap (AbcGeom_PolyMesh_v1)"] and mesh.version == (1, 5)
    assert any("non-curve" in p and "PolyMesh" in p for p in groom_file_problems(mesh))
    assert nover.version == (None, None) and not nover.other_objects
    assert any(p.startswith("groom_version_major is None") for p in groom_file_problems(nover))
    # neither has the groom_* attributes; each missing one is named
    assert {p for p in groom_file_problems(nover) if p.startswith("attribute")} == \
        {f"attribute {name} missing" for name in GROOM_ATTRIBUTES}


def test_problems_name_implausible_widths_and_root_uvs(groom, tmp_path):
    thick = dataclasses.replace(groom, widths=np.full_like(groom.widths, 0.01),  # 1 cm: Unreal's fallback
                                root_uv=groom.root_uv + 1.0)
    write_groom_abc(thick, tmp_path / "thick.abc")
    problems = groom_file_problems(read_groom_abc(tmp_path / "thick.abc"))
    assert any(p.startswith("widths span 1..1 cm") for p in problems)
    assert "groom_root_uv outside 0..1" in problems


# --- USD -----------------------------------------------------------------------------------------

def test_usd_stage_axes_units_and_curves(usdc, groom):
    stage = Usd.Stage.Open(str(usdc))
    assert UsdGeom.GetStageUpAxis(stage) == "Y" and UsdGeom.GetStageMetersPerUnit(stage) == 0.01
    assert stage.GetDefaultPrim().GetPath() == "/scalp"
    curves = UsdGeom.BasisCurves(stage.GetPrimAtPath("/scalp/strands"))
    assert curves.GetTypeAttr().Get() == "linear" and curves.GetWrapAttr().Get() == "nonperiodic"
    assert curves.GetWidthsInterpolation() == "vertex"
    assert list(curves.GetCurveVertexCountsAttr().Get()) == groom.counts.tolist()
    np.testing.assert_allclose(np.array(curves.GetWidthsAttr().Get()), groom.widths.astype(np.float64) * 100, rtol=1e-6)


def test_usd_primvars_match_the_alembic_attributes(usdc, abc):
    stage = Usd.Stage.Open(str(usdc))  # a prim does not keep its stage alive
    prim = stage.GetPrimAtPath("/scalp/strands")
    pvs = {pv.GetPrimvarName(): (pv.GetInterpolation(), pv.GetTypeName()) for pv in UsdGeom.PrimvarsAPI(prim).GetAuthoredPrimvars()}
    assert pvs == {
        "groom_color": ("vertex", Sdf.ValueTypeNames.Color3fArray),
        "groom_root_uv": ("uniform", Sdf.ValueTypeNames.Float2Array),
        "groom_guide": ("uniform", Sdf.ValueTypeNames.IntArray),
        "groom_group_id": ("uniform", Sdf.ValueTypeNames.IntArray),
        "groom_id": ("uniform", Sdf.ValueTypeNames.IntArray),
        "groom_clumpid": ("uniform", Sdf.ValueTypeNames.IntArray),
        "groom_group_name": ("constant", Sdf.ValueTypeNames.String),
        "displayColor": ("vertex", Sdf.ValueTypeNames.Color3fArray),
    }
    u, a = read_groom_usd(usdc), read_groom_abc(abc)
    np.testing.assert_array_equal(u.points, a.points)
    np.testing.assert_array_equal(u.widths, a.widths)
    for name in GROOM_ATTRIBUTES:
        np.testing.assert_array_equal(u.attributes[name][0], a.attributes[name][0], err_msg=name)
    np.testing.assert_array_equal(u.attributes["displayColor"][0], a.attributes["groom_color"][0])
    assert groom_file_problems(u, alembic=False) == []


def test_usd_is_byte_for_byte_deterministic(groom, usdc, tmp_path):
    write_groom_usd(groom, tmp_path / "again.usdc")
    assert (tmp_path / "again.usdc").read_bytes() == usdc.read_bytes()


# --- the package ---------------------------------------------------------------------------------

def character_grooms(character) -> list[Groom]:
    """A scalp groom on the head's crown and a few eyebrow strands (synthetic, realistic sizes)."""
    head = character.part("head").positions
    top = np.array([head[:, 0].mean(), head[:, 1].mean(), head[:, 2].max() - 0.09])
    return [helical_groom("scalp", n=600, centre=top, radius=0.09),
            helical_groom("eyebrows", n=60, seed=1, centre=top + [0, -0.08, -0.02], radius=0.01, guide_every=6)]


@pytest.fixture(scope="module")
def groomed_package(fisherman_result, tmp_path_factory):
    result = dataclasses.replace(fisherman_result, character=dataclasses.replace(
        fisherman_result.character, grooms=character_grooms(fisherman_result.character)))
    out = tmp_path_factory.mktemp("pkg") / "groomed"
    write_package(result, out)
    return out


def test_package_lists_grooms_with_counts_and_unreal_settings(groomed_package):
    m = read_manifest(groomed_package)
    assert m.format_version == "1.2"
    roles = {f.path: (f.role, f.media_type) for f in m.files}
    assert roles["grooms/scalp.abc"] == ("groom", "application/octet-stream")
    assert roles["grooms/eyebrows.usdc"][0] == "groom_usd"
    scalp, brows = m.grooms
    assert (scalp.name, scalp.group_id, scalp.num_strands, scalp.num_guides) == ("scalp", 0, 540, 60)
    assert (brows.name, brows.group_id, brows.num_strands, brows.num_guides) == ("eyebrows", 1, 50, 10)
    assert scalp.files.abc == "grooms/scalp.abc" and scalp.files.usd == "grooms/scalp.usdc"
    assert scalp.num_points == len(read_groom_abc(groomed_package / "grooms/scalp.abc").points)
    assert scalp.units == "centimetre" and scalp.labels == {"style": "test helix", "length_cm": 30}
    raw = json.loads((groomed_package / "manifest.json").read_text())["grooms"][0]["unreal_import"]
    assert raw == {"rotation": [90.0, 0.0, 0.0], "scale": [1.0, -1.0, 1.0]}


def test_package_with_grooms_passes_validate_package(groomed_package):
    assert validate_package(groomed_package) == []


def test_package_without_grooms_has_no_grooms_folder(fisherman_result, tmp_path):
    small = {k: v[:8, :8] for k, v in fisherman_result.character.textures.items()}  # fast to encode
    result = dataclasses.replace(fisherman_result, character=dataclasses.replace(
        fisherman_result.character, grooms=[], textures=small))
    m = write_package(result, tmp_path / "bald")
    assert m.grooms == [] and not any(f.role.startswith("groom") for f in m.files)
    assert not (tmp_path / "bald" / "grooms").exists()


def _tampered_copy(package, tmp_path, rel, write):
    """Copy the package, rewrite ``rel`` with ``write(path)`` and re-sign it in the manifest (so only
    the content check can catch it)."""
    pkg = tmp_path / "pkg"
    shutil.copytree(package, pkg)
    write(pkg / rel)
    manifest = json.loads((pkg / "manifest.json").read_text())
    for f in manifest["files"]:
        if f["path"] == rel:
            f["bytes"], f["sha256"] = (pkg / rel).stat().st_size, hashlib.sha256((pkg / rel).read_bytes()).hexdigest()
    (pkg / "manifest.json").write_text(json.dumps(manifest))
    return pkg


@pytest.mark.parametrize("kind, expected", [("polymesh", "non-curve objects"), ("no_version", "groom_version_major")])
def test_validator_rejects_a_polymesh_or_a_missing_groom_version(groomed_package, tmp_path, kind, expected):
    groom = helical_groom("scalp", n=600)  # the same counts as the package's scalp
    pkg = _tampered_copy(groomed_package, tmp_path, "grooms/scalp.abc",
                         lambda p: write_raw_abc(p, groom, version=kind != "no_version", polymesh=kind == "polymesh"))
    issues = validate_package(pkg, gltf_validator=False)
    assert issues and all(i.path == "grooms/scalp.abc" and i.severity == "error" for i in issues)
    assert any(expected in i.message for i in issues)


def test_validator_rejects_counts_that_disagree_with_the_manifest(groomed_package, tmp_path):
    pkg = _tampered_copy(groomed_package, tmp_path, "grooms/eyebrows.usdc",
                         lambda p: write_groom_usd(helical_groom("eyebrows", n=59, seed=1, guide_every=6), p))
    messages = [i.message for i in validate_package(pkg, gltf_validator=False)]
    assert messages == ["groom eyebrows: 59 strands and "
                        f"{read_groom_usd(pkg / 'grooms/eyebrows.usdc').points.shape[0]} points; the manifest says 60 and "
                        f"{read_manifest(pkg).grooms[1].num_points}"]


def test_validator_reports_an_unreadable_groom(groomed_package, tmp_path):
    pkg = _tampered_copy(groomed_package, tmp_path, "grooms/scalp.abc", lambda p: p.write_bytes(b"not alembic" * 10))
    issues = validate_package(pkg, gltf_validator=False)
    assert [(i.path, i.message.split(":")[1].strip()) for i in issues] == [("grooms/scalp.abc", "unreadable")]


# --- a manual speed check ------------------------------------------------------------------------

@pytest.mark.slow
def test_print_write_time_for_100k_strands_of_24_points(tmp_path):
    g = helical_groom(n=100_000, counts=np.full(100_000, 24))
    for ext, write in (("abc", write_groom_abc), ("usdc", write_groom_usd)):
        t = time.perf_counter()
        write(g, tmp_path / f"big.{ext}")
        print(f"\n{ext}: 100k strands x 24 points written in {time.perf_counter() - t:.2f} s, "
              f"{(tmp_path / f'big.{ext}').stat().st_size / 1e6:.1f} MB")
    t = time.perf_counter()
    gf = read_groom_abc(tmp_path / "big.abc")
    print(f"abc re-read in {time.perf_counter() - t:.2f} s")
    assert gf.num_strands == 100_000
