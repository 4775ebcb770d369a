"""Who a client is, as the server sees it, and what it may do (docs/protocol.md, "Identity").

The server never trusts a name a client picks. It derives every request's identity:

- with CurveZMQ keys (required beyond loopback): from the client's public key, which the ZAP
  handler has already checked against ``authorized_clients/``; admins are the keys also listed
  in ``admin_clients/`` (``mach keys generate DIR --client NAME --admin``);
- on loopback without keys: from the ``auth`` token in the request header, a secret the client
  reads from its per-user token file (:func:`token_file`, created 0600 on first use). Another OS
  user cannot read it, so cannot act as this user; the user who runs the server is its admin (the
  server reads its own user's token file at start). Requests without a token (clients from
  before identities) share one identity, :data:`ANONYMOUS`: never an admin, and apart from every
  client with a token.

An identity owns the jobs and batches it creates; only it (or an admin) can see, cancel, fetch or
edit them, and the per-client job limit counts per identity. Standard library only: the client,
and so the Unreal editor, imports it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

#: a per-user token file other than the default (tests, several users on one account)
TOKEN_FILE_ENV = "MACH_CLIENT_TOKEN_FILE"
#: the one identity of every loopback request without an ``auth`` token
ANONYMOUS = "anonymous"
#: what an ``auth`` token looks like: 32 to 128 URL-safe characters (``secrets.token_urlsafe``)
AUTH_PATTERN = r"^[A-Za-z0-9_-]{32,128}$"


def token_file() -> Path:
    """This OS user's token file: ``%APPDATA%\\MachCreator\\client.token`` on Windows,
    ``$XDG_CONFIG_HOME/machcreator/client.token`` (``~/.config``) elsewhere."""
    if os.environ.get(TOKEN_FILE_ENV):
        return Path(os.environ[TOKEN_FILE_ENV]).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "MachCreator" / "client.token"
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "machcreator" / "client.token"


def user_token(path: Path | None = None) -> str:
    """The token in ``path`` (default :func:`token_file`), made on first use, readable by this user only."""
    path = Path(path) if path is not None else token_file()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two processes starting at once agree on one token (the loser reads the winner's)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_urlsafe(32) + "\n")
    token = path.read_text(encoding="ascii").strip()
    if not re.fullmatch(AUTH_PATTERN, token):
        raise ValueError(f"{path} does not hold a client token (32-128 of A-Z a-z 0-9 _ -); delete it to make a new one")
    return token


def identity_of_token(token: str) -> str:
    """The identity of a loopback client: a hash of its token (the store never holds the secret)."""
    return "t_" + hashlib.sha256(token.encode()).hexdigest()[:24]


def identity_of_key(public_key_z85: str) -> str:
    """The identity of a CurveZMQ client: a hash of its public key."""
    return "k_" + hashlib.sha256(public_key_z85.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class ClientIdentity:
    """One request's client: ``id`` owns jobs and counts against limits; ``label`` is for logs."""

    id: str
    admin: bool
    label: str

    def may_see(self, owner: str) -> bool:
        return self.admin or owner == self.id
