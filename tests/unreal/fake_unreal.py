"""A strict, recording fake of the ``unreal`` module, generated from one engine version's API stub.

``FakeEditor(tmp, "5.4")`` simulates UE 5.4 (stub 0.1), "5.5" (0.2.1), "5.6" (0.3) or "5.7" (the
0.3 stub plus the extras new in 5.7; see :mod:`unreal_api`). Every class, function, property and
keyword argument is looked up in that version's API (the stub plus
``ue_scripts/unreal_api_extras.json``); anything else raises, so a misspelt name, a wrong keyword
or a name that version lacks fails the test just as it would in that editor. A value a behaviour
returns is converted to what that version's stub declares (``InterchangeManager.import_asset``
returns the imported objects from 5.5 on, a bool in 5.4). Calls are recorded in
``FakeEditor.calls``.

Behaviour is simulated only where a script consumes a value: the asset registry, imports (which
read the real package files: the glb with pygltflib, PNG sizes with Pillow, the Alembic header),
material graphs and their compilation, actors, menus, dialogs, slow tasks and transactions, and
Slate as the editor ticks it (see "Slate" below). A method with a return value and no simulated
behaviour raises ``NotImplementedError`` rather than inventing one.

Slate (engine source: ``FSlowTask`` in Runtime/Core/Private/Misc/SlowTask.cpp,
``FFeedbackContext::RequestUpdateUI`` in FeedbackContext.cpp, ``FFeedbackContextEditor`` in
Editor/UnrealEd/Private/FeedbackContextEditor.cpp and ``FSlateApplication::AddModalWindow`` /
``TickAndDrawWidgets`` in Slate/Private/Framework/Application/SlateApplication.cpp, e.g.
https://github.com/unicorn2022/UE5.8.0/blob/5d9a05c15b1f8c6d7b3354b360677ce30d688149/Engine/Source/Editor/UnrealEd/Private/FeedbackContextEditor.cpp):

* the post-tick callbacks (``register_slate_post_tick_callback``) run at the end of every Slate
  tick: each editor frame (:meth:`FakeEditor.tick`), each frame of a modal dialog's loop, and
  each time a slow task's progress is shown;
* a slow task's ``make_dialog`` opens the progress window, a *modal* window (nothing else in the
  editor takes input), unless one is already open, and ticks Slate three times (the window is
  shown, then ``ForceRefresh``); ``enter_progress_frame`` asks for a UI update, which at most five
  times a second (``MinUpdateTimeS = 0.2`` of the fake's clock) ticks Slate while the progress
  window is the active modal window; leaving the task that opened the window ticks twice more and
  closes it. So a post-tick callback that reports progress is re-entered from inside itself,
  exactly as in the editor; the fake lets that happen up to ``max_reentry`` levels deep and then
  stops the run with :class:`EditorCrash` (the editor recurses until the stack overflows);
* slow tasks must be left in the reverse order they were entered (the engine's
  ``ensureMsgf(Task == this, "Out-of-order slow task construction/destruction")``): the fake raises;
* ``EditorDialog.show_message`` and ``show_object_details_view`` open a modal window and run
  Slate's modal loop (``dialog_ticks`` ticks) until the user answers;
* the engine's own imports (``AssetTools.import_asset_tasks``, ``InterchangeManager.import_asset``)
  open slow tasks of their own and take time on the fake's clock (``ENGINE_SECONDS``), so their
  progress ticks Slate too.

``editor.modal_depth`` is the number of modal windows open; ``editor.slate_ticks`` records every
tick (where it came from, the modal depth); :meth:`FakeEditor.modal_ticks` and
:meth:`FakeEditor.assert_modal_for` tell for how many ticks the editor was modal.
"""
from __future__ import annotations

import contextlib
import copy
import itertools
import math
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from unreal_api import DEFAULT_VERSION, VERSIONS, Api, Method, load_api

_SIMPLE_DEFAULTS = {"bool": False, "int": 0, "int32": 0, "int64": 0, "uint8": 0, "int8": 0, "float": 0.0,
                    "double": 0.0, "str": "", "Name": "None", "Text": ""}


class UnrealApiError(AttributeError):
    """A name or argument the simulated version's stub (and the documented extras) does not have."""


class EditorCrash(BaseException):
    """What would take the editor down (a post-tick callback recursing into itself until the stack
    overflows). A BaseException, so a script's ``except Exception`` cannot swallow it."""


class SlowTaskOrderError(RuntimeError):
    """Slow tasks left in another order than the reverse of the one they were entered in."""


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
                             f"in {editor.api.label} or ue_scripts/unreal_api_extras.json")


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
        raise UnrealApiError(f"unreal.{self._spec_name} has no attribute {name!r} in {editor.api.label} "
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
    dialog: bool = False  # make_dialog was called
    can_cancel: bool = False
    open: bool = False
    created_dialog: bool = False  # this task opened the progress window (no other one was open)
    owner: str = "script"  # "script", or the engine function that opened it
    completed: float = 0.0  # work done before the current frame (FSlowTask::CompletedWork)
    frame_scope: float = 0.0  # the current frame's work (FSlowTask::CurrentFrameScope)


@dataclass
class ModalWindow:
    kind: str  # "slow_task" | "message" | "details"
    title: str
    task: SlowTask | None = None


@dataclass
class SlateTick:
    index: int
    source: str  # "frame" (the editor's loop), "progress" (a slow task's UI update), "dialog" (a modal loop)
    modal_depth: int  # modal windows open while it ran
    clock: float
    reentry: int  # how many post-tick callbacks were already running (0: not re-entered)


#: plugins a stock editor has enabled for our scripts (MetaHumanCharacter is off by default)
DEFAULT_PLUGINS = frozenset({"PythonScriptPlugin", "EditorScriptingUtilities", "HairStrands", "AlembicHairImporter",
                             "Interchange", "RigLogic", "MachCreator"})

DEFAULT_CONSOLE_VARIABLES = {"r.SkinCache.CompileShaders": 1, "r.SkinCache.Mode": 1, "r.SkinCache.Allow": 1,
                             "r.SkinCache.DefaultBehavior": 1}

#: rough seconds the editor spends in the engine's slow operations (orders of magnitude, not
#: measurements): they move the fake's clock, so a slow task's progress is shown (and Slate ticked)
#: after them as the 0.2 s throttle allows in the editor
ENGINE_SECONDS = {"import_file": 0.5, "interchange_import": 2.0, "recompile_material": 1.0, "build_meta_human": 5.0}


class FakeEditor:
    """One simulated editor session; ``module`` is what scripts see as ``unreal``.

    ``version`` is the engine version simulated ("5.4", "5.5", "5.6", "5.7"; default 5.6). An
    ``engine_version`` string alone picks the version it names (``"5.7.1-0+++UE5+Release-5.7"``).
    """

    #: a post-tick callback re-entered this many levels deep stops the run (EditorCrash)
    max_reentry = 8
    #: Slate ticks a modal dialog's loop runs before the (simulated) user answers
    dialog_ticks = 2
    #: FFeedbackContext::RequestUpdateUI: "Only update a maximum of 5 times a second"
    ui_update_interval = 0.2

    def __init__(self, tmp_dir: Path, version: str | None = None, *, engine_version: str | None = None,
                 plugins: set[str] | None = None, api: Api | None = None):
        if version is None:
            version = ".".join(engine_version.split("-")[0].split(".")[:2]) if engine_version else DEFAULT_VERSION
        if version not in VERSIONS:
            raise ValueError(f"no fake editor for UE {version}: the supported versions are {', '.join(VERSIONS)}")
        self.version = version
        self.api = api or load_api(version)
        self.project_dir = Path(tmp_dir) / "Project"
        (self.project_dir / "Saved").mkdir(parents=True, exist_ok=True)
        self.engine_version = engine_version or self.api.engine_version
        self.plugins = set(plugins if plugins is not None else DEFAULT_PLUGINS)
        #: console variables a script may read: the engine's defaults (r.SkinCache.Mode, .Allow,
        #: .DefaultBehavior: GPUSkinCache.cpp), r.SkinCache.CompileShaders as UE 5 project templates
        #: set it in DefaultEngine.ini (the engine's own default is 0)
        self.console_variables: dict[str, Any] = dict(DEFAULT_CONSOLE_VARIABLES)
        self.calls: list[Call] = []
        self.assets: dict[str, FakeObject] = {}
        self.saved: set[str] = set()
        self.dirty: set[str] = set()  # packages changed since they were last saved
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
        self.slow_tasks: list[SlowTask] = []  # every slow task a script entered, in order
        self.engine_slow_tasks: list[SlowTask] = []  # those the engine's own functions opened
        self.slow_task_stack: list[SlowTask] = []  # the open ones (FFeedbackContext::ScopeStack)
        self.cancel_slow_tasks = False
        self.modal_windows: list[ModalWindow] = []
        self.slate_ticks: list[SlateTick] = []
        self.clock = 0.0
        self._last_ui_update = -math.inf
        self._running: dict[int, int] = {}  # callback handle -> how many calls of it are running
        self.transactions: list[dict] = []
        self.open_transaction: dict | None = None
        self.imports: list[ImportRecord] = []
        self.logs: list[tuple[str, str]] = []
        self.screen_messages: dict[str, str] = {}  # the viewport's debug lines (print_string), by key
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
            raise UnrealApiError(f"module 'unreal' has no attribute {name!r} in {editor.api.label} "
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
                                f"(not in {self.api.label} or the extras)")
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
                return self._as_declared(method, owner, handler(target if target is not None else cls, **bound))
            if method.returns is None:
                return None
            raise NotImplementedError(f"the fake editor has no behaviour for {owner}.{method.name} "
                                      f"(returns {method.returns}); add one in fake_editor_behaviour.py")
        call.__name__ = method.name
        return call

    def _as_declared(self, method: Method, owner: str, value):
        """A behaviour's result as this version's stub declares the function's return: nothing for
        ``-> None``, success for ``-> bool`` (a behaviour that made objects succeeded; None is a
        failure), else the value itself (checked against the declared type)."""
        declared = method.returns
        if declared is None:
            return None
        if declared in ("Any", "object"):
            return value
        if declared == "bool" and not isinstance(value, bool):
            return value is not None
        base = _base_type(declared)
        if value is not None and base.startswith("Array[") and not isinstance(value, (list, tuple)):
            raise TypeError(f"the fake's behaviour for {owner}.{method.name} returned {value!r}; "
                            f"{self.api.label} declares {declared}")
        if value is None and not declared.startswith("Optional[") and base in ("bool", "int", "float", "str"):
            raise TypeError(f"the fake's behaviour for {owner}.{method.name} returned None; "
                            f"{self.api.label} declares {declared}")
        return value

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

    # Slate -----------------------------------------------------------------------------
    @property
    def modal_depth(self) -> int:
        """Modal windows open now (a slow task's progress window, a message, a details view)."""
        return len(self.modal_windows)

    def tick(self, seconds: float = 0.05, times: int = 1) -> None:
        """Editor frames: each advances the clock and ticks Slate (the post-tick callbacks run)."""
        for _ in range(times):
            self.clock += seconds
            self.slate_tick("frame", seconds)

    def advance(self, seconds: float) -> None:
        """Time the engine spends working (no frame: Slate is not ticked)."""
        self.clock += seconds

    def slate_tick(self, source: str, seconds: float = 1.0 / 60.0) -> None:
        """One FSlateApplication tick: the post-tick callbacks run, each registered one once.

        Re-entrant safe: a callback unregistered while the tick runs (by itself or another) is not
        called; one registered during the tick runs from the next tick on.
        """
        reentry = sum(self._running.values())
        self.slate_ticks.append(SlateTick(len(self.slate_ticks), source, self.modal_depth, self.clock, reentry))
        for handle in list(self.tick_callbacks):
            fn = self.tick_callbacks.get(handle)
            if fn is None:
                continue
            depth = self._running.get(handle, 0)
            if depth >= self.max_reentry:
                raise EditorCrash(f"the Slate post-tick callback {getattr(fn, '__qualname__', fn)!r} re-entered itself "
                                  f"{depth} levels deep (each slow-task progress update inside it ticks Slate, which "
                                  "calls it again): in the editor this recursion goes on until the stack overflows")
            self._running[handle] = depth + 1
            try:
                fn(seconds)
            finally:
                self._running[handle] -= 1
                if not self._running[handle]:
                    del self._running[handle]

    def request_ui_update(self, force: bool = False) -> None:
        """FFeedbackContext::RequestUpdateUI: at most every ``ui_update_interval`` s of the clock (or
        when forced) the progress is shown, which ticks Slate while the progress window is the
        active modal window (FFeedbackContextEditor::ProgressReported -> TickSlate)."""
        if not force and self.clock - self._last_ui_update <= self.ui_update_interval:
            return
        self._last_ui_update = self.clock
        if self.modal_windows and self.modal_windows[-1].kind == "slow_task":
            self.slate_tick("progress")

    def run_modal(self, kind: str, title: str) -> None:
        """A modal dialog: its window opens and Slate's modal loop ticks until the user answers."""
        self.modal_windows.append(ModalWindow(kind, title))
        try:
            for _ in range(self.dialog_ticks):
                self.slate_tick("dialog")
        finally:
            self.modal_windows.pop()

    # slow tasks (FSlowTask) ----------------------------------------------------------------
    def begin_slow_task(self, task: SlowTask) -> SlowTask:
        """FSlowTask::Initialize: the task joins the scope stack."""
        task.open = True
        (self.slow_tasks if task.owner == "script" else self.engine_slow_tasks).append(task)
        self.slow_task_stack.append(task)
        return task

    def slow_task_dialog(self, task: SlowTask, can_cancel: bool = False) -> None:
        """FSlowTask::MakeDialog: opens the modal progress window unless one is open already
        (``GIsSlowTask``), ticking Slate as StartSlowTask and ForceRefresh do."""
        if not task.open:
            raise RuntimeError("make_dialog on a slow task that is not entered")
        task.dialog, task.can_cancel = True, can_cancel
        if any(w.kind == "slow_task" for w in self.modal_windows):
            return
        task.created_dialog = True
        self.modal_windows.append(ModalWindow("slow_task", task.description, task))
        self.slate_tick("progress")  # StartSlowTask -> TickSlate
        self.request_ui_update(force=True)  # ForceRefresh, twice
        self.request_ui_update(force=True)

    def slow_task_frame(self, task: SlowTask, work: float, desc: str) -> None:
        """FSlowTask::EnterProgressFrame: completes the previous frame, asks for a UI update."""
        if not task.open:
            raise RuntimeError("enter_progress_frame on a slow task that is not entered")
        task.completed += task.frame_scope
        if work > 1.01 * task.work - task.completed:
            self.logs.append(("log_error", f"Ensure condition failed: Work overflow in slow task "
                                           f"'{task.description}' ({work:g} more after {task.completed:g} of {task.work:g})"))
        task.frame_scope = min(task.work - task.completed, work)
        task.frames.append((float(work), str(desc)))
        self.request_ui_update()

    def end_slow_task(self, task: SlowTask) -> None:
        """FSlowTask::Destroy: the window it opened gets two forced updates and closes; slow tasks
        end in reverse order (the engine ensures it; the fake raises)."""
        if not task.open:
            raise RuntimeError(f"slow task '{task.description}' left twice")
        if self.slow_task_stack[-1] is not task:
            raise SlowTaskOrderError(
                f"Out-of-order slow task construction/destruction: destroying '{task.description}' but "
                f"'{self.slow_task_stack[-1].description}' is at the top of the stack (slow tasks must end "
                "in the reverse order they began)")
        if task.created_dialog:
            self.request_ui_update(force=True)
            self.request_ui_update(force=True)
            self.modal_windows = [w for w in self.modal_windows if w.task is not task]
        self.slow_task_stack.pop()
        task.open = False
        if self.slow_task_stack:
            parent = self.slow_task_stack[-1]
            parent.completed += parent.frame_scope
            parent.frame_scope = 0.0
            self.request_ui_update()

    @contextlib.contextmanager
    def engine_slow_task(self, work: float, description: str, owner: str, *, dialog: bool):
        """A slow task the engine itself opens (an import), with its own progress frames."""
        task = self.begin_slow_task(SlowTask(float(work), description, owner=owner))
        if dialog:
            self.slow_task_dialog(task)
        try:
            yield task
        finally:
            self.end_slow_task(task)

    def modal_ticks(self, source: str | None = None) -> int:
        """Slate ticks (of ``source``: "frame", "progress", "dialog"; default all) that ran while a
        modal window was open. Editor frames counted here are frames the user could not use the
        editor."""
        return sum(1 for t in self.slate_ticks if t.modal_depth and (source is None or t.source == source))

    def assert_modal_for(self, ticks: int, source: str | None = "frame", *, at_most: bool = False) -> None:
        """Assert the editor was modal for exactly (or ``at_most``) ``ticks`` Slate ticks of ``source``."""
        seen = self.modal_ticks(source)
        ok = seen <= ticks if at_most else seen == ticks
        what = f"{source} ticks" if source else "Slate ticks"
        assert ok, (f"the editor was modal for {seen} {what}, expected {'at most ' if at_most else ''}{ticks} "
                    f"(modal windows now: {[w.title for w in self.modal_windows]})")

    def reentered_ticks(self) -> int:
        """Slate ticks that ran while a post-tick callback was still running (re-entered)."""
        return sum(1 for t in self.slate_ticks if t.reentry)

    def assets_under(self, folder: str) -> dict[str, FakeObject]:
        folder = folder.rstrip("/") + "/"
        return {p: a for p, a in self.assets.items() if p.startswith(folder)}

    def spawn(self, class_name: str, location=(0.0, 0.0, 0.0), **data) -> FakeObject:
        """Place an actor as a level designer would (not a script call)."""
        actor = self.new(class_name)
        actor._data.update(location=tuple(location), rotation=(0.0, 0.0, 0.0), **data)
        self.actors.append(actor)
        return actor
