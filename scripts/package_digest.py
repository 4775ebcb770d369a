"""Digest of a fixed set of generated packages, to prove a refactor changes no output byte.

    python scripts/package_digest.py out/digest_before.json     # before the change
    python scripts/package_digest.py out/digest_after.json      # after it
    python scripts/package_digest.py --compare out/digest_before.json out/digest_after.json

Each case (prompt × seed, and one portrait: scikit-image's astronaut) is generated through
``Pipeline`` and written as a package; the digest holds every file's SHA-256. The manifest's
``timings_s`` (wall-clock seconds) is dropped before hashing and the request's photo path (a
temporary folder) is reduced to its file name: nothing else may differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

PROMPTS = (
    "a young woman with long curly red hair, green eyes and freckles",
    "an old fisherman with a grey beard and a wool cap",
    "a middle-aged man with a bald head, round glasses and a suit",
    "a teenage girl with a blonde ponytail in a hoodie and sneakers",
    "a tall black man in his thirties with dreadlocks and a leather jacket",
    "an elderly asian woman with a grey bun, earrings and a cardigan",
)
SEEDS = (0, 7)
PHOTO_PROMPT = "a woman in a red coat"


def _file_digest(path: Path) -> str:
    if path.name == "manifest.json":
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest.pop("timings_s", None)
        if manifest["request"].get("photo"):
            manifest["request"]["photo"] = Path(manifest["request"]["photo"]).name
        data = json.dumps(manifest, sort_keys=True).encode()
    else:
        data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()


def package_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by its POSIX relative path."""
    return {p.relative_to(folder).as_posix(): _file_digest(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def cases(photo: Path) -> list[tuple[str, dict]]:
    """(name, GenerateRequest fields) of every case."""
    out = [(f"p{i}_s{seed}", {"prompt": prompt, "seed": seed})
           for i, prompt in enumerate(PROMPTS) for seed in SEEDS]
    out.append(("photo_astronaut", {"prompt": PHOTO_PROMPT, "seed": 0, "photo": str(photo)}))
    return out


def generate_all(out_json: Path, only: list[str] | None = None) -> None:
    import cv2
    from skimage import data

    from machcreator.pipeline import GenerateRequest, Pipeline

    pipe = Pipeline()
    digests: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "astronaut.png"
        cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
        for name, fields in cases(photo):
            if only and name not in only:
                continue
            folder = Path(tmp) / name
            pipe.write(pipe(GenerateRequest(**fields)), folder)
            digests[name] = package_digest(folder)
            print(f"{name}: {len(digests[name])} files", flush=True)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(digests, indent=1, sort_keys=True), encoding="utf-8")


def compare(before: Path, after: Path) -> int:
    a = json.loads(before.read_text(encoding="utf-8"))
    b = json.loads(after.read_text(encoding="utf-8"))
    differences = 0
    for name in sorted(set(a) | set(b)):
        files_a, files_b = a.get(name, {}), b.get(name, {})
        for rel in sorted(set(files_a) | set(files_b)):
            if files_a.get(rel) != files_b.get(rel):
                differences += 1
                print(f"{name}/{rel}: {files_a.get(rel, 'missing')[:12]} -> {files_b.get(rel, 'missing')[:12]}")
    total = sum(len(f) for f in a.values())
    print(f"{len(a)} packages, {total} files, {differences} differ")
    return 1 if differences else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--compare", action="store_true", help="compare two digests instead of generating")
    parser.add_argument("--cases", nargs="*", help="generate only these cases (e.g. photo_astronaut)")
    args = parser.parse_args()
    if args.compare:
        return compare(*args.paths)
    generate_all(args.paths[0], args.cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
