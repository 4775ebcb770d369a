"""`mach bench`: per-stage time and peak RAM, cold and warm, printed as a table.

Each prompt's cold run happens in a fresh worker process (template load and encoder load
included, so its peak RSS is that prompt's own); warm runs repeat in the same worker.
Run it with ``mach bench`` or ``python -m machcreator.bench``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

DEFAULT_PROMPTS = (
    "a young woman with long curly red hair, green eyes and freckles",
    "an old fisherman with a grey beard and a wool cap",
    "a muscular bald man in his thirties with dark skin and a goatee",
)
STAGE_COLUMNS = ("parse", "attributes", "geometry", "textures", "preview", "package")
_SHORT = {"attributes": "attrs", "geometry": "geom", "textures": "tex"}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _worker(prompt: str, runs: int, texture_size: int) -> None:
    """Cold run then ``runs`` warm runs of one prompt; one JSON line per run on stdout."""
    from machcreator.export.package import write_package
    from machcreator.pipeline import GenerateRequest, Pipeline

    start = time.perf_counter()
    pipe = Pipeline()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):
            # a new seed per run defeats the stage cache: warm means loaded models, not cached outputs
            request = GenerateRequest(prompt=prompt, seed=i, texture_size=texture_size)
            t0 = time.perf_counter()
            result = pipe(request)
            t1 = time.perf_counter()
            write_package(result, Path(tmp) / f"run{i}")
            t2 = time.perf_counter()
            timings = dict(result.timings_s, package=round(t2 - t1, 4))
            total = (t2 - start) if i == 0 else (t2 - t0)
            print(json.dumps({"kind": "cold" if i == 0 else "warm", "timings": timings,
                              "total_s": round(total, 3), "peak_rss_mb": round(_peak_rss_mb(), 1)}), flush=True)


def run_bench(prompts: list[str] | None, runs: int = 2, texture_size: int = 2048, console: Console | None = None) -> list[dict]:
    console = console or Console()
    rows: list[dict] = []
    for prompt in prompts or DEFAULT_PROMPTS:
        console.print(f"[dim]benchmarking:[/] {prompt}", highlight=False)
        proc = subprocess.run(
            [sys.executable, "-m", "machcreator.bench", "--worker", prompt, str(runs), str(texture_size)],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"bench worker failed for {prompt!r}:\n{proc.stderr[-2000:]}")
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                rows.append(dict(json.loads(line), prompt=prompt))
    table = Table(title=f"mach bench: {texture_size}² textures; cold = fresh process incl. model loads; times in s")
    table.add_column("#", justify="right")
    table.add_column("run")
    for col in STAGE_COLUMNS:
        table.add_column(_SHORT.get(col, col), justify="right")
    table.add_column("total", justify="right")
    table.add_column("RSS MB", justify="right")
    numbers = {p: i + 1 for i, p in enumerate(dict.fromkeys(r["prompt"] for r in rows))}
    for r in rows:
        table.add_row(str(numbers[r["prompt"]]), r["kind"], *(f"{r['timings'].get(c, 0.0):.2f}" for c in STAGE_COLUMNS),
                      f"{r['total_s']:.2f}", f"{r['peak_rss_mb']:.0f}")
    for prompt, i in numbers.items():
        console.print(f"#{i}: {prompt}", highlight=False)
    console.print(table)
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        run_bench(sys.argv[1:] or None)
