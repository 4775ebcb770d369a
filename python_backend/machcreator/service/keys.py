"""CurveZMQ keys: the server's key pair and the public keys of the clients it lets in.

A key folder (``mach keys generate DIR``) holds::

    server.key  server.key_secret        the server's pair (give clients server.key)
    clients/NAME.key  NAME.key_secret    one pair per client (give NAME both)
    authorized_clients/NAME.key          the public keys the server accepts (ZAP checks these)
    admin_clients/NAME.key               the public keys of admins (shutdown, every client's jobs)
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.auth

from machcreator.core.errors import MachError

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class KeyFileError(MachError):
    """A key folder or key file is missing or unreadable."""


@dataclass(frozen=True)
class ServerKeys:
    public: bytes
    secret: bytes
    authorized_dir: Path
    #: the admins' public keys, Z85 text (as the ZAP handler reports a client's key)
    admin_public: frozenset[str] = frozenset()
    #: each authorised public key (Z85) -> its file's name, the client's name in logs
    names: dict[str, str] = field(default_factory=dict)


def generate_keys(folder: Path, client: str = "client", admin: bool = False) -> list[Path]:
    """Make the server pair (once) and a pair for ``client``, authorised (and an admin if
    ``admin``); returns new files."""
    if not _NAME.match(client):
        raise KeyFileError(f"client name {client!r}: use letters, digits, '-' and '_' (at most 64)")
    folder = Path(folder)
    made: list[Path] = []
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    if not (folder / "server.key_secret").exists():
        made += [Path(p) for p in zmq.auth.create_certificates(folder, "server")]
    clients, authorized = folder / "clients", folder / "authorized_clients"
    clients.mkdir(exist_ok=True)
    authorized.mkdir(exist_ok=True)
    if (clients / f"{client}.key_secret").exists():
        raise KeyFileError(f"{clients / (client + '.key_secret')} exists; choose another client name")
    made += [Path(p) for p in zmq.auth.create_certificates(clients, client)]
    shutil.copy(clients / f"{client}.key", authorized / f"{client}.key")
    made.append(authorized / f"{client}.key")
    if admin:
        admins = folder / "admin_clients"
        admins.mkdir(exist_ok=True)
        shutil.copy(clients / f"{client}.key", admins / f"{client}.key")
        made.append(admins / f"{client}.key")
    return made


def _load(path: Path, secret: bool) -> tuple[bytes, bytes | None]:
    if not Path(path).is_file():
        raise KeyFileError(f"key file {path} does not exist")
    try:
        public, private = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"key file {path} is not a CurveZMQ certificate: {exc}") from None
    if secret and not private:
        raise KeyFileError(f"{path} holds no secret key (use the .key_secret file)")
    return public, private


def load_server_keys(folder: Path) -> ServerKeys:
    public, secret = _load(Path(folder) / "server.key_secret", secret=True)
    authorized = Path(folder) / "authorized_clients"
    if not authorized.is_dir() or not any(authorized.glob("*.key")):
        raise KeyFileError(f"{authorized} lists no client keys: run `mach keys generate {folder} --client NAME`")
    admins = frozenset(_load(p, secret=False)[0].decode("ascii")
                       for p in sorted((Path(folder) / "admin_clients").glob("*.key")))
    names = {_load(p, secret=False)[0].decode("ascii"): p.stem for p in sorted(authorized.glob("*.key"))}
    return ServerKeys(public, secret, authorized, admins, names)
