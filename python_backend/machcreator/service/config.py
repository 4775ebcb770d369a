"""How ``mach serve`` runs: the server's settings, read by the server and its request handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machcreator.service import protocol as P


@dataclass
class ServerConfig:
    """How ``mach serve`` runs. ``parsers`` maps a parser name to its options (local paths)."""

    data_dir: Path
    bind: str = "tcp://127.0.0.1:5555"
    workers: int = 1
    keys_dir: Path | None = None
    retention_hours: float = 24.0
    max_jobs_per_client: int = P.DEFAULT_MAX_JOBS_PER_CLIENT
    max_queued_jobs: int = P.DEFAULT_MAX_QUEUED_JOBS
    #: a job whose worker or server died (or was killed for a time limit) mid-run is tried at most this often
    max_attempts: int = 2
    job_timeout_s: float = P.DEFAULT_JOB_TIMEOUT_S
    stage_timeout_s: float = P.DEFAULT_STAGE_TIMEOUT_S
    heartbeat_timeout_s: float = P.DEFAULT_HEARTBEAT_TIMEOUT_S
    cancel_grace_s: float = P.DEFAULT_CANCEL_GRACE_S
    parsers: dict[str, dict[str, Any]] = field(default_factory=lambda: {"embedded": {}})
    anny_cache: str | None = None
    #: the models config file the workers read (``mach models check`` shows what it names); None:
    #: the default file or the environment's, as the CLI finds them
    models_path: Path | None = None
