"""Which engine and plugins the editor has, and exactly what a feature is missing."""
from __future__ import annotations

import re
from dataclasses import dataclass

import unreal

SUPPORTED_VERSIONS = ((5, 4), (5, 5), (5, 6), (5, 7))

#: feature -> (plugins it needs, the first engine version that has it)
FEATURES: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "import": (("Interchange", "EditorScriptingUtilities", "PythonScriptPlugin"), (5, 4)),
    "grooms": (("HairStrands", "AlembicHairImporter"), (5, 4)),
    "metahuman": (("MetaHumanCharacter",), (5, 6)),
    "rig_logic": (("RigLogic",), (5, 4)),
}


class MissingFeature(RuntimeError):
    """A feature the editor cannot run; the message lists what to enable or install."""


@dataclass(frozen=True)
class EngineInfo:
    version: tuple[int, int, int]
    version_string: str
    plugins: frozenset[str]

    @property
    def major_minor(self) -> tuple[int, int]:
        return self.version[:2]

    def missing(self, feature: str) -> list[str]:
        """What stops ``feature`` here, one readable line each (empty: it can run)."""
        plugins, since = FEATURES[feature]
        out = []
        if self.major_minor < since:
            out.append(f"Unreal Engine {since[0]}.{since[1]} or later (this editor is "
                       f"{self.version[0]}.{self.version[1]}.{self.version[2]})")
        out += [f"the {p} plugin (Edit > Plugins, enable {p}, restart the editor)"
                for p in plugins if p not in self.plugins]
        return out

    def require(self, feature: str) -> None:
        lines = self.missing(feature)
        if lines:
            raise MissingFeature(f"MachCreator's {feature.replace('_', ' ')} step needs: " + "; ".join(lines))


def parse_version(text: str) -> tuple[int, int, int]:
    """``"5.6.1-44394996+++UE5+Release-5.6"`` -> ``(5, 6, 1)``."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if m is None:
        raise ValueError(f"cannot read an engine version from {text!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def engine_info() -> EngineInfo:
    text = unreal.SystemLibrary.get_engine_version()
    return EngineInfo(parse_version(text), text, frozenset(unreal.PluginBlueprintLibrary.get_enabled_plugin_names()))
