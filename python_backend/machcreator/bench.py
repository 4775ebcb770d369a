"""`mach bench`: per-stage time and peak RAM, cold and warm, printed as a table.

Each prompt's cold run happens in a fresh worker process (template load and encoder load
included, so its peak RSS is that prompt's own); warm runs repeat in the same worker.
Run it with ``mach bench`` or ``python -m machcreator.bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from machcreator.pipeline import STAGE_NAMES

DEFAULT_PROMPTS = (
    "a young woman with long curly red hair, green eyes and freckles",
    "an old fisherman with a grey beard and a wool cap",
    "a muscular bald man in his thirties with dark skin and a goatee",
)
#: the hair bench: a long style (>= 100k strands) grown and written, then again from the style cache.
HAIR_STYLES = ("long_straight", "long_curly", "ponytail_high", "short")
_SHORT = {"attributes": "attrs", "geometry": "geom", "textures": "tex", "character": "char"}


def _peak_rss_mb() -> float:
    """This process's peak resident memory, MB (Windows: its peak working set)."""
    if sys.platform == "win32":  # no getrusage there
        import psutil

        return psutil.Process().memory_info().peak_wset / 2**20
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0  # bytes on macOS, KiB on Linux


def _worker(prompt: str, runs: int, texture_size: int, photo: str | None = None) -> None:
    """Cold run then ``runs`` warm runs of one prompt (with ``photo``: a portrait's head); one
    JSON line per run on stdout."""
    from machcreator.pipeline import GenerateRequest, Pipeline

    start = time.perf_counter()
    pipe = Pipeline()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):
            # a new seed per run defeats the stage cache: warm means loaded models, not cached outputs
            # (the face crop of a photo is cached across seeds: it does not depend on them)
            request = GenerateRequest(prompt=prompt, seed=i, texture_size=texture_size, photo=photo)
            t0 = time.perf_counter()
            result = pipe(request)
            pipe.write(result, Path(tmp) / f"run{i}")
            t2 = time.perf_counter()
            timings = result.timings_s
            total = (t2 - start) if i == 0 else (t2 - t0)
            print(json.dumps({"kind": "cold" if i == 0 else "warm", "timings": timings,
                              "total_s": round(total, 3), "peak_rss_mb": round(_peak_rss_mb(), 1)}), flush=True)


def _hair_worker() -> None:
    """Per style: grow + write its grooms (Alembic + USD) on a fresh cache, then from the cache."""
    from machcreator.attributes import Attributes, resolve
    from machcreator.body.geometry import build_geometry
    from machcreator.export.alembic import write_groom_abc
    from machcreator.export.usd import write_groom_usd
    from machcreator.hair.grooms import character_field, make_grooms

    base = Attributes().with_value("body.gender", "female").with_value("body.age_years", 30.0)
    character = build_geometry(resolve(base, 0))
    t0 = time.perf_counter()
    field = character_field(character)
    print(json.dumps({"style": "(body field, once per body)", "kind": "grow", "grow_s": round(time.perf_counter() - t0, 3),
                      "write_s": 0.0, "strands": 0, "points": 0, "peak_rss_mb": round(_peak_rss_mb(), 1)}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for style in HAIR_STYLES:
            attrs = resolve(base.with_value("hair.style", style), 0)
            for kind in ("grow", "cached"):
                t0 = time.perf_counter()
                scalp = make_grooms(character, attrs, 0, field=field, cache_dir=Path(tmp) / "cache")[0]
                t1 = time.perf_counter()
                write_groom_abc(scalp, Path(tmp) / "scalp.abc")
                write_groom_usd(scalp, Path(tmp) / "scalp.usdc")
                t2 = time.perf_counter()
                print(json.dumps({"style": style, "kind": kind, "grow_s": round(t1 - t0, 3), "write_s": round(t2 - t1, 3),
                                  "strands": int((~scalp.guide).sum()), "points": int(len(scalp.points)),
                                  "peak_rss_mb": round(_peak_rss_mb(), 1)}), flush=True)


def run_hair_bench(console: Console) -> list[dict]:
    """Time the hair stage alone: every groom of a style grown and written, cold and cached."""
    proc = subprocess.run([sys.executable, "-m", "machcreator.bench", "--hair-worker"], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"hair bench worker failed:\n{proc.stderr[-2000:]}")
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    table = Table(title="mach bench: hair (all grooms of a style grown, the scalp written as .abc + .usdc); times in s")
    for col in ("style", "run", "grow", "write", "total", "strands", "points", "RSS MB"):
        table.add_column(col, justify="left" if col in ("style", "run") else "right")
    for r in rows:
        table.add_row(r["style"], r["kind"], f"{r['grow_s']:.2f}", f"{r['write_s']:.2f}", f"{r['grow_s'] + r['write_s']:.2f}",
                      f"{r['strands']:,}", f"{r['points']:,}", f"{r['peak_rss_mb']:.0f}")
    console.print(table)
    return rows


def run_raster_bench(console: Console, repeats: int = 3) -> list[dict]:
    """Throughput of the photo path's differentiable rasteriser (the torch backend, or nvdiffrast
    where it runs): an icosphere rendered, an attribute interpolated, and its gradient taken."""
    import torch
    import trimesh

    from machcreator.render.diffrast import get_rasterizer, interpolate, perspective, to_clip

    rast = get_rasterizer("auto")
    rows = []
    for subdivisions in (4, 5):
        sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=0.1)
        faces = torch.tensor(sphere.faces)
        colours = torch.rand(len(sphere.vertices), 3)
        for side in (256, 512, 1024):
            points = torch.tensor(sphere.vertices + (0.0, 0.0, -0.4), dtype=torch.float32)[None].requires_grad_(True)
            forward = backward = 0.0
            for _ in range(repeats):
                t0 = time.perf_counter()
                frags = rast.rasterize(to_clip(points, perspective(40.0, 1.0, 0.1, 10.0)), faces, (side, side))
                image = interpolate(colours, frags, faces)
                t1 = time.perf_counter()
                image.sum().backward()
                t2 = time.perf_counter()
                forward, backward = forward + (t1 - t0) / repeats, backward + (t2 - t1) / repeats
            rows.append({"triangles": len(sphere.faces), "side": side, "forward_s": forward, "backward_s": backward,
                         "covered": int(frags.mask.sum())})
    table = Table(title=f"mach bench: differentiable rasteriser ({rast.name}); an icosphere, one attribute, its gradient")
    for col in ("triangles", "image", "covered px", "forward ms", "backward ms", "Mpx/s (fwd+bwd)"):
        table.add_column(col, justify="right")
    for r in rows:
        px = r["side"] ** 2
        table.add_row(f"{r['triangles']:,}", f"{r['side']}²", f"{r['covered']:,}", f"{r['forward_s'] * 1000:.0f}",
                      f"{r['backward_s'] * 1000:.0f}", f"{px / (r['forward_s'] + r['backward_s']) / 1e6:.2f}")
    console.print(table)
    return rows


def run_photo_geometry_bench(console: Console, count: int = 20, seed: int = 1) -> dict[str, dict[str, float]]:
    """The photo path's geometry against ground truth: ``count`` known heads rendered, fitted
    from their renders, and measured NoW-style (:mod:`machcreator.photo.benchmark`)."""
    from machcreator.photo.benchmark import print_geometry_report, run_geometry_benchmark

    def progress(i: int, n: int, r) -> None:
        numbers = (f"fit {r.fit_median_mm:.2f} mm, prior {r.prior_median_mm:.2f} mm (median), {r.seconds:.1f} s"
                   if r.ok else f"failed: {r.error}")
        console.print(f"[dim]head {i + 1}/{n}:[/] seed {r.seed}, {r.gender} {r.age_years:.0f}: {numbers}", highlight=False)

    start = time.perf_counter()
    results = run_geometry_benchmark(count, seed=seed, progress=progress)
    return print_geometry_report(console, results, wall_s=time.perf_counter() - start)


def run_bench(prompts: list[str] | None, runs: int = 2, texture_size: int = 2048, console: Console | None = None,
              hair: bool = True, raster: bool = True, photo: str | None = None) -> list[dict]:
    console = console or Console()
    if raster:
        run_raster_bench(console)
    if hair:
        run_hair_bench(console)
    rows: list[dict] = []
    for prompt in prompts or DEFAULT_PROMPTS:
        console.print(f"[dim]benchmarking:[/] {prompt}", highlight=False)
        proc = subprocess.run(
            [sys.executable, "-m", "machcreator.bench", "--worker", prompt, str(runs), str(texture_size)]
            + ([photo] if photo else []),
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"bench worker failed for {prompt!r}:\n{proc.stderr[-2000:]}")
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                rows.append(dict(json.loads(line), prompt=prompt))
    source = f"photo {Path(photo).name} + prompt" if photo else "prompt"
    table = Table(title=f"mach bench: {source}, {texture_size}² textures; cold = fresh process incl. model loads; times in s")
    table.add_column("#", justify="right")
    table.add_column("run")
    for col in STAGE_NAMES:
        table.add_column(_SHORT.get(col, col), justify="right")
    table.add_column("total", justify="right")
    table.add_column("RSS MB", justify="right")
    numbers = {p: i + 1 for i, p in enumerate(dict.fromkeys(r["prompt"] for r in rows))}
    for r in rows:
        table.add_row(str(numbers[r["prompt"]]), r["kind"], *(f"{r['timings'].get(c, 0.0):.2f}" for c in STAGE_NAMES),
                      f"{r['total_s']:.2f}", f"{r['peak_rss_mb']:.0f}")
    for prompt, i in numbers.items():
        console.print(f"#{i}: {prompt}", highlight=False)
    console.print(table)
    return rows


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "--worker":
        _worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] if len(sys.argv) == 6 else None)
    elif sys.argv[1:] == ["--hair-worker"]:
        _hair_worker()
    else:
        run_bench(sys.argv[1:] or None)


# --- the service: `mach bench-service` ------------------------------------------------------------

def _start_server(data: Path, workers: int) -> tuple[subprocess.Popen, str]:
    import socket

    from machcreator.client import BackendError, Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        endpoint = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    proc = subprocess.Popen([sys.executable, "-m", "machcreator.cli", "serve", "--bind", endpoint, "--data", str(data),
                             "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with Client(endpoint, timeout_s=2.0, retries=1) as c:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mach serve exited with {proc.returncode}; see {data}/server.log")
            try:
                ws = c.status()["server"]["workers"]
                if len(ws) == workers and all(w["state"] == "idle" for w in ws):
                    return proc, endpoint
            except BackendError:
                pass
            time.sleep(0.2)


def _timed_job(client, submit, dest: Path) -> dict[str, float]:
    """Submit (``submit()`` returns a job id), follow the events, fetch; seconds of each step."""
    t0 = time.perf_counter()
    job_id = submit()
    first: list[float] = []
    job = client.wait(job_id, on_event=lambda e: first.append(time.perf_counter()) if e["event"] == "stage_started" else None)
    if job["state"] != "done":
        raise RuntimeError(f"job {job_id} {job['state']}: {job['error']}")
    t1 = time.perf_counter()
    client.fetch(job_id, dest)
    t2 = time.perf_counter()
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    return {"job_id": job_id, "first_event_s": first[0] - t0, "done_s": t1 - t0, "fetched_s": t2 - t0,
            "fetch_s": t2 - t1, "mb": size / 2**20}


def run_service_bench(console: Console, *, workers: int = 1, batch: int = 4, rss_jobs: int = 200) -> dict[str, float]:
    """Time a real `mach serve` on loopback from a client, as the Unreal panel uses it."""
    import psutil

    from machcreator.client import Client

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc, endpoint = _start_server(Path(tmp) / "data", workers)
        results["server start → workers warm (s)"] = time.perf_counter() - t0
        try:
            with Client(endpoint, timeout_s=10.0) as c:
                # the first job grows this hair style once (cached on disk afterwards), like any first use
                _timed_job(c, lambda: c.generate("a woman with shoulder-length hair", seed=99), Path(tmp) / "first")
                warm = _timed_job(c, lambda: c.generate("an old fisherman with a grey beard and a wool cap", seed=7),
                                  Path(tmp) / "warm")
                results["time to first progress event (s)"] = warm["first_event_s"]
                results["warm prompt → fetched package (s)"] = warm["fetched_s"]
                results["package size (MB)"] = warm["mb"]
                results["package transfer (MB/s)"] = warm["mb"] / warm["fetch_s"]
                edit = _timed_job(c, lambda: c.edit(warm["job_id"], ["hair.color=auburn"]), Path(tmp) / "edit")
                results["hair-colour edit → fetched package (s)"] = edit["fetched_s"]
                t0 = time.perf_counter()
                _, job_ids = c.batch(count=batch, seed=1000)
                for job_id in job_ids:
                    c.wait(job_id)
                results[f"jobs per minute (batch of {batch}, default options)"] = 60 * batch / (time.perf_counter() - t0)
                server = psutil.Process(proc.pid)
                results["server RSS before small jobs (MB)"] = server.memory_info().rss / 2**20
                small = {"texture_size": 64, "preview_size": 64, "hair_detail": 0.05}
                for i in range(rss_jobs):
                    c.wait(c.generate("a man", seed=i % 4, **small))
                    if i + 1 == rss_jobs // 2:
                        results[f"server RSS after {i + 1} jobs (MB)"] = server.memory_info().rss / 2**20
                results[f"server RSS after {rss_jobs} jobs (MB)"] = server.memory_info().rss / 2**20
                ws = c.status()["server"]["workers"]
                results["worker RSS (MB, each)"] = max(w["rss_mb"] for w in ws)
                c.shutdown()
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
    targets = {"warm prompt → fetched package (s)": "≤ 8", "hair-colour edit → fetched package (s)": "≤ 2"}
    table = Table(title=f"mach serve on loopback, {workers} worker(s)")
    for column in ("measure", "value", "target"):
        table.add_column(column)
    for name, value in results.items():
        table.add_row(name, f"{value:.2f}", targets.get(name, ""))
    console.print(table)
    return results
