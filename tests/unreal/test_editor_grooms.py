"""Issue 20 (6): grooms follow the face's morph targets. They read the skinned surface from the GPU
skin cache, so brows, lashes and beard move with a blink or an open jaw only where the project has
"Support Compute Skin Cache" on, the mesh is skinned through it and the grooms bind by skinning."""
from __future__ import annotations

import codecs
import os
import stat

import pytest

from editor_fixtures import EDITOR_VERSIONS, new_editor, purge_editor_modules

FOLDER = "/Game/MachCreator/Characters/Fisherman"
SKIN_CACHE_ON = "[/Script/Engine.RendererSettings]\nr.SkinCache.CompileShaders=True\n"
#: the engine's own default (GPUSkinCache.cpp: 0); projects from some templates have it on
SKIN_CACHE_OFF = "[/Script/Engine.RendererSettings]\nr.SkinCache.CompileShaders=False\n"


def start_editor(tmp_path, monkeypatch, version, *, ini: str | None = None, plugins=None):
    """A fake editor (skin cache, grooms and Live Link simulated) started on a project whose
    DefaultEngine.ini holds ``ini``."""
    if ini is not None:
        (tmp_path / "Project" / "Config").mkdir(parents=True, exist_ok=True)
        (tmp_path / "Project" / "Config" / "DefaultEngine.ini").write_text(ini)
    return new_editor(tmp_path, monkeypatch, version, **({"plugins": plugins} if plugins is not None else {}))


@pytest.fixture(params=EDITOR_VERSIONS)
def version(request):
    yield request.param
    purge_editor_modules()


def _import_and_place(fisherman_package):
    from ue_scripts import actors
    from ue_scripts.import_package import import_character
    character = import_character(fisherman_package, name="Fisherman")
    return character, actors.place(character)


@pytest.mark.parametrize("default_behavior", [1, 0], ids=["inclusive", "exclusive"])
def test_grooms_follow_the_morphs_where_the_project_has_the_skin_cache(
        tmp_path, monkeypatch, version, fisherman_package, default_behavior):
    """Exclusive is what MetaHuman projects set (r.SkinCache.DefaultBehavior=0): a mesh left on Auto
    is then skinned without the skin cache, and its grooms stay put."""
    ed = start_editor(tmp_path, monkeypatch, version,
                      ini=SKIN_CACHE_ON + f"r.SkinCache.DefaultBehavior={default_behavior}\n")
    character, placed = _import_and_place(fisherman_package)
    assert set(placed.grooms) == set(character.grooms) and "eyebrows" in placed.grooms
    for name, groom_actor in placed.grooms.items():
        follows, why = ed.groom_follows_morphs(groom_actor)
        assert follows, (name, why)
    assert not [t for level, t in ed.logs if "will not follow" in t]


def test_a_groom_that_binds_rigidly_is_bound_by_skinning(tmp_path, monkeypatch, version, fisherman_package):
    ed = start_editor(tmp_path, monkeypatch, version, ini=SKIN_CACHE_ON)
    U = ed.module
    original = ed.handlers[("AssetTools", "import_asset_tasks")]

    def rigid(tools, import_tasks):  # e.g. a groom asset a user set to Rigid, re-imported in place
        original(tools, import_tasks)
        for asset in ed.assets.values():
            if asset._spec_name == "GroomAsset":
                for group in asset._props.get("hair_groups_lod", []):
                    for lod in group._props["lo_ds"]:
                        lod._props["binding_type"] = U.GroomBindingType.RIGID
    ed.handlers[("AssetTools", "import_asset_tasks")] = rigid
    character, placed = _import_and_place(fisherman_package)
    for name, groom in character.grooms.items():
        lods = [lod for g in groom.get_editor_property("hair_groups_lod") for lod in g.get_editor_property("lo_ds")]
        assert lods and all(lod.get_editor_property("binding_type") == U.GroomBindingType.SKINNING for lod in lods)
        assert ed.groom_follows_morphs(placed.grooms[name])[0], name


def test_without_the_skin_cache_the_import_says_so_once(tmp_path, monkeypatch, version, fisherman_package):
    ed = start_editor(tmp_path, monkeypatch, version, ini=SKIN_CACHE_OFF)
    from ue_scripts.import_package import import_character
    character, placed = _import_and_place(fisherman_package)
    import_character(fisherman_package, name="Other")
    notices = [t for level, t in ed.logs if level == "log_warning" and "will not follow the face's morph targets" in t]
    assert len(notices) == 1
    assert "Support Compute Skin Cache" in notices[0] and "restart the editor" in notices[0]
    assert not ed.dialogs  # the import itself opens no modal dialog
    from ue_scripts import grooms
    ed.message_reply = lambda dialog: ed.module.AppReturnType.NO
    assert grooms.notify_skin_cache() == "declined"  # asked after the import: the dialog, once
    assert len(ed.dialogs) == 1 and grooms.notify_skin_cache() == "notified" and len(ed.dialogs) == 1
    assert len([t for _, t in ed.logs if "will not follow the face's morph targets" in t]) == 1
    follows, why = ed.groom_follows_morphs(placed.grooms["eyebrows"])
    assert not follows and "r.SkinCache.CompileShaders was off" in why[0]


def test_the_notice_offers_to_turn_the_setting_on_and_a_restart_applies_it(tmp_path, monkeypatch, version,
                                                                           fisherman_package):
    ini = tmp_path / "Project" / "Config" / "DefaultEngine.ini"
    original = ("; the project's own settings\r\n[/Script/Engine.RendererSettings]\r\n"
                "r.DefaultFeature.AutoExposure=False\r\nr.SkinCache.CompileShaders=False\r\n+ExtraSetting=A\r\n+ExtraSetting=B\r\n\r\n"
                "[/Script/EngineSettings.GameMapsSettings]\r\nGameDefaultMap=/Game/Maps/Main.Main\r\n")
    ed = start_editor(tmp_path, monkeypatch, version, ini=original)
    from ue_scripts import grooms
    assert grooms.notify_skin_cache() == "enabled"
    assert [d.title for d in ed.dialogs] == ["MachCreator: grooms and morph targets", "MachCreator"]
    assert "Turn on 'Support Compute Skin Cache'" in ed.dialogs[0].message
    assert "Restart the editor" in ed.dialogs[1].message
    text = ini.read_bytes().decode()
    assert text == original.replace("CompileShaders=False", "CompileShaders=True")  # that line only
    assert grooms.notify_skin_cache() == "notified"  # once per session
    assert not grooms.skin_cache_state().on and grooms.skin_cache_state().restart_pending
    purge_editor_modules()

    restarted = start_editor(tmp_path, monkeypatch, version)  # a restart: the editor reads the ini again
    from ue_scripts import grooms as grooms_after
    assert grooms_after.skin_cache_state().on and grooms_after.notify_skin_cache() == "ok"
    character, placed = _import_and_place(fisherman_package)
    assert all(restarted.groom_follows_morphs(g)[0] for g in placed.grooms.values())


def test_declining_changes_nothing(tmp_path, monkeypatch, version):
    ed = start_editor(tmp_path, monkeypatch, version, ini=SKIN_CACHE_OFF)
    ed.message_reply = lambda dialog: ed.module.AppReturnType.NO
    from ue_scripts import grooms
    assert grooms.notify_skin_cache() == "declined"
    assert (tmp_path / "Project" / "Config" / "DefaultEngine.ini").read_text() == SKIN_CACHE_OFF


def test_the_morph_following_check_names_every_missing_piece(tmp_path, monkeypatch, version, fisherman_package):
    ed = start_editor(tmp_path, monkeypatch, version, ini=SKIN_CACHE_ON + "r.SkinCache.DefaultBehavior=0\n")
    from ue_scripts import grooms
    from ue_scripts.import_package import import_character
    character = import_character(fisherman_package, name="Fisherman")
    assert grooms.morph_following(character.skeletal_mesh, character.grooms).follows
    lods = character.skeletal_mesh.get_editor_property("lod_info")
    lods[0]._props["skin_cache_usage"] = ed.module.SkinCacheUsage.AUTO
    character.grooms["scalp"].get_editor_property("hair_groups_lod")[0].get_editor_property("lo_ds")[0]._props[
        "binding_type"] = ed.module.GroomBindingType.RIGID
    report = grooms.morph_following(character.skeletal_mesh, character.grooms)
    assert not report.follows
    assert any("LOD 0 does not use the skin cache" in p for p in report.problems)
    assert any("groom scalp LOD 0 binds rigidly" in p for p in report.problems)


# --- the project setting, written into DefaultEngine.ini as text ----------------------------------

def test_the_setting_is_added_to_an_ini_without_the_section_and_is_idempotent(tmp_path):
    from ue_scripts import project_settings as ps
    (tmp_path / "Game.uproject").write_text("{}")
    assert ps.enable_skin_cache(tmp_path) is True
    ini = tmp_path / "Config" / "DefaultEngine.ini"
    assert ini.read_bytes() == (f"[/Script/Engine.RendererSettings]{os.linesep}"
                                f"r.SkinCache.CompileShaders=True{os.linesep}").encode()
    before = ini.read_bytes()
    assert ps.enable_skin_cache(tmp_path) is False and ini.read_bytes() == before
    assert ps.skin_cache_in_ini(tmp_path)


def test_an_existing_value_is_changed_in_place_keeping_everything_else(tmp_path):
    from ue_scripts.project_settings import ini_value, set_ini_value
    ini = tmp_path / "DefaultEngine.ini"
    text = ("[/Script/Engine.RendererSettings]\n; keep me\nr.SkinCache.CompileShaders=False\n"
            "+Paths=A\n+Paths=A\n-Paths=B\n.Paths=C\n\n[Other]\nr.SkinCache.CompileShaders=False\n")
    ini.write_text(text)
    assert set_ini_value(ini, "/Script/Engine.RendererSettings", "r.SkinCache.CompileShaders", "True")
    assert ini.read_text() == text.replace("CompileShaders=False\n+", "CompileShaders=True\n+")
    assert ini_value(ini, "/script/engine.renderersettings", "R.SKINCACHE.COMPILESHADERS") == "True"
    assert ini_value(ini, "Other", "r.SkinCache.CompileShaders") == "False"


def test_utf16_and_bom_files_keep_their_encoding(tmp_path):
    from ue_scripts.project_settings import set_ini_value
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF8, "utf-8")):
        ini = tmp_path / f"{encoding}.ini"
        section = "[/Script/AppleARKit.AppleARKitSettings]\r\nLiveLinkPublishingPort=11111\r\n"
        ini.write_bytes(bom + section.encode(encoding))
        set_ini_value(ini, "/Script/AppleARKit.AppleARKitSettings", "bEnableLiveLinkForFaceTracking", "True")
        assert ini.read_bytes() == bom + ("[/Script/AppleARKit.AppleARKitSettings]\r\nLiveLinkPublishingPort=11111\r\n"
                                          "bEnableLiveLinkForFaceTracking=True\r\n").encode(encoding)


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="read-only files are writable as root")
def test_a_read_only_ini_is_refused_and_left_alone(tmp_path):
    from ue_scripts.project_settings import SettingsError, set_ini_value
    ini = tmp_path / "DefaultEngine.ini"
    ini.write_text("[Core.System]\n")
    ini.chmod(stat.S_IRUSR)
    with pytest.raises(SettingsError, match="read-only"):
        set_ini_value(ini, "/Script/Engine.RendererSettings", "r.SkinCache.CompileShaders", "True")
    assert ini.read_text() == "[Core.System]\n"


def test_a_folder_that_is_no_project_is_refused(tmp_path):
    from ue_scripts.project_settings import SettingsError, enable_skin_cache
    with pytest.raises(SettingsError, match="not an Unreal project folder"):
        enable_skin_cache(tmp_path / "nowhere")
