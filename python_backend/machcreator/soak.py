"""The soak benchmark of ``mach serve``: many clients at once while the server is hurt on purpose.

A real ``mach serve`` (its own temporary data folder, a loopback port, N workers) gets
``clients`` simulated users, each a thread with its own :class:`~machcreator.client.Client` and
its own token (so its own identity), each queueing ``jobs`` cheap real characters. Seeded faults
run at the same time:

- about 15 % of the jobs are cancelled, half while queued and half once running;
- about 15 % of the done jobs are edited (an edit is one more job);
- every 20-30 s a busy worker process is SIGKILLed;
- exactly once, when half the planned jobs have ended, the server is stopped (SIGTERM) and started
  again on the same folder and port. Clients ride through it the Lazy Pirate way: a call that
  raised ``BackendUnavailable`` is sent again with the same idempotency token.

Meanwhile an admin client times ``status`` every 0.2 s. At the end the server's own list of jobs
is compared with what the clients were given: **lost** (a submission without a job id, or a job
not final at the end) and **duplicated** (a job no client was given) must both be 0.

Run it with ``mach bench-soak [--clients 50 --jobs 4 --workers 2 --seed 0 --out soak.json]``
(``--kill-every MIN MAX``, ``--deadline-min``, ``--keep DIR`` for the server's logs and database);
it exits 1 when anything was lost or duplicated.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import Progress, TextColumn
from rich.table import Table

from machcreator.client import BackendError, BackendUnavailable, Client, RequestFailed
from machcreator.service import protocol as P

T = TypeVar("T")

#: the cheapest real character: every stage runs, on tiny maps and a draft groom
SMALL = {"texture_size": 64, "preview_size": 64, "hair_detail": 0.05}
PEOPLE = ("young woman", "young man", "middle-aged woman", "middle-aged man", "old woman", "old man")
HAIR = ("short black hair", "long curly red hair", "a grey beard", "a blonde ponytail", "a shaved head",
        "wavy brown hair")
FEATURES = ("green eyes", "freckles", "a round face", "high cheekbones", "dark skin", "pale skin")
EDITS = (["hair.color=red"], ["hair.color=black"], ["hair.color=auburn"], ["eyes.iris_color=green"])
#: the soak server's time limits: tighter than the defaults, as cheap jobs take seconds
TIME_LIMITS = (("--job-timeout", "300"), ("--stage-timeout", "120"))
#: a user's pause between two submissions (s)
THINK_S = (0.0, 2.0)
#: how long after submitting (or after it started) a job is cancelled (s)
CANCEL_AFTER_S = (0.0, 3.0)
#: the soak's own server-side calls: short tries, so a restart shows as unanswered samples
ADMIN_TIMEOUT_S = 2.0
#: the clients' tries: about 6 s in all, less than a restart takes, so the soak's own resend
#: (the same call, the same token) runs too, not only the client's Lazy Pirate resends
CLIENT_TIMEOUT_S, CLIENT_RETRIES = 3.0, 2
#: between two tries of a call that got no answer (s)
RETRY_PAUSE_S = 0.5
#: server deaths the soak did not cause that it restarts the server after; one more ends the soak
MAX_CRASHES = 3


@dataclass(frozen=True)
class SoakConfig:
    clients: int = 50
    jobs: int = 4
    workers: int = 2
    seed: int = 0
    cancel_fraction: float = 0.15
    edit_fraction: float = 0.15
    kill_every_s: tuple[float, float] = (20.0, 30.0)
    #: after this long clients stop waiting; what has not ended by then counts as lost (s)
    deadline_s: float = 7200.0
    latency_every_s: float = 0.2
    #: copy the server's logs and job database here at the end (the temporary folder goes)
    keep: Path | None = None


@dataclass
class Submission:
    """One generate or edit a client sent, and what became of it as that client saw it."""

    kind: str  # generate | edit
    token: str  # the idempotency token, the same on every resend
    job_id: str | None = None
    cancel: str | None = None  # queued | running: when the client cancels it
    cancel_state: str | None = None  # the cancel reply's state (None: not sent, the job had ended)
    refused: str | None = None  # the server's error when it refused the submission


@dataclass
class ClientLog:
    submissions: list[Submission] = field(default_factory=list)
    resends: int = 0  # calls repeated after BackendUnavailable or shutting_down
    errors: list[str] = field(default_factory=list)  # other refusals of cancel and wait
    gave_up: bool = False  # the deadline passed while it still waited


@dataclass
class Chaos:
    """What the fault thread did."""

    kills: list[dict[str, Any]] = field(default_factory=list)
    restarts: int = 0
    restart_forced: bool = False  # SIGTERM did not end the server within a minute
    restart_downtime_s: float | None = None  # SIGTERM to the first answered status
    crashes: list[int] = field(default_factory=list)  # exit codes of server deaths we did not cause
    error: str | None = None  # the fault thread itself failed (the server did not come back): clients stop


@dataclass
class Until:
    """When clients stop waiting: at the deadline, or at once when the fault thread has failed."""

    deadline: float
    abort: threading.Event = field(default_factory=threading.Event)

    def over(self) -> bool:
        return self.abort.is_set() or time.monotonic() > self.deadline

    def left_s(self) -> float:
        return max(1.0, self.deadline - time.monotonic())


class SoakServer:
    """``mach serve`` on a fixed port and data folder, so it can be stopped and started again.

    Not ``bench._start_server``: a restart needs the same port, and the time limits are extra options.
    """

    def __init__(self, data: Path, workers: int) -> None:
        self.data, self.workers = data, workers
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.endpoint = f"tcp://127.0.0.1:{s.getsockname()[1]}"
        self.extra = [arg for option, value in TIME_LIMITS for arg in (option, value)]
        self.log_path = data.parent / "serve.out"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "machcreator.cli", "serve", "--bind", self.endpoint, "--data", str(self.data),
                 "--workers", str(self.workers), *self.extra], stdout=out, stderr=subprocess.STDOUT)

    def wait_answering(self, timeout_s: float, *, idle: bool = False) -> None:
        """Until ``status`` answers with every worker present (``idle``: and idle, nothing queued yet)."""
        deadline = time.monotonic() + timeout_s
        with Client(self.endpoint, timeout_s=ADMIN_TIMEOUT_S, retries=1) as admin:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mach serve exited with {self.proc.returncode}: {self.tail()}")
                try:
                    ws = admin.status()["server"]["workers"]
                    if len(ws) == self.workers and (not idle or all(w["state"] == "idle" for w in ws)):
                        return
                except BackendError:
                    pass
                time.sleep(0.2)
        raise TimeoutError(f"mach serve did not come up in {timeout_s:g} s: {self.tail()}")

    def terminate(self, timeout_s: float = 60.0) -> bool:
        """SIGTERM and wait; SIGKILL after ``timeout_s``. True when it ended by itself."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
            return True
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return False

    def stop(self) -> None:
        """Make sure nothing of this server is left: it, and any worker still naming its data folder."""
        import psutil

        if self.proc is not None and self.proc.poll() is None:
            self.terminate(30.0)
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if "machcreator.service.worker" in cmdline and str(self.data) in cmdline:
                try:
                    proc.kill()
                except psutil.NoSuchProcess:
                    pass  # it ended by itself meanwhile

    def is_worker(self, pid: int) -> bool:
        """Guards a SIGKILL against a pid reused since ``status`` named it."""
        import psutil

        try:
            cmdline = psutil.Process(pid).cmdline()
        except psutil.Error:
            return False
        return "machcreator.service.worker" in cmdline and str(self.data) in cmdline

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.is_file() else ""


def _persist(call: Callable[[], T], log: ClientLog, until: Until) -> T:
    """``call()`` until the server answers: resent unchanged (the same token) while it is down or stopping."""
    while True:
        try:
            return call()
        except BackendUnavailable:
            pass
        except RequestFailed as exc:
            if exc.code != "shutting_down":
                raise
        log.resends += 1
        if until.over():
            raise TimeoutError("the soak's deadline passed (or it aborted) while the server did not answer")
        time.sleep(RETRY_PAUSE_S)


def _until_running(c: Client, job_id: str, log: ClientLog, until: Until) -> bool:
    """Wait for the job to start; False when it ended (or the deadline came) first."""
    after = 0
    while not until.over():
        reply = _persist(lambda: c.events(job_id, after=after, wait_ms=2000), log, until)
        for event in reply["events"]:
            after = event["seq"]
            if event["event"] == "started":
                return True
        if reply["state"] in P.FINAL_STATES:
            return False
    return False


def _client(index: int, endpoint: str, cfg: SoakConfig, until: Until) -> ClientLog:
    """One simulated user: queue jobs, cancel some, wait for all, edit some that are done."""
    rng = random.Random(cfg.seed * 1_000_003 + index)
    log = ClientLog()
    with Client(endpoint, token=secrets.token_urlsafe(32), timeout_s=CLIENT_TIMEOUT_S, retries=CLIENT_RETRIES) as c:
        try:
            _use(c, rng, cfg, log, until)
        except TimeoutError:
            log.gave_up = True
    return log


def _use(c: Client, rng: random.Random, cfg: SoakConfig, log: ClientLog, until: Until) -> None:
    # 1. queue, with a user's pauses
    for _ in range(cfg.jobs):
        sub = Submission("generate", uuid.uuid4().hex)
        if rng.random() < cfg.cancel_fraction:
            sub.cancel = rng.choice(("queued", "running"))
        prompt = f"a {rng.choice(PEOPLE)} with {rng.choice(HAIR)} and {rng.choice(FEATURES)}"
        seed = rng.randrange(2**31)
        log.submissions.append(sub)
        try:
            sub.job_id = _persist(lambda: c.generate(prompt, seed=seed, token=sub.token, **SMALL), log, until)
        except RequestFailed as exc:
            sub.refused = str(exc)
        time.sleep(rng.uniform(*THINK_S))
    # 2. cancel the chosen ones: right away, or once a worker has them
    for sub in log.submissions:
        if sub.cancel is None or sub.job_id is None:
            continue
        if sub.cancel == "running" and not _until_running(c, sub.job_id, log, until):
            continue
        time.sleep(rng.uniform(*CANCEL_AFTER_S))
        try:
            sub.cancel_state = _persist(lambda: c.cancel(sub.job_id), log, until)
        except RequestFailed as exc:
            log.errors.append(f"cancel: {exc}")
    # 3. wait for every job; a done one may be edited, and the edit is waited for too
    for sub in log.submissions:  # grows while it runs: edits are appended
        if sub.job_id is None:
            continue
        try:
            job = _persist(lambda: c.wait(sub.job_id, timeout_s=until.left_s()), log, until)
        except RequestFailed as exc:
            log.errors.append(f"wait: {exc}")
            continue
        if job["state"] != "done" or sub.kind != "generate" or rng.random() >= cfg.edit_fraction:
            continue
        edit = Submission("edit", uuid.uuid4().hex)
        overrides = rng.choice(EDITS)
        log.submissions.append(edit)
        try:
            edit.job_id = _persist(lambda: c.edit(sub.job_id, overrides, token=edit.token), log, until)
        except RequestFailed as exc:
            edit.refused = str(exc)


def _chaos(server: SoakServer, cfg: SoakConfig, stop: threading.Event, chaos: Chaos, until: Until,
           report: Callable[[dict[str, int]], None]) -> None:
    """SIGKILL a busy worker every 20-30 s; restart the server once, when half the planned jobs have ended."""
    try:
        _faults(server, cfg, stop, chaos, report)
    except Exception as exc:  # the server did not come back: waiting on would only run into the deadline
        chaos.error = f"{type(exc).__name__}: {exc}"
        until.abort.set()


def _faults(server: SoakServer, cfg: SoakConfig, stop: threading.Event, chaos: Chaos,
            report: Callable[[dict[str, int]], None]) -> None:
    rng = random.Random(cfg.seed)
    half = cfg.clients * cfg.jobs / 2
    next_kill = time.monotonic() + rng.uniform(*cfg.kill_every_s)
    with Client(server.endpoint, timeout_s=ADMIN_TIMEOUT_S, retries=1) as admin:
        while not stop.wait(0.5):
            if server.proc.poll() is not None:  # not our doing: a crash; note it and bring it back
                chaos.crashes.append(server.proc.returncode)
                if len(chaos.crashes) > MAX_CRASHES:
                    raise RuntimeError(f"mach serve died {len(chaos.crashes)} times: {server.tail()}")
                server.start()
                continue
            try:
                s = admin.status()["server"]
            except BackendError:
                continue
            report(s["counts"])
            ended = sum(s["counts"].get(state, 0) for state in P.FINAL_STATES)
            if chaos.restarts == 0 and ended >= half:
                t0 = time.monotonic()
                chaos.restart_forced = not server.terminate()
                server.start()
                server.wait_answering(180.0)
                chaos.restart_downtime_s = time.monotonic() - t0
                chaos.restarts += 1
                next_kill = time.monotonic() + rng.uniform(*cfg.kill_every_s)
                continue
            busy = [w for w in s["workers"] if w["state"] == "busy"]
            if time.monotonic() >= next_kill and busy:
                w = rng.choice(busy)
                if server.is_worker(w["pid"]):
                    os.kill(w["pid"], signal.SIGKILL)
                    chaos.kills.append({"worker": w["name"], "pid": w["pid"], "job_id": w["job_id"]})
                next_kill = time.monotonic() + rng.uniform(*cfg.kill_every_s)


def _latency(endpoint: str, every_s: float, stop: threading.Event, samples_ms: list[float], missed: list[int]) -> None:
    """The round trip of the admin's ``status`` while clients are busy; unanswered tries are counted apart."""
    with Client(endpoint, timeout_s=ADMIN_TIMEOUT_S, retries=1) as admin:
        while not stop.wait(every_s):
            t0 = time.perf_counter()
            try:
                admin.status()
            except BackendError:
                missed[0] += 1
                continue
            samples_ms.append((time.perf_counter() - t0) * 1000)


def _server_jobs(endpoint: str, ids: set[str]) -> tuple[dict[str, dict[str, Any]], bool]:
    """Every job the server has (the admin sees all), plus any of ``ids`` beyond the list's limit;
    and whether that list was complete (else a duplicate among the older jobs goes unseen)."""
    with Client(endpoint, timeout_s=10.0) as admin:
        listed = admin.jobs(mine=False, limit=P.MAX_LIST_JOBS)
        jobs = {j["job_id"]: j for j in listed}
        for job_id in ids - set(jobs):
            try:
                jobs[job_id] = admin.status(job_id)["job"]
            except RequestFailed as exc:
                if exc.code != "not_found":
                    raise
    return jobs, len(listed) < P.MAX_LIST_JOBS


def _log_errors(data: Path) -> dict[str, int]:
    """The server's error-level log lines by message (worker deaths we caused are among them)."""
    counts: Counter[str] = Counter()
    log = data / "server.log"
    for line in log.read_text(errors="replace").splitlines() if log.is_file() else []:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("level") in ("error", "critical"):
            counts[record.get("msg", "?")] += 1
    return dict(counts)


def _percentile(values: list[float], q: float) -> float | None:
    import numpy as np

    return float(np.percentile(values, q)) if values else None


def _summarise(cfg: SoakConfig, logs: list[ClientLog], jobs: dict[str, dict[str, Any]], chaos: Chaos,
               latency_ms: list[float], missed: int, server: SoakServer, wall_s: float) -> dict[str, Any]:
    subs = [s for log in logs for s in log.submissions]
    given = {s.job_id for s in subs if s.job_id is not None}
    mine = [jobs[j] for j in given if j in jobs]
    by_state = Counter(j["state"] for j in mine)
    failed = [j for j in mine if j["state"] == "failed"]
    reasons = Counter(j["error"] for j in failed if isinstance(j.get("error"), str) and j["error"].strip())
    lost = sorted(j for j in given if j not in jobs or jobs[j]["state"] not in P.FINAL_STATES)
    never = [s.refused or "no reply before the deadline" for s in subs if s.job_id is None]
    duplicated = sorted(set(jobs) - given)
    ran = [j for j in mine if j.get("started") and j.get("finished")]
    longest = max(ran, key=lambda j: j["finished"] - j["started"], default=None)
    slowest = max(ran, key=lambda j: j["finished"] - j["created"], default=None)
    cancelled_subs = [s for s in subs if s.cancel_state is not None]
    return {
        "config": {"clients": cfg.clients, "jobs": cfg.jobs, "workers": cfg.workers, "seed": cfg.seed,
                   "server_args": server.extra},
        "submitted": len(subs),
        "edits": sum(s.kind == "edit" for s in subs),
        "done": by_state["done"],
        "failed_with_reason": reasons.total(),
        "failure_reasons": dict(reasons),
        "failed_without_reason": len(failed) - reasons.total(),
        "cancelled": by_state["cancelled"],
        "cancels_sent": len(cancelled_subs),
        "cancels_sent_ended_done": sum(jobs.get(s.job_id, {}).get("state") == "done" for s in cancelled_subs),
        "lost": len(lost) + len(never),
        "lost_jobs": lost,
        "submissions_without_id": never,
        "duplicated": len(duplicated),
        "duplicated_jobs": duplicated,
        "longest_run_s": longest and round(longest["finished"] - longest["started"], 2),
        "longest_run_job": longest and longest["job_id"],
        "longest_created_to_finished_s": slowest and round(slowest["finished"] - slowest["created"], 2),
        "status_p50_ms": _percentile(latency_ms, 50),
        "status_p95_ms": _percentile(latency_ms, 95),
        "status_samples": len(latency_ms),
        "status_unanswered": missed,
        "worker_kills": len(chaos.kills),
        "kills": chaos.kills,
        "server_restarts": chaos.restarts,
        "restart_forced": chaos.restart_forced,
        "restart_downtime_s": chaos.restart_downtime_s and round(chaos.restart_downtime_s, 2),
        "server_crashes": chaos.crashes,
        "fault_thread_error": chaos.error,
        "client_resends": sum(log.resends for log in logs),
        "clients_gave_up": sum(log.gave_up for log in logs),
        "client_errors": dict(Counter(e for log in logs for e in log.errors)),
        "server_log_errors": _log_errors(server.data),
        "wall_s": round(wall_s, 1),
    }


def _print(console: Console, r: dict[str, Any]) -> None:
    def ms(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f}"

    def alarm(n: int) -> str:  # a count that must be 0
        return f"[bold {'red' if n else 'green'}]{n}[/]"

    c = r["config"]
    table = Table(title=f"mach serve soak: {c['clients']} clients × {c['jobs']} jobs, {c['workers']} workers, "
                        f"seed {c['seed']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("LOST (must be 0)", alarm(r["lost"])),
        ("DUPLICATED (must be 0)", alarm(r["duplicated"]) + ("" if r["duplicate_check_complete"] else
                                                             f" (newest {P.MAX_LIST_JOBS} jobs only)")),
        ("jobs submitted (edits included)", f"{r['submitted']} ({r['edits']} edits)"),
        ("done", r["done"]),
        ("failed, with a reason", r["failed_with_reason"]),
        ("failed, without a reason", alarm(r["failed_without_reason"])),
        ("cancelled (cancels sent; of them ended done)",
         f"{r['cancelled']} ({r['cancels_sent']}; {r['cancels_sent_ended_done']})"),
        ("longest job, started → finished (s)", r["longest_run_s"]),
        ("longest job, created → finished (s)", r["longest_created_to_finished_s"]),
        ("status while busy, p50 / p95 (ms)", f"{ms(r['status_p50_ms'])} / {ms(r['status_p95_ms'])}"),
        ("status samples (unanswered)", f"{r['status_samples']} ({r['status_unanswered']})"),
        ("worker kills", r["worker_kills"]),
        ("server restarts (downtime s)", f"{r['server_restarts']} ({r['restart_downtime_s']})"
                                         + (" [red]SIGKILL needed[/]" if r["restart_forced"] else "")),
        ("server crashes", alarm(len(r["server_crashes"]))),
        ("client resends after no answer", r["client_resends"]),
        ("clients that gave up at the deadline", alarm(r["clients_gave_up"])),
        ("shutdown", r["shutdown"] if r["shutdown"] == "clean" else f"[bold red]{r['shutdown']}[/]"),
        ("server options", " ".join(c["server_args"]) or "–"),
        ("wall time (s)", r["wall_s"]),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    for title, counts in (("failure reasons", r["failure_reasons"]), ("server log errors", r["server_log_errors"]),
                          ("client errors", r["client_errors"])):
        if counts:
            t = Table(title=title)
            t.add_column("count", justify="right")
            t.add_column("message")
            for message, n in sorted(counts.items(), key=lambda kv: -kv[1]):
                t.add_row(str(n), message)
            console.print(t)
    for name in ("lost_jobs", "submissions_without_id", "duplicated_jobs", "fault_thread_error"):
        if r[name]:
            console.print(f"[bold red]{name}:[/] {r[name]}")


def _shutdown(server: SoakServer) -> str:
    """The admin's ``shutdown``, as the lead's tooling would end a server; how it went, in words."""
    try:
        with Client(server.endpoint, timeout_s=10.0) as admin:
            admin.shutdown()
    except BackendError as exc:
        return f"shutdown refused or unanswered: {exc}"
    try:
        code = server.proc.wait(60)
    except subprocess.TimeoutExpired:
        return "the server was still running 60 s after shutdown"
    return "clean" if code == 0 else f"exit code {code} after shutdown"


def run_soak(cfg: SoakConfig = SoakConfig(), console: Console | None = None) -> dict[str, Any]:
    """Soak a fresh ``mach serve``: clients, cancels, edits, worker kills, one restart. Returns the counts."""
    console = console or Console()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mach-soak-") as tmp:
        server = SoakServer(Path(tmp) / "data", cfg.workers)
        chaos, latency_ms, missed = Chaos(), [], [0]
        stop = threading.Event()
        try:
            server.start()
            server.wait_answering(300.0, idle=True)
            console.print(f"soak: {cfg.clients} clients × {cfg.jobs} jobs on {server.endpoint}, "
                          f"server options: {' '.join(server.extra) or 'none'}", highlight=False)
            until = Until(time.monotonic() + cfg.deadline_s)
            progress = Progress(*Progress.get_default_columns(), TextColumn("{task.fields[states]}"), console=console)
            task = progress.add_task("jobs ended", total=cfg.clients * cfg.jobs, states="")

            def report(counts: dict[str, int]) -> None:
                ended = sum(counts.get(state, 0) for state in P.FINAL_STATES)
                progress.update(task, completed=ended, total=max(sum(counts.values()), cfg.clients * cfg.jobs),
                                states=", ".join(f"{k} {v}" for k, v in sorted(counts.items())))

            progress.start()
            threads = [threading.Thread(target=_chaos, args=(server, cfg, stop, chaos, until, report), daemon=True),
                       threading.Thread(target=_latency, args=(server.endpoint, cfg.latency_every_s, stop, latency_ms,
                                                               missed), daemon=True)]
            for t in threads:
                t.start()
            try:
                with ThreadPoolExecutor(max_workers=cfg.clients, thread_name_prefix="soak-client") as pool:
                    futures = [pool.submit(_client, i, server.endpoint, cfg, until) for i in range(cfg.clients)]
                    logs = [f.result() for f in futures]
            finally:
                stop.set()
                for t in threads:
                    t.join(240.0)  # a restart in progress finishes first
                progress.stop()
            given = {s.job_id for log in logs for s in log.submissions if s.job_id is not None}
            jobs, complete = _server_jobs(server.endpoint, given)
            shutdown = _shutdown(server)
            result = _summarise(cfg, logs, jobs, chaos, latency_ms, missed[0], server, time.monotonic() - t0)
            result |= {"shutdown": shutdown, "duplicate_check_complete": complete}
        finally:
            server.stop()
            if cfg.keep is not None:
                shutil.copytree(server.data, cfg.keep, ignore=shutil.ignore_patterns("jobs", "photos"),
                                dirs_exist_ok=True)
                shutil.copy2(server.log_path, cfg.keep)
    _print(console, result)
    return result
