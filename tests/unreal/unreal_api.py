"""The Unreal Python API our editor scripts may use, per engine version: that version's stub plus a
documented list of extras.

A stub (PyPI ``unreal-stub``, one 22-26 MB ``unreal/unreal.py``; see :mod:`stubs` for which
release describes which engine) is read as text, never imported: importing it would replace
``sys.stdout``, and some of its default values are not valid Python, so ``ast`` cannot parse it
whole. Each ``class``/``def`` line is read with a bracket-aware splitter.
``ue_scripts/unreal_api_extras.json`` adds the plugin APIs the stubs lack (MetaHuman Character...),
each with the page of Epic's docs or engine source it comes from and the version it appeared in.
An extra whose name a version's stub has is not used for that version: the stub wins.

UE 5.7 has no stub: it is simulated as the 5.6 stub (0.3) plus the extras (those new in 5.7 become
available through their ``since``); anything else 5.7 changed is not modelled.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXTRAS_PATH = REPO / "ue_scripts" / "unreal_api_extras.json"

_CLASS = re.compile(r"^class (\w+)\(([\w.]+)(?:,[^)]*)?\):")
_DEF = re.compile(r"^( {4})?def (\w+)\((.*)\)(?:\s*->\s*(.*?))?:\s*$")
_DECORATOR = re.compile(r"^ {4}@(\w+)(?:\.(setter))?\s*$")
#: enum values: ``NAME: Enum = ... #: 0: doc`` (0.2.1+), ``NAME: Enum #: 0: doc`` or ``NAME: Enum`` (0.1)
_ENUM_VALUE = re.compile(r"^ {4}([A-Z_][A-Z0-9_]*): \w+(?: = \.\.\.)?(?:\s*#:.*)?$")
_PLUGIN = re.compile(r"^ {4}- \*\*Plugin\*\*: (\w+)")
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
    #: the plugin the class comes from (the stub's "C++ Source" note); for extras and backfilled
    #: classes the plugin that must be enabled for the name to exist
    plugin: str | None = None
    since: str | None = None  # extras: the first engine version that has it


@dataclass
class Api:
    classes: dict[str, ClassSpec]
    functions: dict[str, Method]
    version: str = ""  # the engine version simulated ("5.4" ... "5.7")
    stub: str = ""  # the unreal-stub release it comes from
    engine_version: str = ""  # what SystemLibrary.get_engine_version() returns
    #: extras not used because this version's stub has the name (the stub wins)
    shadowed: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How error messages name this API: ``unreal-stub 0.1 (UE 5.4)``."""
        simulated = " + extras, simulated" if self.version == "5.7" else ""
        return f"the UE {self.version} API (unreal-stub {self.stub}{simulated})"

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
    """None for ``-> None``; ``"Any"`` where the stub gives no annotation (``def uclass():``)."""
    if annotation is None or not annotation.strip():
        return "Any"
    if annotation.strip() == "None":
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
        if current.plugin is None:
            m = _PLUGIN.match(line)
            if m:
                current.plugin = m.group(1)
                continue
        m = _EDITOR_PROP.match(line)
        if m:
            current.editor_properties[m.group(1)] = Prop(m.group(2), m.group(3) == "Read-Write")
    return Api(classes, functions)


#: the engine versions the plugin supports, oldest first; 5.7 is simulated from the 5.6 stub
VERSIONS = ("5.4", "5.5", "5.6", "5.7")
#: the version a FakeEditor simulates when none is named
DEFAULT_VERSION = "5.6"
#: what a simulated 5.7 editor reports (no stub states a 5.7 build)
SIMULATED = {"5.7": ("5.6", "5.7.0-0+++UE5+Release-5.7")}


def _extra_method(name: str, entry: dict, source: str, since: str | None) -> Method:
    return Method(name, parse_params(", ".join(entry.get("params", []))),
                  classmethod=bool(entry.get("classmethod")), returns=entry.get("returns"),
                  source=entry.get("source", source), since=entry.get("since", since))


def merge_extras(api: Api, extras: dict) -> None:
    """Add the documented plugin APIs this version's stub lacks. A name the stub has is left to the
    stub (a later engine's stub may hold what an extra describes for earlier ones): it is listed in
    ``api.shadowed`` and the extra is not used for this version."""
    for name, entry in extras.get("classes", {}).items():
        if name in api.classes:
            api.shadowed.append(name)
            continue
        source = entry["source"]
        spec = ClassSpec(name, entry.get("base", "Object"), kind=entry.get("kind", "class"), source=source,
                         plugin=entry.get("plugin"), since=entry.get("since"))
        spec.methods = {m: _extra_method(m, e, source, None) for m, e in entry.get("methods", {}).items()}
        spec.properties = {p: Prop(t, True) for p, t in entry.get("properties", {}).items()}
        spec.values = list(entry.get("values", []))
        api.classes[name] = spec
    for name, entry in extras.get("functions", {}).items():
        if name in api.functions:
            api.shadowed.append(name)
            continue
        api.functions[name] = _extra_method(name, entry, entry["source"], entry.get("since"))


def _parser_id() -> str:
    """Changes whenever this parser does: part of the parsed-API cache's name."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


@functools.lru_cache(maxsize=None)
def _stub_api(stub_version: str) -> Api:
    import stubs
    release = next(r for r in stubs.RELEASES.values() if r.version == stub_version)
    return stubs.cached_parse(release, parse_stub, _parser_id())


@functools.lru_cache(maxsize=None)
def load_api(version: str = DEFAULT_VERSION) -> Api:
    """The API of one engine version ("5.4", "5.5", "5.6" or "5.7"): its stub plus the extras.

    Parsed once per machine (cached beside the downloaded wheel, see :mod:`stubs`) and once per
    process; each version gets its own copy, so the extras merged into one never leak into another.
    """
    import stubs
    if version not in VERSIONS:
        raise ValueError(f"no Unreal API for {version!r}: supported versions are {', '.join(VERSIONS)}")
    base, engine = SIMULATED.get(version, (version, None))
    release = stubs.RELEASES[base]
    parsed = _stub_api(release.version)
    # merge_extras only adds entries: copies of the two tables keep the parsed stub untouched
    api = Api(dict(parsed.classes), dict(parsed.functions), version=version, stub=release.version,
              engine_version=engine or release.engine)
    for plugin, (donor, why) in release.backfill.items():
        for name, spec in _stub_api(donor).classes.items():
            if spec.plugin == plugin and name not in api.classes:
                api.classes[name] = dataclasses.replace(
                    spec, source=f"unreal-stub {donor}, backfilled into {release.version}: {why}")
    merge_extras(api, json.loads(EXTRAS_PATH.read_text(encoding="utf-8")))
    return api
