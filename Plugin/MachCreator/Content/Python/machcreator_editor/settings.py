"""Per-project settings, kept in ``Saved/MachCreator/settings.json``."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import unreal

from machcreator_editor import request_model


@dataclass
class Settings:
    endpoint: str = "tcp://127.0.0.1:5555"
    server_key: str = ""  # the server's public key file (server.key): needed for a remote backend
    client_key: str = ""  # this editor's secret key file (NAME.key_secret)
    start_local_backend: bool = True  # start `mach serve` on this machine when it is not running
    backend_python: str = "python"  # the Python that has machcreator installed (its venv's python)
    backend_workers: int = 1
    content_root: str = "/Game/MachCreator"
    rig: str = "auto"  # auto | metahuman | arkit
    texture_size: int = request_model.default("texture_size")
    hair_detail: float = request_model.default("hair_detail")
    preview_size: int = request_model.default("preview_size")  # the package's preview.png, pixels


def saved_dir() -> Path:
    return Path(unreal.Paths.project_saved_dir()) / "MachCreator"


def settings_path() -> Path:
    return saved_dir() / "settings.json"


def load() -> Settings:
    path = settings_path()
    if not path.is_file():
        return Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        unreal.log_warning(f"MachCreator: {path} is not valid JSON; using the defaults")
        return Settings()
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in data.items() if k in known})


def save(settings: Settings) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=1), encoding="utf-8")
    tmp.replace(path)
