"""How ``mach serve`` runs: the server's settings, read by the server and its request handlers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machcreator.service import protocol as P

#: the first worker restart's back-off (it doubles with each death of the last minute, up to 30 s)
DEFAULT_RESTART_BACKOFF_S = 0.5
#: how long a graceful stop waits for the workers before killing them
DEFAULT_STOP_WAIT_S = 10.0
#: test-only environment overrides of the two above (the fault tests shorten the waits they sit
#: through); unset, as in production, the defaults hold
RESTART_BACKOFF_ENV = "MACH_SERVE_RESTART_BACKOFF_S"
STOP_WAIT_ENV = "MACH_SERVE_STOP_WAIT_S"


def _env_seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    seconds = float(value)
    if not seconds > 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds


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
    #: the first restart of a dead worker waits this long, doubled per death of the last minute (up
    #: to 30 s). Production: 0.5 s, always; only tests set env MACH_SERVE_RESTART_BACKOFF_S to
    #: shorten it (there is no `mach serve` option for it)
    restart_backoff_s: float = field(default_factory=lambda: _env_seconds(RESTART_BACKOFF_ENV,
                                                                          DEFAULT_RESTART_BACKOFF_S))
    #: a graceful stop waits this long for the workers, then kills them. Production: 10 s, always;
    #: only tests set env MACH_SERVE_STOP_WAIT_S to shorten it (no `mach serve` option either)
    stop_wait_s: float = field(default_factory=lambda: _env_seconds(STOP_WAIT_ENV, DEFAULT_STOP_WAIT_S))
    parsers: dict[str, dict[str, Any]] = field(default_factory=lambda: {"embedded": {}})
    anny_cache: str | None = None
    #: the models config file the workers read (``mach models check`` shows what it names); None:
    #: the default file or the environment's, as the CLI finds them
    models_path: Path | None = None
