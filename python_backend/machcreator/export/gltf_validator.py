"""Run the Khronos glTF validator (npm ``gltf-validator``) on a .glb/.gltf and parse its report.

The validator is a JavaScript library; ``js/validate_gltf.mjs`` calls its ``validateBytes`` and
prints the report as JSON. It is installed by ``npm ci`` in the repository root, whose
``node_modules`` is found by walking up from this package (or named by ``MACH_NODE_MODULES``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from machcreator.core.errors import MachError

SCRIPT = Path(__file__).with_name("js") / "validate_gltf.mjs"
PACKAGE = "gltf-validator"
INSTALL_HINT = "install Node.js (>= 18) and run `npm ci` in the MachCreator repository root"
TIMEOUT_S = 300.0


@dataclass
class ValidationReport:
    """The validator's verdict on one file.

    messages: the validator's issues, each a dict with ``code``, ``message``, ``severity``
        (0 error, 1 warning, 2 info, 3 hint) and usually ``pointer``.
    raw: the whole report (asset info, counts, resources) as the validator printed it.
    """

    num_errors: int
    num_warnings: int
    num_infos: int
    messages: list[dict]
    raw: dict

    @property
    def errors(self) -> list[dict]:
        return [m for m in self.messages if m.get("severity") == 0]

    @property
    def warnings(self) -> list[dict]:
        return [m for m in self.messages if m.get("severity") == 1]


def find_node_modules(start: Path | None = None) -> Path:
    """The ``node_modules`` folder holding ``gltf-validator``: ``$MACH_NODE_MODULES`` or the
    nearest one found walking up from ``start`` (default: this package)."""
    env = os.environ.get("MACH_NODE_MODULES")
    if env:
        folder = Path(env).expanduser()
        if not (folder / PACKAGE / "package.json").is_file():
            raise MachError(f"MACH_NODE_MODULES={env} holds no {PACKAGE}: {INSTALL_HINT}")
        return folder
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        if (folder / "node_modules" / PACKAGE / "package.json").is_file():
            return folder / "node_modules"
    raise MachError(f"the Khronos glTF validator ({PACKAGE}) is not installed: {INSTALL_HINT}")


def validate_gltf(path: Path) -> ValidationReport:
    """Validate ``path`` (a .glb or .gltf); external files are read relative to it.

    Raises MachError when Node.js or the validator is missing, or the validator cannot run.
    """
    path = Path(path)
    if not path.is_file():
        raise MachError(f"no glTF file at {path}")
    node = shutil.which("node")
    if node is None:
        raise MachError(f"Node.js (`node`) is not on PATH, needed by the glTF validator: {INSTALL_HINT}")
    modules = find_node_modules()
    proc = subprocess.run(
        [node, str(SCRIPT), str(path.resolve()), str(modules)],
        cwd=modules.parent, capture_output=True, timeout=TIMEOUT_S, check=False,
        env=dict(os.environ, NODE_PATH=str(modules)),
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise MachError(f"the glTF validator failed on {path}: {detail[-1] if detail else proc.returncode}")
    raw = json.loads(proc.stdout)
    issues = raw.get("issues", {})
    return ValidationReport(
        num_errors=int(issues.get("numErrors", 0)),
        num_warnings=int(issues.get("numWarnings", 0)),
        num_infos=int(issues.get("numInfos", 0)),
        messages=list(issues.get("messages", [])),
        raw=raw,
    )
