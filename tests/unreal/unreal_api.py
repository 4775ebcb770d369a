"""The Unreal Python API our editor scripts may use: the 5.6 stub plus a documented list of extras.

The stub (PyPI ``unreal-stub``, one 25 MB ``unreal/unreal.py``) is read as text, never imported:
importing it would replace ``sys.stdout``, and some of its default values are not valid Python, so
``ast`` cannot parse it whole. Each ``class``/``def`` line is read with a bracket-aware splitter.
``ue_scripts/unreal_api_extras.json`` adds the plugin APIs the stub lacks (MetaHuman Character...),
each with the page of Epic's Python API docs it comes from.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXTRAS_PATH = REPO / "ue_scripts" / "unreal_api_extras.json"

_CLASS = re.compile(r"^class (\w+)\(([\w.]+)(?:,[^)]*)?\):")
_DEF = re.compile(r"^( {4})?def (\w+)\((.*)\)(?:\s*->\s*(.*?))?:\s*$")
_DECORATOR = re.compile(r"^ {4}@(\w+)(?:\.(setter))?\s*$")
_ENUM_VALUE = re.compile(r"^ {4}([A-Z_][A-Z0-9_]*): \w+ = \.\.\.")
_EDITOR_PROP = re.compile(r"^ {4}- ``(\w+)`` \((.*?)\):\s+\[(Read-Write|Read-Only)\]")


@dataclass(frozen=True)
class Param:
    name: str
    has_default: bool
    kind: str = "normal"  # normal | varargs | varkw | kwonly_marker


@dataclass
class Method:
    name: str
    params: list[Param]  # without self/cls
    classmethod: bool = False
    returns: str | None = None
    source: str = "stub"
    since: str | None = None  # extras: the first engine version that has it


@dataclass
class Prop:
    type: str
    writable: bool


@dataclass
class ClassSpec:
    name: str
    base: str | None
    kind: str = "class"  # class | struct | enum | glue
    methods: dict[str, Method] = field(default_factory=dict)
    properties: dict[str, Prop] = field(default_factory=dict)
    editor_properties: dict[str, Prop] = field(default_factory=dict)
    values: list[str] = field(default_factory=list)
    source: str = "stub"
    plugin: str | None = None  # extras: the plugin that must be enabled for the name to exist
    since: str | None = None  # extras: the first engine version that has it


@dataclass
class Api:
    classes: dict[str, ClassSpec]
    functions: dict[str, Method]

    def mro(self, name: str) -> list[ClassSpec]:
        """The class and its bases, nearest first."""
        out = []
        while name in self.classes:
            spec = self.classes[name]
            out.append(spec)
            name = spec.base
        return out

    def method(self, cls: str, name: str) -> Method | None:
        for spec in self.mro(cls):
            if name in spec.methods:
                return spec.methods[name]
        return None

    def prop(self, cls: str, name: str) -> Prop | None:
        for spec in self.mro(cls):
            if name in spec.properties:
                return spec.properties[name]
        return None

    def editor_prop(self, cls: str, name: str) -> Prop | None:
        for spec in self.mro(cls):
            if name in spec.editor_properties:
                return spec.editor_properties[name]
            if name in spec.properties:
                return spec.properties[name]
        return None

    def kind(self, cls: str) -> str:
        for spec in self.mro(cls):
            if spec.name in ("StructBase", "EnumBase"):
                return {"StructBase": "struct", "EnumBase": "enum"}[spec.name]
        return self.classes[cls].kind if cls in self.classes else "class"

    def has_member(self, cls: str, name: str) -> bool:
        return (self.method(cls, name) is not None or self.prop(cls, name) is not None
                or any(name in s.values for s in self.mro(cls)))


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split ``text`` at ``sep`` outside brackets and string literals."""
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_params(text: str) -> list[Param]:
    params = []
    for raw in split_top_level(text):
        if raw == "*":
            params.append(Param("*", False, "kwonly_marker"))
            continue
        if raw.startswith("**"):
            params.append(Param(raw[2:].split(":")[0].strip(), False, "varkw"))
            continue
        if raw.startswith("*"):
            params.append(Param(raw[1:].split(":")[0].strip(), False, "varargs"))
            continue
        name = re.match(r"\w+", raw).group(0)
        params.append(Param(name, len(split_top_level(raw, "=")) > 1))
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    return params


def _return_type(annotation: str | None) -> str | None:
    if not annotation or annotation.strip() == "None":
        return None
    return annotation.strip()


def parse_stub(text: str) -> Api:
    classes: dict[str, ClassSpec] = {}
    functions: dict[str, Method] = {}
    current: ClassSpec | None = None
    decorator = ""
    for line in text.splitlines():
        if not line or line[0] not in " cd@":
            continue
        if line.startswith("class "):
            m = _CLASS.match(line)
            current = None
            if m:
                base = m.group(2)
                current = ClassSpec(m.group(1), None if base == "object" else base,
                                    kind="glue" if base == "object" else "class")
                classes[current.name] = current
            continue
        if line.startswith("def "):
            current = None
            m = _DEF.match(line)
            if m:
                functions[m.group(2)] = Method(m.group(2), parse_params(m.group(3)),
                                               returns=_return_type(m.group(4)))
            continue
        if current is None:
            continue
        if line.startswith("    @"):
            m = _DECORATOR.match(line)
            decorator = "" if m is None else ("setter:" + m.group(1) if m.group(2) else m.group(1))
            continue
        if line.startswith("    def "):
            m = _DEF.match(line)
            if m:
                name = m.group(2)
                if decorator == "property":
                    current.properties[name] = Prop(m.group(4) or "object", False)
                elif decorator.startswith("setter:"):
                    if name in current.properties:
                        current.properties[name].writable = True
                else:
                    current.methods[name] = Method(name, parse_params(m.group(3)),
                                                   classmethod=decorator in ("classmethod", "staticmethod"),
                                                   returns=_return_type(m.group(4)))
            decorator = ""
            continue
        m = _ENUM_VALUE.match(line)
        if m:
            current.values.append(m.group(1))
            continue
        m = _EDITOR_PROP.match(line)
        if m:
            current.editor_properties[m.group(1)] = Prop(m.group(2), m.group(3) == "Read-Write")
    return Api(classes, functions)


def stub_path() -> Path:
    """unreal/unreal.py of the installed ``unreal-stub`` package, found without importing it."""
    spec = importlib.util.find_spec("unreal")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the unreal-stub package is not installed: pip install -r requirements.txt")
    path = Path(next(iter(spec.submodule_search_locations))) / "unreal.py"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: the installed 'unreal' package is not unreal-stub")
    return path


def _extra_method(name: str, entry: dict, source: str) -> Method:
    return Method(name, parse_params(", ".join(entry.get("params", []))),
                  classmethod=bool(entry.get("classmethod")), returns=entry.get("returns"),
                  source=entry.get("source", source), since=entry.get("since"))


def merge_extras(api: Api, extras: dict) -> None:
    """Add the documented plugin APIs; an extra may not shadow a stub name."""
    for name, entry in extras.get("classes", {}).items():
        if name in api.classes:
            raise ValueError(f"{EXTRAS_PATH.name}: {name} is already in the stub; remove it from the extras")
        source = entry["source"]
        spec = ClassSpec(name, entry.get("base", "Object"), kind=entry.get("kind", "class"), source=source,
                         plugin=entry.get("plugin"), since=entry.get("since"))
        spec.methods = {m: _extra_method(m, e, source) for m, e in entry.get("methods", {}).items()}
        spec.properties = {p: Prop(t, True) for p, t in entry.get("properties", {}).items()}
        spec.values = list(entry.get("values", []))
        api.classes[name] = spec
    for name, entry in extras.get("functions", {}).items():
        api.functions[name] = _extra_method(name, entry, entry["source"])


@functools.lru_cache(maxsize=1)
def load_api() -> Api:
    """The stub's API plus the extras (parsed once per process, ~2 s)."""
    api = parse_stub(stub_path().read_text(encoding="utf-8-sig"))
    merge_extras(api, json.loads(EXTRAS_PATH.read_text(encoding="utf-8")))
    return api
