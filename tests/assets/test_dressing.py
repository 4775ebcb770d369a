"""The assets stage on the shared generated character (the fisherman: "a wool cap" in the prompt):
what the manifest lists, what the glb holds, the skin the clothes hide; and strands kept out of
cloth. (The hair under a cap is measured in test_headwear.py.)"""

from __future__ import annotations

import json
import struct

import numpy as np

from machcreator.assets.dressing import push_strands_out
from machcreator.assets.fitting import SurfaceCloud
from machcreator.body.geometry import BODY_LABELS
from machcreator.character import Groom


def _glb_json(path) -> dict:
    data = path.read_bytes()
    length = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[20:20 + length])


def test_the_manifest_lists_the_matched_assets_with_their_source(fisherman_package):
    manifest = json.loads((fisherman_package / "manifest.json").read_text())
    by_slot = {a["slot"]: a for a in manifest["assets"]}
    assert by_slot["headwear"]["id"] == "wool_cap" and by_slot["headwear"]["why"] == "attribute"
    assert {"top", "bottom", "shoes"} <= set(by_slot)  # nobody is generated naked
    for entry in manifest["assets"]:
        assert entry["library"] and entry["licence"] and entry["generator"]


def test_the_glb_holds_every_fitted_asset_on_the_one_skin(fisherman_package, fisherman_result):
    doc = _glb_json(fisherman_package / "character.glb")
    names = {p.name for p in fisherman_result.character.parts}
    assert {"garment_" + fisherman_result.resolved.garments.top, "wool_cap"} <= names
    # one skinned mesh: every asset primitive shares the skeleton and the 52 morph targets
    assert len(doc["meshes"]) == 1 and len(doc["skins"]) == 1
    assert len(doc["meshes"][0]["primitives"]) == len(fisherman_result.character.parts)


def test_covered_skin_is_removed_from_the_body(fisherman_result, body):
    whole = int(np.isin(body.face_labels, BODY_LABELS).sum())
    dressed = len(fisherman_result.character.part("body").faces)
    assert dressed < 0.6 * whole, "the skin under the clothes should be gone"
    assert dressed > 0.1 * whole, "hands, face-near skin and what the hems leave open stay"


def test_strands_are_pushed_out_of_cloth_but_roots_stay():
    plane = SurfaceCloud(np.array([[x, y, 0.0] for x in np.linspace(-0.1, 0.1, 11) for y in np.linspace(-0.1, 0.1, 11)]),
                         np.tile([0.0, 0.0, 1.0], (121, 1)))
    points = np.array([[0.0, 0.0, -0.01], [0.0, 0.0, -0.02], [0.01, 0.0, 0.05]], np.float32)
    groom = Groom("scalp", points, np.array([3], np.int32), np.full(3, 1e-4, np.float32), np.zeros((3, 3), np.float32),
                  np.zeros((1, 2), np.float32), np.zeros(1, bool), np.zeros(1, np.int32), 0)
    out = push_strands_out(groom, [plane]).points
    assert np.allclose(out[0], points[0])  # the root is on the skin: it never moves
    assert out[1, 2] >= 0.0029  # a point under the cloth comes out to the clearance
    assert np.allclose(out[2], points[2])  # a point already outside stays
