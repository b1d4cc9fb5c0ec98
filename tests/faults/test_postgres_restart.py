"""Postgres stopped and started again under traffic, the gateway left running.

Several client threads send POST /v1/route, /v1/chat/completions and its
stream through an in-thread gateway whose audit database is a private
cluster. The cluster is stopped (``pg_ctl stop -m fast``, then in a second
round ``-m immediate``, a crash) and started again. What must hold:

- while it is down every request is answered 503 ``database_unavailable`` in
  the one error shape, within DOWN_ANSWER_S (no hang);
- no upstream ever receives a request that was not answered 200 with a
  decision id, and no request answered 503 reached an upstream;
- once the cluster is back, the same gateway process answers 200 again
  within RECOVERY_S, by itself;
- every decision id answered 200 (before, during the stop, after) is in the
  decisions table, and both hash chains verify.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import text

from services.audit.verify import verify
from services.db import CONNECT_TIMEOUT_S, make_engine
from services.gateway.app import build_runtime, create_app
from tests.conftest import new_tenant
from tests.fake_upstream import serve_app
from tests.faults.conftest import assert_error_shape, new_key
from tests.live import make_settings

CLIENTS = 6
PHASE_S = 1.2  # traffic in each phase: up, down, back up
DOWN_ANSWER_S = 3.0  # bound on any answer while the database is down
RECOVERY_S = 10.0  # bound on the first 200 after the cluster accepts connections again
ANY_ANSWER_S = 15.0  # no request, in any phase, may take longer than this


@dataclass
class Sent:
    marker: str
    api: str
    started: float
    ended: float
    status: int
    decision_id: str | None
    error_type: str | None
    shape_ok: bool


def _one(client: httpx.Client, api: str, marker: str) -> Sent:
    body = {"model": "auto", "messages": [{"role": "user", "content": f"Name a river in France. Ref {marker}."}]}
    started = time.monotonic()
    decision_id = error_type = None
    shape_ok = True
    if api == "stream":
        with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
            raw = response.read()
        status = response.status_code
        if status == 200:
            decision_id = response.headers["x-douane-decision-id"]
            assert raw.rstrip().endswith(b"data: [DONE]"), raw[-300:]
    else:
        response = client.post("/v1/route" if api == "route" else "/v1/chat/completions", json=body)
        status = response.status_code
        if status == 200:
            decision_id = response.json()["decision_id"] if api == "route" else response.headers["x-douane-decision-id"]
    if status != 200:
        try:
            payload = json.loads(raw) if api == "stream" else response.json()
            shape_ok = set(payload) == {"error"} and {"type", "message"} <= set(payload["error"])
            error_type = payload["error"].get("type")
        except (ValueError, KeyError, TypeError):
            shape_ok = False
    return Sent(marker, api, started, time.monotonic(), status, decision_id, error_type, shape_ok)


def _traffic(base_url: str, key: str, stop: threading.Event, sent: list[Sent], failures: list[str]):
    apis = ("route", "chat", "stream")
    counter = itertools.count()

    def client_loop(index: int) -> None:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=ANY_ANSWER_S) as client:
            for n in itertools.count(index):
                api = apis[n % len(apis)]
                if stop.is_set():
                    return
                marker = f"rq-{index}-{next(counter):06d}"
                try:
                    sent.append(_one(client, api, marker))
                    if sent[-1].status != 200:
                        time.sleep(0.02)  # refusals are instant: do not spin the shared machine's cores
                except Exception as exc:  # noqa: BLE001 - a client-side failure is a test failure, reported below
                    failures.append(f"{marker} {api}: {type(exc).__name__}: {exc}")

    return [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(CLIENTS)]


def _probe_until_200(base_url: str, key: str, bound: float) -> float:
    """Seconds until POST /v1/route answers 200 again."""
    started = time.monotonic()
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=5) as client:
        while True:
            response = client.post("/v1/route", json={"model": "auto", "messages": [{"role": "user", "content": "hi"}]})
            if response.status_code == 200:
                return time.monotonic() - started
            assert_error_shape(response, 503, "database_unavailable")
            assert time.monotonic() - started < bound, f"the gateway did not serve again within {bound} s"
            time.sleep(0.1)


def test_postgres_stopped_and_restarted_mid_traffic(private_postgres, serve_gateway, fault_upstreams):
    database_url = private_postgres.url
    tenant = new_tenant()
    key = new_key(database_url, tenant, "app")
    gateway = serve_gateway(database_url)

    sent: list[Sent] = []
    failures: list[str] = []
    stop = threading.Event()
    threads = _traffic(gateway.base_url, key, stop, sent, failures)
    for thread in threads:
        thread.start()
    windows = []  # (down_from, down_until, mode): when the cluster was certainly down
    recoveries = {}
    stop_called: list[float] = []
    try:
        time.sleep(PHASE_S)
        for mode in ("fast", "immediate"):
            stop_called.append(time.monotonic())
            private_postgres.stop(mode)
            down_from = time.monotonic()
            time.sleep(PHASE_S)
            down_until = time.monotonic()
            private_postgres.start()
            windows.append((down_from, down_until, mode))
            recoveries[mode] = _probe_until_200(gateway.base_url, key, RECOVERY_S)
            time.sleep(PHASE_S)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=ANY_ANSWER_S + 5)
        if not private_postgres.running():
            private_postgres.start()

    assert not failures, failures[:5]
    assert all(not t.is_alive() for t in threads), "a client is still waiting for an answer"
    statuses = {s.status for s in sent}
    assert statuses <= {200, 503}, sorted((s.status, s.api, s.error_type) for s in sent if s.status not in (200, 503))
    bad_shape = [s for s in sent if s.status != 200 and not s.shape_ok]
    assert not bad_shape, bad_shape[:3]
    assert {s.error_type for s in sent if s.status == 503} <= {"database_unavailable"}
    slowest = max(s.ended - s.started for s in sent)
    assert slowest < ANY_ANSWER_S

    for down_from, down_until, mode in windows:
        during = [s for s in sent if s.started >= down_from and s.ended <= down_until]
        assert during, f"no request fell inside the -m {mode} outage"
        assert all(s.status == 503 for s in during), [(s.api, s.status) for s in during if s.status != 503]
        slow = [round(s.ended - s.started, 2) for s in during if s.ended - s.started > DOWN_ANSWER_S]
        assert not slow, f"answers while the database was down took {slow} s (bound {DOWN_ANSWER_S} s)"
        # Traffic after the restart answered 200 again (the probe proved one; the clients too).
        after = [s for s in sent if s.started > down_until + recoveries[mode]]
        assert any(s.status == 200 for s in after), f"no 200 after the -m {mode} restart"

    # Nothing forwarded that was not answered 200 with a committed decision.
    forwarded = {}
    for fake in fault_upstreams.values():
        for request in fake.take():
            content = request.body["messages"][-1]["content"]
            marker = content.rsplit("Ref ", 1)[1].rstrip(".")
            forwarded[marker] = fake.name
    by_marker = {s.marker: s for s in sent}
    refused = {m for m, s in by_marker.items() if s.status != 200}
    assert not refused & set(forwarded), sorted(refused & set(forwarded))[:5]
    assert set(forwarded) <= {m for m, s in by_marker.items() if s.status == 200 and s.api != "route"}
    answered_chats = {m for m, s in by_marker.items() if s.status == 200 and s.api != "route"}
    assert answered_chats <= set(forwarded)  # every 200 chat answer came from an upstream

    answered = {s.decision_id for s in sent if s.status == 200}
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = {
                str(row[0])
                for row in connection.execute(text("SELECT id FROM decisions WHERE tenant = :t"), {"t": tenant})
            }
            with_outcome = {
                str(row[0])
                for row in connection.execute(text("SELECT decision_id FROM outcomes WHERE tenant = :t"), {"t": tenant})
            }
        missing = answered - stored
        assert not missing, f"{len(missing)} decisions answered 200 are not in the log: {sorted(missing)[:3]}"
        report = verify(engine)
        assert report.ok, report.first_broken
    finally:
        engine.dispose()
    # An answered chat's outcome is committed before its answer (or [DONE]) is
    # sent, while the database is up; one whose answer completed during an
    # outage is logged and left out (services.providers.exchange: the
    # decision is recorded, the answer already on its way).
    settled = windows[-1][1] + recoveries[windows[-1][2]]
    calm = [s for s in sent if s.status == 200 and s.api != "route"
            and (s.ended < stop_called[0] or s.started > settled)]
    assert calm and all(s.decision_id in with_outcome for s in calm)
    chats = [s for s in sent if s.status == 200 and s.api != "route"]
    no_outcome = sum(s.decision_id not in with_outcome for s in chats)
    assert len(answered) >= 20 and len(refused) >= 4, (len(answered), len(refused))
    print(f"\n{len(sent)} requests, {len(answered)} answered 200, {len(refused)} refused 503; "
          f"slowest {slowest:.2f} s; back to 200 after restart: "
          + ", ".join(f"-m {m}: {r:.2f} s" for m, r in recoveries.items())
          + f"; {no_outcome} of {len(chats)} answered chats have no outcome row (finished during an outage)")


def test_a_database_that_accepts_and_never_answers_is_503_within_the_connect_timeout(real_detector, policy_engine):
    """A frozen Postgres (or a host dropping packets): the TCP handshake
    completes, the server never speaks. libpq alone would wait forever; the
    engine's default connect_timeout (services.db) bounds it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the kernel completes handshakes; nobody ever accepts
    url = f"postgresql+psycopg://postgres@127.0.0.1:{listener.getsockname()[1]}/douane"  # no connect_timeout of its own
    runtime = build_runtime(make_settings(url), detector=real_detector, policy=policy_engine)
    # lifespan off: what is under test is a request's own wait, not start-up.
    base_url, stop = serve_app(create_app(runtime), lifespan="off")
    try:
        started = time.monotonic()
        response = httpx.post(
            f"{base_url}/v1/route",
            json={"model": "auto", "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": "Bearer dk_k_0123456789abcdef_" + "A" * 43},
            timeout=CONNECT_TIMEOUT_S + 10,
        )
        took = time.monotonic() - started
    finally:
        stop()
        runtime.db_engine.dispose()
        listener.close()
    assert_error_shape(response, 503, "database_unavailable")
    assert took < CONNECT_TIMEOUT_S + 3, f"answered after {took:.1f} s"
