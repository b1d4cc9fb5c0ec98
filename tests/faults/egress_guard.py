"""Run ``douane`` with an egress guard installed before anything of it is imported.

    python tests/faults/egress_guard.py serve --host 127.0.0.1 --port N

Environment: ``EGRESS_ALLOWED`` (JSON list of "host:port" the process may
connect to), ``EGRESS_LOG`` (a file; one JSON line per connection attempt and
name lookup, each marked allowed or refused). Every other attempt is refused
(ConnectionRefusedError, socket.gaierror) and logged with where it came from.

What Python code does goes through socket.socket.connect/connect_ex (asyncio,
httpx, requests, urllib all end there) and socket.getaddrinfo/gethostbyname;
those are patched. libpq (psycopg) opens its database connection in C, which
this cannot see; the test checks the process's sockets in /proc for that.
"""

from __future__ import annotations

import json
import os
import runpy
import socket
import sys
import threading
import traceback
from pathlib import Path

ALLOWED = frozenset(json.loads(os.environ["EGRESS_ALLOWED"]))
ALLOWED_HOSTS = frozenset(a.rsplit(":", 1)[0] for a in ALLOWED)
LOG = os.environ["EGRESS_LOG"]
_lock = threading.Lock()

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo
_gethostbyname = socket.gethostbyname
_gethostbyname_ex = socket.gethostbyname_ex


def _record(kind: str, target: str, allowed: bool) -> None:
    entry = {"kind": kind, "target": target, "allowed": allowed}
    if not allowed:
        entry["where"] = "".join(traceback.format_stack(limit=12)[:-2])[-3000:]
    with _lock, open(LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def _target(sock: socket.socket, address) -> str | None:
    """host:port for an internet socket; None for the others (AF_UNIX, socketpairs)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return f"{address[0]}:{address[1]}"


def connect(self, address):
    target = _target(self, address)
    if target is not None:
        allowed = target in ALLOWED
        _record("connect", target, allowed)
        if not allowed:
            raise ConnectionRefusedError(111, f"egress to {target} is not allowed")
    return _connect(self, address)


def connect_ex(self, address):
    target = _target(self, address)
    if target is not None:
        allowed = target in ALLOWED
        _record("connect_ex", target, allowed)
        if not allowed:
            return 111  # ECONNREFUSED
    return _connect_ex(self, address)


def getaddrinfo(host, port, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and name not in ALLOWED_HOSTS:
        _record("getaddrinfo", f"{name}:{port}", False)
        raise socket.gaierror(socket.EAI_NONAME, f"name lookup of {name} is not allowed")
    return _getaddrinfo(host, port, *args, **kwargs)


def gethostbyname(name):
    if name not in ALLOWED_HOSTS:
        _record("gethostbyname", name, False)
        raise socket.gaierror(socket.EAI_NONAME, f"name lookup of {name} is not allowed")
    return _gethostbyname(name)


def gethostbyname_ex(name):
    if name not in ALLOWED_HOSTS:
        _record("gethostbyname_ex", name, False)
        raise socket.gaierror(socket.EAI_NONAME, f"name lookup of {name} is not allowed")
    return _gethostbyname_ex(name)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname
socket.gethostbyname_ex = gethostbyname_ex

if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    sys.path[0] = str(root)  # not tests/faults: douane is imported from the repository root
    sys.argv = ["douane", *sys.argv[1:]]
    runpy.run_module("services.cli", run_name="__main__", alter_sys=True)
