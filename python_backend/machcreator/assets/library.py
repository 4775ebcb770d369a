"""Tagged asset libraries: the built-in procedural assets plus folders of a studio's own (Mach §2.5).

A library is a folder holding ``manifest.json``::

    {"format": "machcreator-asset-library", "format_version": 1, "name": "studio",
     "assets": [{"id": "red_flannel", "category": "top", "tags": ["flannel", "plaid"],
                 "description": "a red checked flannel shirt", "licence": "CC-BY-4.0",
                 "files": [{"path": "red_flannel.glb", "sha256": "..."}],
                 "attribute": {"garments.top": "shirt"}}]}

Every path stays inside the folder and every file matches its checksum. A folder that breaks any
rule is reported as a :class:`LibraryProblem` and skipped, never fatal: one bad library must not
stop a character. The built-ins ship as ``builtin_library.json`` (entries with a ``generator``,
the procedural builder that makes them, and no files); user assets join them under
``"<library name>/<id>"``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from machcreator.attributes import Attributes, literal_values
from machcreator.core.errors import MachError
from machcreator.core.files import sha256_file

FORMAT = "machcreator-asset-library"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BUILTIN = "builtin"
#: os.pathsep-separated library folders, added to the ones given on the command line
ENV_VAR = "MACH_ASSET_LIBRARIES"
#: the body user meshes are authored on (machcreator.assets.user_mesh.REFERENCE_OVERRIDES)
REFERENCE_NAME = "machcreator-reference-v1"
#: a manifest is a few kB per asset: anything larger is not one (and could be a JSON bomb)
MAX_MANIFEST_BYTES = 4 * 1024 * 1024

Category = Literal["top", "bottom", "dress", "outerwear", "shoes", "glasses", "headwear", "accessory"]
CATEGORIES: tuple[str, ...] = ("top", "bottom", "dress", "outerwear", "shoes", "glasses", "headwear", "accessory")
#: the attribute each category realises ("accessories" is a list: the asset adds its value to it)
CATEGORY_ATTRIBUTE: dict[str, str] = {
    "top": "garments.top", "dress": "garments.top", "bottom": "garments.bottom",
    "outerwear": "garments.outerwear", "shoes": "garments.shoes", "glasses": "glasses",
    "headwear": "headwear", "accessory": "accessories",
}

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: an Unreal object path: /Game/Folder/Asset.Asset (mount point, folders, object name)
_UNREAL_PATH = re.compile(r"^/[A-Za-z0-9_]+(/[A-Za-z0-9_.\- ]+)+$")


class AssetError(MachError):
    """A library or an asset to add is invalid (bad manifest, hostile or unusable file...)."""


def check_relative_path(text: str) -> str:
    """``text`` as a clean relative POSIX path inside a folder; raises ValueError otherwise."""
    if not text or "\\" in text or "\x00" in text or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise ValueError(f"path {text!r} must be relative, with forward slashes")
    parts = PurePosixPath(text).parts
    if any(p in ("..", ".", "") for p in parts):
        raise ValueError(f"path {text!r} must not contain '..' or '.'")
    return str(PurePosixPath(*parts))


class AssetFile(BaseModel):
    """One file of an asset, relative to the library folder, with its checksum."""

    model_config = ConfigDict(extra="forbid")

    path: str
    sha256: str

    _p = field_validator("path")(lambda v: check_relative_path(v))

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not _SHA256.match(v):
            raise ValueError("sha256 must be 64 lower-case hex digits")
        return v


class AssetEntry(BaseModel):
    """One asset of a library manifest."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="slug, unique per library")
    category: Category
    tags: list[str] = Field(min_length=1, max_length=64)
    description: str = Field("", max_length=500)
    licence: str = Field(min_length=1, max_length=200, description="SPDX id or licence text")
    preview: str | None = Field(None, description="relative path to a PNG")
    files: list[AssetFile] = Field(default_factory=list, max_length=16)
    #: the attribute value this asset realises, e.g. {"garments.top": "shirt"}
    attribute: dict[str, str] = Field(default_factory=dict)
    #: built-ins only: the procedural builder, e.g. "garment:shirt"
    generator: str | None = None
    #: an Unreal object path the studio already has: referenced in the package, not shipped
    unreal_asset: str | None = None
    #: user meshes: the body they were authored on (see machcreator.assets.user_mesh.REFERENCE)
    reference_body: str | None = None
    default_color: str | None = None
    pattern: str | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError(f"id {v!r} must be a slug: a-z, 0-9, '_' or '-', at most 64 characters")
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        tags = [" ".join(t.lower().split()) for t in v]
        if any(not t or len(t) > 60 for t in tags):
            raise ValueError("tags must be non-empty words of at most 60 characters")
        return list(dict.fromkeys(tags))

    @field_validator("preview")
    @classmethod
    def _preview(cls, v: str | None) -> str | None:
        if v is not None and not check_relative_path(v).lower().endswith(".png"):
            raise ValueError("preview must be a .png")
        return None if v is None else check_relative_path(v)

    @field_validator("unreal_asset")
    @classmethod
    def _unreal(cls, v: str | None) -> str | None:
        if v is not None and (not _UNREAL_PATH.match(v) or ".." in v or len(v) > 300):
            raise ValueError(f"unreal_asset {v!r} must be an Unreal object path like /Game/Outfits/Hoodie.Hoodie")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "AssetEntry":
        path = CATEGORY_ATTRIBUTE[self.category]
        for key, value in self.attribute.items():
            if key != path:
                raise ValueError(f"a {self.category} asset realises {path}, not {key}")
            if value not in literal_values(path):
                raise ValueError(f"{value!r} is not a value of {path}")
        if self.default_color is not None:
            Attributes().with_value("garments.top_color", self.default_color)  # a known colour name
        if not (self.files or self.generator or self.unreal_asset):
            raise ValueError(f"asset {self.id!r} needs files, a generator or an unreal_asset")
        return self

    @property
    def text(self) -> str:
        """What text matching reads: the description and the tags."""
        return f"{self.description}. {', '.join(self.tags)}"

    @property
    def glb(self) -> str | None:
        """The asset's mesh file (relative path), if it ships one."""
        return next((f.path for f in self.files if f.path.lower().endswith(".glb")), None)


class LibraryManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["machcreator-asset-library"]
    format_version: Literal[1]
    name: str
    assets: list[AssetEntry] = Field(max_length=10_000)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _SLUG.match(v) or v == BUILTIN:
            raise ValueError(f"library name {v!r} must be a slug other than {BUILTIN!r}")
        return v

    @model_validator(mode="after")
    def _unique(self) -> "LibraryManifest":
        ids = [a.id for a in self.assets]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate asset ids: {', '.join(dupes)}")
        return self


@dataclass(frozen=True)
class Asset:
    """An entry of a merged library: ``id`` is namespaced ("studio/red_flannel") for user assets."""

    id: str
    entry: AssetEntry
    library: str
    root: Path | None  # the library folder; None for built-ins

    @property
    def builtin(self) -> bool:
        return self.library == BUILTIN


@dataclass(frozen=True)
class LibraryProblem:
    """A library folder that was skipped, and why."""

    path: str
    message: str


@dataclass(frozen=True)
class Library:
    """The built-ins merged with every good user library."""

    assets: tuple[Asset, ...]

    @cached_property
    def by_id(self) -> dict[str, Asset]:
        return {a.id: a for a in self.assets}

    @cached_property
    def content_hash(self) -> str:
        """A hash of every entry's matching text: keys the embedding cache."""
        text = json.dumps([[a.id, a.entry.text] for a in self.assets])
        return hashlib.sha256(text.encode()).hexdigest()


def read_manifest(folder: Path) -> LibraryManifest:
    """A library folder's manifest, checked (paths inside, files present, checksums); AssetError if not."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise AssetError(f"{folder} is not a folder")
    if not path.is_file():
        raise AssetError(f"{folder} has no {MANIFEST}")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise AssetError(f"{path} is larger than {MAX_MANIFEST_BYTES // 2**20} MB")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:  # RecursionError: deeply nested JSON
        raise AssetError(f"{path} is not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise AssetError(f"{path} is not a {FORMAT} manifest")
    try:
        manifest = LibraryManifest.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(x) for x in e["loc"])
        raise AssetError(f"{path}: {where}: {e['msg'].removeprefix('Value error, ')}") from None
    root = folder.resolve()
    for entry in manifest.assets:
        for rel in [f.path for f in entry.files] + ([entry.preview] if entry.preview else []):
            target = (folder / rel).resolve()
            if not target.is_relative_to(root):  # a symlink pointing out of the folder
                raise AssetError(f"{path}: {entry.id}: {rel} points outside the library")
            if not target.is_file():
                raise AssetError(f"{path}: {entry.id}: missing file {rel}")
        for f in entry.files:
            if sha256_file(folder / f.path) != f.sha256:
                raise AssetError(f"{path}: {entry.id}: {f.path} does not match its sha256")
    return manifest


@lru_cache(maxsize=1)
def builtin_assets() -> tuple[Asset, ...]:
    """The shipped procedural assets (``builtin_library.json``)."""
    data = json.loads((Path(__file__).with_name("builtin_library.json")).read_text())
    entries = [AssetEntry.model_validate(a) for a in data["assets"]]
    return tuple(Asset(id=e.id, entry=e, library=BUILTIN, root=None) for e in entries)


def library_paths(cli: list[str] | None = None, env: dict[str, str] | None = None) -> list[str]:
    """Library folders from the environment (``MACH_ASSET_LIBRARIES``) then the command line."""
    env = os.environ if env is None else env
    from_env = [p for p in env.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    return list(dict.fromkeys(from_env + list(cli or [])))


def load_libraries(paths: list[str | Path]) -> tuple[Library, list[LibraryProblem]]:
    """The built-ins merged with the good libraries among ``paths``, and what was wrong with the rest."""
    assets = list(builtin_assets())
    names: set[str] = set()
    problems: list[LibraryProblem] = []
    for p in paths:
        folder = Path(p).expanduser()
        try:
            manifest = read_manifest(folder)
            if manifest.name in names:
                raise AssetError(f"{folder}: another library is already named {manifest.name!r}")
        except AssetError as exc:
            problems.append(LibraryProblem(str(folder), str(exc)))
            continue
        names.add(manifest.name)
        root = folder.resolve()
        assets += [Asset(id=f"{manifest.name}/{e.id}", entry=e, library=manifest.name, root=root)
                   for e in manifest.assets]
    return Library(tuple(assets)), problems
