"""The details-panel objects: a character request (prompt, seed, every attribute), a crowd, settings.

The attribute fields come from ``attribute_fields.json`` (``mach attributes --editor-fields``; a
test keeps it equal to the backend's attribute model): a word list becomes an enum with a first
"(from prompt)" value, a colour a LinearColor, a number a clamped slider. Colours, numbers and
switches have an inline tick box: unticked, the prompt and the seed decide. What a user changed
becomes ``path=value`` overrides, so an edit re-runs only the stages those attributes feed.
"""
from __future__ import annotations

import json
from pathlib import Path

import unreal

from machcreator_editor import request_model

FIELDS: list[dict] = json.loads((Path(__file__).with_name("attribute_fields.json")).read_text(encoding="utf-8"))
UNSPECIFIED = "UNSPECIFIED"
GROUP_TITLES = {"facial_hair": "Facial Hair", "glasses": "Accessories", "headwear": "Accessories",
                "accessories": "Accessories"}


def prop_name(path: str) -> str:
    return path.replace(".", "_")


def use_name(path: str) -> str:
    return "use_" + prop_name(path)


def _category(path: str) -> str:
    group = path.split(".")[0]
    return "Attributes|" + GROUP_TITLES.get(group, group.replace("_", " ").title())


def _label(path: str) -> str:
    return path.split(".")[-1].replace("_", " ").capitalize()


def _make_enum(path: str, words: list[str]):
    namespace = {UNSPECIFIED: unreal.uvalue(0, meta={"DisplayName": "(from prompt)"})}
    for i, word in enumerate(words, start=1):
        namespace[word.upper()] = unreal.uvalue(i, meta={"DisplayName": word.replace("_", " ")})
    return unreal.uenum()(type(f"MachEnum_{prop_name(path)}", (unreal.EnumBase,), namespace))


ENUMS = {f["path"]: _make_enum(f["path"], f["values"]) for f in FIELDS if f["kind"] == "enum"}


def _attribute_properties() -> dict:
    ns = {}
    for f in FIELDS:
        path, name = f["path"], prop_name(f["path"])
        meta = {"Category": _category(path), "DisplayName": _label(path)}
        if f["description"]:
            meta["ToolTip"] = f["description"]
        if f["kind"] == "enum":
            ns[name] = unreal.uproperty(ENUMS[path], meta=meta)
            continue
        if f["kind"] == "list":
            meta["ToolTip"] = "comma-separated: " + ", ".join(f["values"])
            ns[name] = unreal.uproperty(str, meta=meta)
            continue
        ns[use_name(path)] = unreal.uproperty(bool, meta={"Category": meta["Category"], "InlineEditConditionToggle": "true"})
        meta["EditCondition"] = use_name(path)
        if f["kind"] == "float":
            bounds = {"ClampMin": str(f["min"]), "ClampMax": str(f["max"]), "UIMin": str(f["min"]), "UIMax": str(f["max"])}
            ns[name] = unreal.uproperty(float, meta=meta | bounds)
        elif f["kind"] == "color":
            meta["ToolTip"] = "snaps to the nearest of: " + ", ".join(f["values"])
            ns[name] = unreal.uproperty(unreal.LinearColor, meta=meta)
        else:
            ns[name] = unreal.uproperty(bool, meta=meta)
    return ns


def _quality() -> dict:
    return {
        "texture_size": unreal.uproperty(int, meta={"Category": "Quality", **request_model.clamp("texture_size"),
                                                    "ToolTip": "texture maps, pixels"}),
        "hair_detail": unreal.uproperty(float, meta={"Category": "Quality", **request_model.clamp("hair_detail"),
                                                     "ToolTip": "fraction of the full strand count"}),
    }

MachCharacterRequest = unreal.uclass()(type("MachCharacterRequest", (unreal.Object,), {
    "prompt": unreal.uproperty(str, meta={"Category": "Prompt", "MultiLine": "true",
                                          "ToolTip": "e.g. an old fisherman with a grey beard and a wool cap"}),
    # no ClampMax: the backend's largest seed is beyond a details panel's int32
    "seed": unreal.uproperty(int, meta={"Category": "Prompt", "ClampMin": request_model.clamp("seed")["ClampMin"],
                                        "ToolTip": "picks whatever the prompt leaves open"}),
    "character_name": unreal.uproperty(str, meta={"Category": "Prompt", "ToolTip": "asset folder name; empty: from the prompt"}),
    "photo": unreal.uproperty(unreal.FilePath, meta={
        "Category": "Prompt", "FilePathFilter": "Portrait (*.jpg;*.jpeg;*.png)|*.jpg;*.jpeg;*.png",
        "ToolTip": "a frontal portrait: the head is fitted to it, the prompt makes the rest (it may then be empty)"}),
    **_quality(),
    **_attribute_properties(),
}))


@unreal.uenum()
class MachLayout(unreal.EnumBase):
    GRID = unreal.uvalue(0, meta={"DisplayName": "Grid"})
    SPLINE = unreal.uvalue(1, meta={"DisplayName": "Along a spline"})
    TARGETS = unreal.uvalue(2, meta={"DisplayName": "At tagged target points"})


MachCrowdRequest = unreal.uclass()(type("MachCrowdRequest", (unreal.Object,), {
    "prompts": unreal.uproperty(str, meta={"Category": "Crowd", "MultiLine": "true",
                                          "ToolTip": "one prompt per line; empty: random characters"}),
    "count": unreal.uproperty(int, meta={"Category": "Crowd", "ClampMin": "1", "ClampMax": "500"}),
    "seed": unreal.uproperty(int, meta={"Category": "Crowd", "ClampMin": "0"}),
    "shared_prompt": unreal.uproperty(str, meta={"Category": "Crowd", "ToolTip": "added to every random character"}),
    "female": unreal.uproperty(bool, meta={"Category": "Diversity"}),
    "male": unreal.uproperty(bool, meta={"Category": "Diversity"}),
    "african": unreal.uproperty(bool, meta={"Category": "Diversity"}),
    "asian": unreal.uproperty(bool, meta={"Category": "Diversity"}),
    "caucasian": unreal.uproperty(bool, meta={"Category": "Diversity"}),
    "mixed": unreal.uproperty(bool, meta={"Category": "Diversity"}),
    "min_age": unreal.uproperty(float, meta={"Category": "Diversity", "ClampMin": "1", "ClampMax": "95"}),
    "max_age": unreal.uproperty(float, meta={"Category": "Diversity", "ClampMin": "1", "ClampMax": "95"}),
    "layout": unreal.uproperty(MachLayout, meta={"Category": "Placement"}),
    "spacing_cm": unreal.uproperty(float, meta={"Category": "Placement", "ClampMin": "30"}),
    "columns": unreal.uproperty(int, meta={"Category": "Placement", "ClampMin": "0", "ToolTip": "0: square-ish grid"}),
    "spline_actor": unreal.uproperty(str, meta={"Category": "Placement", "ToolTip": "label of an actor with a spline"}),
    "target_tag": unreal.uproperty(str, meta={"Category": "Placement", "ToolTip": "tag of the target points"}),
    **_quality(),
}))


MachBackendSettings = unreal.uclass()(type("MachBackendSettings", (unreal.Object,), {
    "endpoint": unreal.uproperty(str, meta={"Category": "Backend", "ToolTip": "tcp://HOST:PORT of `mach serve`"}),
    "start_local_backend": unreal.uproperty(bool, meta={"Category": "Backend",
                                                       "ToolTip": "start `mach serve` here when nothing answers"}),
    "backend_python": unreal.uproperty(str, meta={"Category": "Backend",
                                                 "ToolTip": "the Python (of the venv) that has machcreator installed"}),
    "backend_workers": unreal.uproperty(int, meta={"Category": "Backend", "ClampMin": "1", "ClampMax": "16"}),
    "server_key": unreal.uproperty(str, meta={"Category": "Security", "ToolTip": "remote backend: its server.key"}),
    "client_key": unreal.uproperty(str, meta={"Category": "Security", "ToolTip": "remote backend: your NAME.key_secret"}),
    "content_root": unreal.uproperty(str, meta={"Category": "Import", "ToolTip": "content folder, under /Game/"}),
    "rig": unreal.uproperty(str, meta={"Category": "Import", "ToolTip": "auto, metahuman or arkit"}),
    **_quality(),
}))


MachLiveLinkRequest = unreal.uclass()(type("MachLiveLinkRequest", (unreal.Object,), {
    "subject": unreal.uproperty(str, meta={"Category": "Live Link Face",
                                           "ToolTip": "the subject name the Live Link Face app shows for your phone"}),
    "enable_project_setting": unreal.uproperty(bool, meta={
        "Category": "Live Link Face",
        "ToolTip": "write bEnableLiveLinkForFaceTracking=True into Config/DefaultEngine.ini (restart the editor)"}),
}))


# --- values <-> backend words ------------------------------------------------------------------

def _srgb_to_linear(c: float) -> float:
    c /= 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _linear_to_srgb(c: float) -> float:
    c = min(max(c, 0.0), 1.0)
    return 255.0 * (12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055)


def nearest_color(field: dict, color) -> str:
    """The colour name of ``field``'s vocabulary nearest to a LinearColor (in sRGB)."""
    rgb = [_linear_to_srgb(color.r), _linear_to_srgb(color.g), _linear_to_srgb(color.b)]
    return min(field["srgb"], key=lambda n: sum((a - b) ** 2 for a, b in zip(rgb, field["srgb"][n])))


def color_of(field: dict, name: str):
    r, g, b = field["srgb"][name]
    return unreal.LinearColor(_srgb_to_linear(r), _srgb_to_linear(g), _srgb_to_linear(b), 1.0)


def _enum_word(path: str, value) -> str | None:
    enum = ENUMS[path]
    for f in FIELDS:
        if f["path"] == path:
            for word in f["values"]:
                if value == getattr(enum, word.upper()):
                    return word
    return None


def read_values(request) -> dict[str, object]:
    """Every attribute as the backend spells it (None: left to the prompt and seed)."""
    out = {}
    for f in FIELDS:
        path = f["path"]
        value = request.get_editor_property(prop_name(path))
        if f["kind"] == "enum":
            out[path] = _enum_word(path, value)
        elif f["kind"] == "list":
            words = [w.strip().lower() for w in str(value).split(",") if w.strip()]
            out[path] = ",".join(words) or None
        elif not request.get_editor_property(use_name(path)):
            out[path] = None
        elif f["kind"] == "float":
            out[path] = round(float(value), 3)
        elif f["kind"] == "color":
            out[path] = nearest_color(f, value)
        else:
            out[path] = bool(value)
    return out


def write_values(request, attributes: dict) -> None:
    """Fill the request from a manifest's ``attributes_resolved`` (every field set)."""
    for f in FIELDS:
        path = f["path"]
        value = attributes
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        name = prop_name(path)
        if f["kind"] == "enum":
            if hasattr(ENUMS[path], str(value).upper()):
                request.set_editor_property(name, getattr(ENUMS[path], str(value).upper()))
        elif f["kind"] == "list":
            request.set_editor_property(name, ", ".join(value))
        elif f["kind"] == "color":
            if value in f["srgb"]:
                request.set_editor_property(name, color_of(f, value))
                request.set_editor_property(use_name(path), True)
        else:
            request.set_editor_property(name, float(value) if f["kind"] == "float" else bool(value))
            request.set_editor_property(use_name(path), True)


def overrides(before: dict, after: dict) -> list[str]:
    """``path=value`` for each attribute that changed (``path=unspecified`` for one unticked)."""
    out = []
    for path, value in after.items():
        if value != before.get(path):
            out.append(f"{path}={'unspecified' if value is None else str(value).lower()}")
    return out


def new_character_request(texture_size: int, hair_detail: float):
    request = MachCharacterRequest()
    request.set_editor_property("texture_size", texture_size)
    request.set_editor_property("hair_detail", hair_detail)
    return request
