"""The backend's replies the editor shows, as typed records (docs/protocol.md, ``status``).

Read once at the door: a field the server does not send is an error here, not a silent 0 in a
dialog (the Backend dialog once read ``queued``, which the server never sends).
"""
from __future__ import annotations

from dataclasses import dataclass


class ReplyError(ValueError):
    """A reply without a field the protocol promises."""


def _get(reply: dict, key: str, kind: type, where: str):
    if key not in reply:
        raise ReplyError(f"the backend's {where} reply has no {key!r} (protocol mismatch: update the plugin "
                         "or the backend)")
    value = reply[key]
    if not isinstance(value, kind):
        raise ReplyError(f"the backend's {where} reply has {key!r} = {value!r}, not a {kind.__name__}")
    return value


@dataclass(frozen=True)
class WorkerStatus:
    name: str
    state: str  # starting | idle | busy | ...
    job_id: str | None

    @classmethod
    def from_reply(cls, reply: dict) -> "WorkerStatus":
        return cls(_get(reply, "name", str, "worker"), _get(reply, "state", str, "worker"), reply.get("job_id"))


@dataclass(frozen=True)
class ServerStatus:
    """``status`` without a job or batch: the server's queue and workers."""
    version: str
    counts: dict[str, int]  # jobs per state
    queue: list[str]  # the next job ids, in order (at most 50)
    workers: list[WorkerStatus]

    @classmethod
    def from_reply(cls, reply: dict) -> "ServerStatus":
        counts = _get(reply, "counts", dict, "status")
        return cls(version=str(reply.get("version", "?")), counts={str(k): int(v) for k, v in counts.items()},
                   queue=list(_get(reply, "queue", list, "status")),
                   workers=[WorkerStatus.from_reply(w) for w in _get(reply, "workers", list, "status")])

    @property
    def queued(self) -> int:
        return self.counts.get("queued", 0)

    @property
    def running(self) -> int:
        return self.counts.get("running", 0)

    def summary(self) -> str:
        workers = ", ".join(f"{w.name} {w.state}" for w in self.workers) or "none"
        return (f"backend {self.version}; workers {workers}; {self.queued} jobs queued, {self.running} running")


@dataclass(frozen=True)
class ModelStatus:
    """One of the backend's configured models, as ``mach models check --no-load`` sees it."""
    name: str
    path: str | None
    found: bool
    arch: str | None
    device: str | None
    dtype: str | None
    vram_gb: float | None
    problem: str | None

    @classmethod
    def from_reply(cls, reply: dict) -> "ModelStatus":
        return cls(_get(reply, "name", str, "model"), reply.get("path"), bool(_get(reply, "found", bool, "model")),
                   reply.get("arch"), reply.get("device"), reply.get("dtype"), reply.get("vram_gb"),
                   reply.get("problem"))


@dataclass(frozen=True)
class ModelsReport:
    """``hello``'s capabilities ``portrait`` and ``models``: whether text is painted a portrait, with what."""
    portrait: bool
    models: list[ModelStatus]

    @classmethod
    def from_capabilities(cls, capabilities: dict) -> "ModelsReport":
        return cls(bool(_get(capabilities, "portrait", bool, "hello")),
                   [ModelStatus.from_reply(m) for m in _get(capabilities, "models", list, "hello")])

    def summary(self) -> str:
        """One line for the portrait, then one per model: where it is, what it is, or its problem."""
        base = next((m for m in self.models if m.name == "base"), None)
        if self.portrait and base is not None:
            head = (f"Portrait: painted from the text ({base.arch or '?'} on {base.device or '?'}, {base.dtype or '?'}"
                    + (f", about {base.vram_gb:.1f} GB of GPU memory" if base.vram_gb else "") + ").")
        else:
            head = "Portrait: off (no Stable Diffusion base and ControlNets configured: `mach models check`)."
        lines = [head]
        for m in self.models:
            state = m.problem or ("found" if m.found else "missing")
            lines.append(f"  {m.name}: {m.path or '-'}: {state}")
        return "\n".join(lines)
