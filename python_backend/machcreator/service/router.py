"""The client-facing socket: who sent each request, whether they may, and which operation serves it.

A ROUTER socket (``--bind``, loopback by default; any other address needs CurveZMQ keys, checked
by a ZAP handler against the authorised client keys). Each message is decoded and checked against
its schema (service/messages.py), its sender's identity derived (service/identity.py), and handed
to its entry of :data:`~machcreator.service.operations.OPERATIONS`; the reply goes back to the
same connection. A bug in a handler becomes an ``internal`` error reply, never a dead server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import zmq

from machcreator.service import protocol as P
from machcreator.service.identity import ANONYMOUS, ClientIdentity, identity_of_key, identity_of_token, user_token
from machcreator.service.messages import parse_request
from machcreator.service.operations import OPERATIONS, Operations

log = logging.getLogger("machcreator.service")


class RouterError(Exception):
    """The client socket cannot be bound as configured (the server turns it into a ServeError)."""


class ClientRouter:
    """The front socket and the identities of the clients on it."""

    def __init__(self, ctx: zmq.Context, bind: str, keys_dir: Path | None) -> None:
        self.ctx, self.bind_address, self.keys_dir = ctx, bind, keys_dir
        self.sock: zmq.Socket | None = None
        self.auth = None
        self.admin_keys: set[str] = set()  # z85 public keys of admin clients (CURVE)
        self.key_names: dict[str, str] = {}  # z85 public key -> the client's name (its key file's)
        self.admin_ids: set[str] = set()  # identities of admin tokens (loopback)
        self.endpoint = bind

    @property
    def curve(self) -> bool:
        return self.keys_dir is not None

    def start(self) -> None:
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, P.MAX_FRAME_BYTES)
        self.sock.setsockopt(zmq.IPV6, "[" in self.bind_address)  # tcp://[::1]:5555 binds IPv6
        if self.curve:
            self._start_curve()
        else:
            # the user who runs the server is its admin: their own token file (their editor and scripts)
            self.admin_ids.add(identity_of_token(user_token()))
        try:
            self.sock.bind(self.bind_address)
        except zmq.ZMQError as exc:
            raise RouterError(f"cannot bind {self.bind_address}: {exc}") from None
        self.endpoint = self.sock.getsockopt(zmq.LAST_ENDPOINT).decode()

    def _start_curve(self) -> None:
        from zmq.auth.thread import ThreadAuthenticator

        from machcreator.service.keys import load_server_keys

        keys = load_server_keys(self.keys_dir)
        self.admin_keys, self.key_names = set(keys.admin_public), dict(keys.names)
        self.auth = ThreadAuthenticator(self.ctx, log=logging.getLogger("machcreator.service.zap"))
        self.auth.start()
        self.auth.configure_curve(domain="*", location=str(keys.authorized_dir))
        self.sock.curve_secretkey = keys.secret
        self.sock.curve_publickey = keys.public
        self.sock.curve_server = True

    def close(self) -> None:
        if self.auth is not None:
            self.auth.stop()
        if self.sock is not None:
            self.sock.close(0)

    def identify(self, request: Any, user_id: str | None) -> ClientIdentity:
        """Who sent ``request``: its CURVE key (``user_id``, checked by ZAP), else its ``auth`` token."""
        label = request.client or ""
        if user_id is not None:
            ident = identity_of_key(user_id)
            return ClientIdentity(ident, user_id in self.admin_keys, label or self.key_names.get(user_id, ident))
        if request.auth is None:
            # a client from before identities (an older plugin's copy of the client): all of them are
            # one identity, so they keep working together and stay apart from everyone with a token
            return ClientIdentity(ANONYMOUS, False, label or ANONYMOUS)
        ident = identity_of_token(request.auth)
        return ClientIdentity(ident, ident in self.admin_ids, label or ident)

    def on_frames(self, frames: list[zmq.Frame], ops: Operations) -> None:
        """Serve one message from a client."""
        identity = bytes(frames[0].buffer)
        user_id = frames[-1].get("User-Id") if self.auth is not None else None
        header: Any = None
        try:
            header, blob = P.decode([bytes(f.buffer) for f in frames[1:]])
            request = parse_request(header)
            operation = OPERATIONS[request.type]
            if blob is not None and not operation.takes_blob:
                raise P.ProtocolError("bad_frames", f"a {request.type} request has no binary frame")
            who = self.identify(request, user_id)
            if operation.admin and not who.admin:
                raise P.ProtocolError("forbidden", f"only an admin may ask for {request.type}")
            reply = operation.handler(ops, request, blob, who, identity)
        except P.ProtocolError as exc:
            self.reply(identity, {"type": "error", "re": P.request_id_of(header), "ok": False,
                                  "error": exc.as_error()})
            return
        except Exception as exc:  # a bug must not take the server down
            log.exception("internal error")
            self.reply(identity, {"type": "error", "re": P.request_id_of(header), "ok": False,
                                  "error": {"code": "internal", "message": f"{type(exc).__name__}: {exc}"}})
            return
        if reply is not None:
            header_out, blob_out = reply if isinstance(reply, tuple) else (reply, None)
            self.reply(identity, {"type": request.type, "re": request.id, "ok": True} | header_out, blob_out)

    def reply(self, identity: bytes, header: dict[str, Any], blob: bytes | None = None) -> None:
        try:
            self.sock.send_multipart([identity, *P.encode(header, blob)], zmq.NOBLOCK)
        except zmq.Again:
            pass  # the client is gone or not reading: it will ask again (Lazy Pirate)

