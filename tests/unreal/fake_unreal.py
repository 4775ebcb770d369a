"""A strict, recording fake of the ``unreal`` module, generated from the 5.6 API stub.

Every class, function, property and keyword argument is looked up in :mod:`unreal_api` (the stub
plus ``ue_scripts/unreal_api_extras.json``); anything else raises, so a misspelt name or a wrong
keyword fails the test just as it would in the editor. Calls are recorded in ``FakeEditor.calls``.

Behaviour is simulated only where a script consumes a value: the asset registry, imports (which
read the real package files: the glb with pygltflib, PNG sizes with Pillow, the Alembic header),
material graphs, actors, menus, dialogs, Slate ticks, slow tasks and transactions. A method with a
return value and no simulated behaviour raises ``NotImplementedError`` rather than inventing one.
"""
from __future__ import annotations

import copy
import itertools
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from unreal_api import Api, Method, load_api

_SIMPLE_DEFAULTS = {"bool": False, "int": 0, "int32": 0, "int64": 0, "uint8": 0, "int8": 0, "float": 0.0,
                    "double": 0.0, "str": "", "Name": "None", "Text": ""}


class UnrealApiError(AttributeError):
    """A name or argument the 5.6 stub (and the documented extras) does not have."""


@dataclass
class Call:
    owner: str  # class name, or "unreal" for module functions
    name: str
    args: dict[str, Any]
    target: Any = None  # the instance (None for classmethods and functions)


@dataclass
class ImportRecord:
    kind: str  # "task" | "interchange"
    filename: str
    destination: str
    options: Any = None
    pipeline: Any = None


def _base_type(annotation: str) -> str:
    t = annotation.strip()
    for wrapper in ("Optional[", "Union["):
        if t.startswith(wrapper):
            t = t[len(wrapper):-1].split(",")[0].strip()
    return t


class EnumValue:
    """One value of an Unreal enum (stub or Python-defined with ``uenum``)."""

    def __init__(self, enum: str, name: str, value: int = 0):
        self.enum, self.name, self.value = enum, name, value

    def __eq__(self, other):
        return isinstance(other, EnumValue) and (self.enum, self.name) == (other.enum, other.name)

    def __hash__(self):
        return hash((self.enum, self.name))

    def __repr__(self):
        return f"<{self.enum}.{self.name}>"


class FakeMeta(type):
    """Class-level access: enum values and classmethods, checked against the stub."""

    def __getattr__(cls, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        editor: FakeEditor = cls._editor
        spec_name = cls._spec_name
        for spec in editor.api.mro(spec_name):
            if name in spec.values:
                return EnumValue(spec_name, name, spec.values.index(name))
        method = editor.api.method(spec_name, name)
        if method is not None and method.classmethod:
            return editor._bound(cls, None, method, spec_name)
        raise UnrealApiError(f"unreal.{spec_name} has no class attribute or classmethod {name!r} "
                             "in the 5.6 stub or ue_scripts/unreal_api_extras.json")


class FakeObject(metaclass=FakeMeta):
    """Base of every fake Unreal type (objects, structs, glue types)."""
    _spec_name = "_WrapperBase"
    _editor: "FakeEditor" = None  # set on the per-editor subclass
    _uprops: dict[str, Any] = {}

    def __init__(self, *args, **kwargs):
        editor = type(self)._editor
        object.__setattr__(self, "_props", {})
        object.__setattr__(self, "_asset_path", None)
        object.__setattr__(self, "_data", {})  # simulation state tests may read
        init = editor.api.method(self._spec_name, "__init__")
        if init is not None and not getattr(type(self), "_python_class", False):
            bound = editor._bind(init, f"{self._spec_name}.__init__", args, kwargs)
            self._data["init"] = bound
            if editor.api.kind(self._spec_name) == "struct":
                for key, value in bound.items():
                    self._props[key] = value
        for key, (prop_type, default) in self._uprops.items():
            self._props[key] = copy.copy(default)
        editor.calls.append(Call(self._spec_name, "__init__", dict(kwargs), self))

    # attribute access -------------------------------------------------------------------
    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        editor = type(self)._editor
        if name in self._uprops:
            return self._props[name]
        prop = editor.api.prop(self._spec_name, name)
        if prop is not None:
            return self._read(name, prop.type, prop.writable)
        method = editor.api.method(self._spec_name, name)
        if method is not None:
            return editor._bound(type(self), self, method, self._spec_name)
        raise UnrealApiError(f"unreal.{self._spec_name} has no attribute {name!r} in the 5.6 stub "
                             "or ue_scripts/unreal_api_extras.json")

    def __setattr__(self, name: str, value):
        editor = type(self)._editor
        if name in self._uprops:
            self._props[name] = value
            return
        self._write(name, editor.api.prop(self._spec_name, name), value, "property")

    def _write(self, name: str, prop, value, what: str) -> None:
        editor = type(self)._editor
        if prop is None:
            raise UnrealApiError(f"unreal.{self._spec_name} has no {what} {name!r}")
        if not prop.writable:
            raise UnrealApiError(f"unreal.{self._spec_name} {what} {name!r} is read-only")
        editor._check_value(prop.type, value, f"{self._spec_name}.{name}")
        self._props[name] = value
        editor.calls.append(Call(self._spec_name, "set:" + name, {"value": value}, self))

    def _read(self, name: str, type_name: str, writable: bool):
        if name not in self._props:
            self._props[name] = type(self)._editor._default(type_name, writable)
        return self._props[name]

    # the _ObjectBase API, implemented here because it is generic -------------------------
    def get_editor_property(self, name: str):
        editor = type(self)._editor
        if name in self._uprops:
            return self._props[name]
        prop = editor.api.editor_prop(self._spec_name, name)
        if prop is None:
            raise UnrealApiError(f"unreal.{self._spec_name} has no editor property {name!r}")
        return self._read(name, prop.type, prop.writable)

    def set_editor_property(self, name: str, value, notify_mode=None):
        editor = type(self)._editor
        if name in self._uprops:
            self._props[name] = value
            return
        self._write(name, editor.api.editor_prop(self._spec_name, name), value, "editor property")

    def set_editor_properties(self, properties):
        for key, value in dict(properties).items():
            self.set_editor_property(key, value)

    def get_name(self) -> str:
        return (self._asset_path or "").rsplit("/", 1)[-1] or self._data.get("name", self._spec_name)

    def get_path_name(self) -> str:
        if self._asset_path:
            return f"{self._asset_path}.{self._asset_path.rsplit('/', 1)[-1]}"
        return self.get_name()

    def get_class(self):
        return type(self)

    def __enter__(self):
        return type(self)._editor._call_spec(self, "__enter__", (), {})

    def __exit__(self, exc_type, exc, tb):
        return type(self)._editor._call_spec(self, "__exit__", (exc_type, exc, tb), {})

    def __eq__(self, other):
        if type(self)._editor.api.kind(self._spec_name) == "struct" and isinstance(other, FakeObject):
            return self._spec_name == other._spec_name and self._props == other._props
        return self is other

    def __hash__(self):
        return id(self)

    def __repr__(self):
        where = self._asset_path or ",".join(f"{k}={v!r}" for k, v in list(self._props.items())[:4])
        return f"<fake unreal.{self._spec_name} {where}>"


class PropertyDef:
    def __init__(self, type_, meta=None, getter=None, setter=None):
        self.type, self.meta, self.getter, self.setter = type_, dict(meta or {}), getter, setter


class ValueDef:
    def __init__(self, value, meta=None):
        self.value, self.meta = value, dict(meta or {})


@dataclass
class Dialog:
    title: str
    message: str
    type: Any


@dataclass
class SlowTask:
    work: float
    description: str
    frames: list[tuple[float, str]] = field(default_factory=list)
    dialog: bool = False
    can_cancel: bool = False
    open: bool = False


class FakeEditor:
    """One simulated editor session; ``module`` is what scripts see as ``unreal``."""

    def __init__(self, tmp_dir: Path, *, engine_version: str = "5.6.1-44394996+++UE5+Release-5.6",
                 plugins: set[str] | None = None, api: Api | None = None):
        self.api = api or load_api()
        self.project_dir = Path(tmp_dir) / "Project"
        (self.project_dir / "Saved").mkdir(parents=True, exist_ok=True)
        self.engine_version = engine_version
        self.plugins = set(plugins if plugins is not None else {
            "PythonScriptPlugin", "EditorScriptingUtilities", "HairStrands", "AlembicHairImporter",
            "Interchange", "RigLogic", "MachCreator"})
        self.calls: list[Call] = []
        self.assets: dict[str, FakeObject] = {}
        self.saved: set[str] = set()
        self.directories: set[str] = set()
        self.actors: list[FakeObject] = []
        self.selected: list[FakeObject] = []
        self.menus: dict[str, FakeObject] = {}
        self.menu_entries: dict[str, list[FakeObject]] = {}
        self.tick_callbacks: dict[int, Callable[[float], None]] = {}
        self.dialogs: list[Dialog] = []
        self.details_views: list[tuple[str, Any]] = []
        self.on_details_view: Callable[[Any], bool] = lambda obj: True
        self.message_reply: Callable[[Dialog], Any] | None = None
        self.slow_tasks: list[SlowTask] = []
        self.cancel_slow_tasks = False
        self.transactions: list[dict] = []
        self.open_transaction: dict | None = None
        self.imports: list[ImportRecord] = []
        self.logs: list[tuple[str, str]] = []
        self.handlers: dict[tuple[str, str], Callable] = {}
        self._handles = itertools.count(1)
        self._types: dict[str, type] = {}
        self._subsystems: dict[str, FakeObject] = {}
        self.module = self._make_module()
        from fake_editor_behaviour import install  # the simulated editor behaviour
        install(self)

    # the module ------------------------------------------------------------------------
    def _make_module(self) -> types.ModuleType:
        module = types.ModuleType("unreal")
        module.__doc__ = "fake unreal module (tests/unreal/fake_unreal.py)"
        editor = self

        def module_getattr(name: str):
            if name in editor.api.classes:
                if editor.api.classes[name].source != "stub":
                    plugin = editor.extras_plugin(name)
                    if plugin and plugin not in editor.plugins:
                        raise AttributeError(f"module 'unreal' has no attribute {name!r} "
                                             f"(plugin {plugin} is not enabled)")
                    if not editor.has_version(editor.api.classes[name].since):
                        raise AttributeError(f"module 'unreal' has no attribute {name!r} "
                                             f"(new in {editor.api.classes[name].since}; this is {editor.engine_version})")
                return editor.type(name)
            if name in editor.api.functions:
                return editor._bound(None, None, editor.api.functions[name], "unreal")
            raise UnrealApiError(f"module 'unreal' has no attribute {name!r} in the 5.6 stub "
                                 "or ue_scripts/unreal_api_extras.json")

        module.__getattr__ = module_getattr
        module.PropertyDef, module.ValueDef = PropertyDef, ValueDef
        return module

    def extras_plugin(self, class_name: str) -> str | None:
        """The plugin an extras class belongs to (recorded as 'plugin' in the extras file)."""
        return self.api.classes[class_name].plugin

    def has_version(self, since: str | None) -> bool:
        """Whether this editor's engine version has a name that appeared in ``since``."""
        if not since:
            return True
        want = tuple(int(x) for x in since.split("."))
        have = tuple(int(x) for x in self.engine_version.split("-")[0].split("."))
        return have[:len(want)] >= want

    def type(self, name: str) -> type:
        """The fake Python type for an Unreal class name (created once per editor)."""
        if name not in self._types:
            spec = self.api.classes[name]
            parent = self.type(spec.base) if spec.base in self.api.classes else FakeObject
            self._types[name] = FakeMeta(name, (parent,), {"_spec_name": name, "_editor": self,
                                                           "_uprops": {}})
        return self._types[name]

    def subsystem(self, name: str) -> FakeObject:
        if name not in self._subsystems:
            self._subsystems[name] = self.type(name)()
        return self._subsystems[name]

    def new(self, class_name: str, path: str | None = None, **props) -> FakeObject:
        """Create an object as the engine would (not recorded as a script call)."""
        obj = self.type(class_name).__new__(self.type(class_name))
        object.__setattr__(obj, "_props", dict(props))
        object.__setattr__(obj, "_asset_path", path)
        object.__setattr__(obj, "_data", {})
        if path:
            self.assets[path] = obj
        return obj

    # calls ----------------------------------------------------------------------------
    def _bind(self, method: Method, where: str, args: tuple, kwargs: dict) -> dict[str, Any]:
        names = [p for p in method.params if p.kind == "normal"]
        has_varargs = any(p.kind == "varargs" for p in method.params)
        has_varkw = any(p.kind == "varkw" for p in method.params)
        bound: dict[str, Any] = {}
        if len(args) > len(names) and not has_varargs:
            raise TypeError(f"{where}() takes {len(names)} positional arguments but {len(args)} were given")
        for p, value in zip(names, args):
            bound[p.name] = value
        for key, value in kwargs.items():
            if key in bound:
                raise TypeError(f"{where}() got multiple values for argument {key!r}")
            if not any(p.name == key for p in names) and not has_varkw:
                raise TypeError(f"{where}() got an unexpected keyword argument {key!r} "
                                "(not in the 5.6 stub or the extras)")
            bound[key] = value
        missing = [p.name for p in names if not p.has_default and p.name not in bound]
        if missing:
            raise TypeError(f"{where}() missing required arguments: {', '.join(missing)}")
        return bound

    def _bound(self, cls: type | None, target, method: Method, owner: str) -> Callable:
        if not self.has_version(method.since):
            raise UnrealApiError(f"unreal.{owner}.{method.name} is new in {method.since}; this is {self.engine_version}")

        def call(*args, **kwargs):
            bound = self._bind(method, f"{owner}.{method.name}", args, kwargs)
            self.calls.append(Call(owner, method.name, bound, target))
            handler = self._handler(owner, method.name)
            if handler is not None:
                return handler(target if target is not None else cls, **bound)
            if method.returns is None:
                return None
            raise NotImplementedError(f"the fake editor has no behaviour for {owner}.{method.name} "
                                      f"(returns {method.returns}); add one in fake_editor_behaviour.py")
        call.__name__ = method.name
        return call

    def _handler(self, owner: str, name: str):
        if owner == "unreal":
            return self.handlers.get(("unreal", name))
        for spec in self.api.mro(owner):
            if (spec.name, name) in self.handlers:
                return self.handlers[(spec.name, name)]
        return None

    def _call_spec(self, target, name: str, args, kwargs):
        method = self.api.method(target._spec_name, name)
        if method is None:
            raise TypeError(f"unreal.{target._spec_name} does not support {name}")
        return self._bound(type(target), target, method, target._spec_name)(*args, **kwargs)

    def handle(self, owner: str, name: str):
        """Decorator registering simulated behaviour for ``owner.name``."""
        def register(fn):
            if owner != "unreal" and self.api.method(owner, name) is None:
                raise UnrealApiError(f"behaviour for {owner}.{name}, which the API does not have")
            self.handlers[(owner, name)] = fn
            return fn
        return register

    # values -----------------------------------------------------------------------------
    def _default(self, type_name: str, writable: bool):
        t = _base_type(type_name)
        if t in _SIMPLE_DEFAULTS:
            return _SIMPLE_DEFAULTS[t]
        if t.startswith(("Array[", "Set[")):
            return []
        if t.startswith("Map["):
            return {}
        if t in self.api.classes:
            kind = self.api.kind(t)
            if kind == "enum":
                values = [v for s in self.api.mro(t) for v in s.values]
                return EnumValue(t, values[0], 0) if values else None
            if kind == "struct":
                return self.new(t)
            # a read-only object property is an owned sub-object (a component, a sub-pipeline)
            return None if writable else self.new(t)
        return None

    def _check_value(self, type_name: str, value, where: str) -> None:
        t = _base_type(type_name)
        ok = True
        if value is None:
            ok = t in self.api.classes and self.api.kind(t) == "class"
        elif t == "bool":
            ok = isinstance(value, bool)
        elif t in ("int", "int32", "int64", "uint8", "int8"):
            ok = isinstance(value, int) and not isinstance(value, bool) or isinstance(value, EnumValue)
        elif t in ("float", "double"):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif t in ("str", "Name", "Text"):
            ok = isinstance(value, str)
        elif t.startswith(("Array[", "Set[")):
            ok = isinstance(value, (list, tuple, set))
        elif t in self.api.classes:
            kind = self.api.kind(t)
            if kind == "enum":
                ok = isinstance(value, EnumValue) and value.enum == t
            else:
                ok = isinstance(value, FakeObject) and any(
                    s.name == t for s in self.api.mro(value._spec_name))
        if not ok:
            raise TypeError(f"{where} expects {type_name}, got {value!r}")

    # test helpers -----------------------------------------------------------------------
    def calls_to(self, owner: str, name: str) -> list[Call]:
        return [c for c in self.calls if c.owner == owner and c.name == name]

    def tick(self, seconds: float = 0.05, times: int = 1) -> None:
        """Run the registered Slate post-tick callbacks, as the editor does every frame."""
        for _ in range(times):
            for fn in list(self.tick_callbacks.values()):
                fn(seconds)

    def assets_under(self, folder: str) -> dict[str, FakeObject]:
        folder = folder.rstrip("/") + "/"
        return {p: a for p, a in self.assets.items() if p.startswith(folder)}

    def spawn(self, class_name: str, location=(0.0, 0.0, 0.0), **data) -> FakeObject:
        """Place an actor as a level designer would (not a script call)."""
        actor = self.new(class_name)
        actor._data.update(location=tuple(location), rotation=(0.0, 0.0, 0.0), **data)
        self.actors.append(actor)
        return actor
