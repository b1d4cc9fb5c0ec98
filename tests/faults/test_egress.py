"""Egress: the gateway connects to its database, the catalog's endpoints and
(when configured) the OPA server, and to nothing else.

``douane serve`` runs in a subprocess started through tests/faults/egress_guard.py,
which patches socket connect/connect_ex and name lookups before douane is
imported: an attempt to reach anything but the allowed host:ports is refused
and logged. The gateway's own start-up (the Presidio/spaCy detector, the
policy compile, the catalog) happens under the guard, then this test drives
the full path over HTTP: keys, /v1/route, chat completions stream and not,
the catalog and models, the decision log, audit verify and report, the
policy's view, dry run and a hot reload of a changed policy. Finally no
attempt may have been refused, and every TCP socket the process holds
(/proc, which also sees libpq's connections made in C) is either to an
allowed address or a client's connection to the gateway's own port.

Client-side connections (this test to the gateway) come from this process,
not the guarded one, so they need no separating.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from openai import OpenAI
from sqlalchemy.engine import make_url

from tests.faults.conftest import free_port, write_catalog
from tests.live import ROOT
from tests.opa_fake import running_opa
from tests.providers.conftest import KEY_ENV

GUARD = Path(__file__).with_name("egress_guard.py")
START_S = 90  # the detector loads spaCy models: generous on a busy machine
PERSONAL = "Write a polite reminder to jane.doe@example.org about the unpaid invoice"
CLEAN = "Name a river in France."


def _host_port(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port}"


def _proc_tcp(pid: int) -> list[tuple[str, str, str]]:
    """(local, remote, state) of every TCP socket process ``pid`` holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    states = {"01": "ESTABLISHED", "02": "SYN_SENT", "0A": "LISTEN"}
    out = []
    for table, width in (("tcp", 4), ("tcp6", 16)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] not in inodes:
                continue
            out.append((_address(fields[1], width), _address(fields[2], width), states.get(fields[3], fields[3])))
    return out


def _address(hexed: str, width: int) -> str:
    host, port = hexed.split(":")
    raw = bytes.fromhex(host)
    # /proc prints each 32-bit word in host (little-endian) order.
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    if width == 4:
        ip = ".".join(str(b) for b in raw)
    elif raw[:12] == b"\0" * 10 + b"\xff\xff":
        ip = ".".join(str(b) for b in raw[12:])  # IPv4-mapped
    else:
        ip = ":".join(raw[i:i + 2].hex() for i in range(0, 16, 2))
    return f"{ip}:{int(port, 16)}"


def _start(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    stderr = open(log_path.with_suffix(".stderr"), "wb")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(
        [sys.executable, str(GUARD), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
    )
    deadline = time.monotonic() + START_S
    while True:
        if server.poll() is not None:
            raise AssertionError("douane serve exited: " + log_path.with_suffix(".stderr").read_text()[-3000:])
        assert time.monotonic() < deadline, "douane serve did not start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)


@pytest.mark.parametrize("engine", ["embedded", "opa"])
def test_the_gateway_connects_only_where_it_is_allowed(
    engine, tmp_path, fault_upstreams, database_url, make_key, tenant
):
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    catalog = write_catalog(tmp_path / "endpoints.yaml", fault_upstreams)
    database = make_url(database_url)
    allowed = {f"{database.host}:{database.port or 5432}"} | {_host_port(f.base_url) for f in fault_upstreams.values()}
    port = free_port()
    log_path = tmp_path / "egress.jsonl"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DOUANE_") or k == KEY_ENV},
        "DOUANE_DATABASE_URL": database_url,
        "DOUANE_POLICY_DIR": str(policies),
        "DOUANE_ENDPOINTS_FILE": str(catalog),
        "DOUANE_POLICY_WATCH": "false",
        "DOUANE_POLICY_ENGINE": engine,
        "EGRESS_LOG": str(log_path),
        # Proxies in the environment must not matter: the upstream client ignores them.
        "HTTPS_PROXY": "http://proxy.invalid:3128",
        "HTTP_PROXY": "http://proxy.invalid:3128",
    }
    keys = {role: make_key(role, tenant) for role in ("app", "auditor", "dpo")}

    with running_opa(policies) as opa:
        if engine == "opa":
            env["DOUANE_OPA_URL"] = opa.url
            allowed.add(_host_port(opa.url))
        env["EGRESS_ALLOWED"] = json.dumps(sorted(allowed))
        started = time.monotonic()
        server = _start(env, port, log_path)
        print(f"\n{engine}: douane serve up in {time.monotonic() - started:.1f} s")
        try:
            base = f"http://127.0.0.1:{port}"
            _full_path(base, keys, policies, fault_upstreams)
            sockets = _proc_tcp(server.pid)
        finally:
            stopping = time.monotonic()
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
                print(f"{engine}: stopped in {time.monotonic() - stopping:.1f} s")
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if engine == "opa":
            assert opa.requests, "the OPA engine never asked the OPA server"

    attempts = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
    refused = [a for a in attempts if not a["allowed"]]
    assert not refused, "egress refused:\n" + "\n".join(f"{a['kind']} {a['target']}\n{a.get('where', '')}" for a in refused)
    # The guard saw the upstream traffic, so it was in place (not bypassed).
    reached = {a["target"] for a in attempts if a["allowed"]}
    assert _host_port(fault_upstreams["fake-cn"].base_url) in reached
    # libpq connects in C: the sockets in /proc show the database connections too.
    outbound = {remote for local, remote, state in sockets if state in ("ESTABLISHED", "SYN_SENT")
                and not local.endswith(f":{port}")}
    assert outbound, sockets
    assert outbound <= allowed, sorted(outbound - allowed)
    assert f"{database.host}:{database.port or 5432}" in outbound


def _full_path(base: str, keys: dict[str, str], policies: Path, upstreams) -> None:
    def client(role: str) -> httpx.Client:
        return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys[role]}"}, timeout=30)

    with client("app") as app:
        app.get("/readyz")  # reaches the database; its verdict is tests/gateway's business
        for content in (CLEAN, PERSONAL):
            routed = app.post("/v1/route", json={"model": "auto", "messages": [{"role": "user", "content": content}]})
            assert routed.status_code == 200 and routed.json()["allowed"], routed.text
        assert app.get("/v1/models").status_code == 200
        assert app.get("/v1/endpoints").status_code == 200
        assert app.get("/metrics").status_code == 200

    sdk = OpenAI(base_url=f"{base}/v1", api_key=keys["app"], max_retries=0, timeout=30)
    answer = sdk.chat.completions.create(model="auto", messages=[{"role": "user", "content": CLEAN}])
    assert answer.choices[0].message.content == f"You said: {CLEAN}"
    streamed = sdk.chat.completions.create(model="auto", messages=[{"role": "user", "content": PERSONAL}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    sdk.close()
    assert upstreams["fake-cn"].take() and any(upstreams[n].take() for n in ("fake-eu", "fake-eu-self"))

    with client("auditor") as auditor:
        page = auditor.get("/v1/decisions")
        assert page.status_code == 200 and page.json()["data"], page.text
        verified = auditor.get("/v1/audit/verify")
        assert verified.status_code == 200 and verified.json()["ok"], verified.text
        assert auditor.get("/v1/audit/report").status_code == 200
        assert auditor.get("/v1/decisions/export", params={"format": "jsonl"}).status_code == 200

    with client("dpo") as dpo:
        before = dpo.get("/v1/policy").json()["revision"]
        dry = dpo.post("/v1/policy/evaluate",
                       json={"request": {"model": "auto", "messages": [{"role": "user", "content": PERSONAL}]}})
        assert dry.status_code == 200, dry.text
        with (policies / "douane" / "decision.rego").open("a") as rego:
            rego.write("\n# changed by the egress test\n")
        reloaded = dpo.post("/v1/policy/reload")
        assert reloaded.status_code == 200 and reloaded.json()["status"] == "loaded", reloaded.text
        assert dpo.get("/v1/policy").json()["revision"] not in (before, None)
