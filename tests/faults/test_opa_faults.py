"""DOUANE_POLICY_ENGINE=opa while the OPA server fails, through the real app.

tests/policy/test_opa_server.py checks the adapter alone (each failure is a
PolicyError). Here the whole gateway runs against tests/opa_fake.py and the
server goes down (connection refused), slow (beyond the adapter's 2 s
timeout, OpaServerEngine's default), answers OPA's error shape, garbage, an
undefined decision or a plan naming an endpoint that was never a candidate.
Each time: 503 in the one error shape, quickly; a decision row with status
error and ``policy_failed``; nothing forwarded. When the server is back the
same gateway answers 200 again, with no restart.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
from sqlalchemy import text

from services.db import make_engine
from tests.faults.conftest import assert_error_shape
from tests.opa_fake import running_opa
from tests.live import ROOT

OPA_TIMEOUT_S = 2.0  # OpaServerEngine's default; not a setting (see the report)
QUICK_S = 1.0  # a refused or broken answer must not take longer than this
CLEAN = {"model": "auto", "messages": [{"role": "user", "content": "Name a river in France."}]}


def _take_server_down(opa) -> None:
    """Close the listening socket: connections to the port are refused."""
    opa.shutdown()
    opa.server_close()


def _bring_server_back(opa, port: int):
    """The same fake, listening again on the same port."""
    opa.socket = socket.socket(opa.address_family, opa.socket_type)
    opa.server_address = ("127.0.0.1", port)
    opa.server_bind()
    opa.server_activate()
    threading.Thread(target=opa.serve_forever, daemon=True).start()


def _decision_row(database_url: str, decision_id: str):
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT status, allowed, endpoint, policy_engine, error FROM decisions WHERE id = :id"),
                {"id": uuid.UUID(decision_id)},
            ).one()
    finally:
        engine.dispose()


ALL_APIS = (("/v1/route", CLEAN), ("/v1/chat/completions", CLEAN), ("/v1/chat/completions", {**CLEAN, "stream": True}))


def _refused_and_recorded(client, database_url: str, upstreams, bound_s: float, match: str | None = None,
                          apis=ALL_APIS) -> None:
    for path, body in apis:
        started = time.monotonic()
        response = client.post(path, json=body)
        took = time.monotonic() - started
        error = assert_error_shape(response, 503, "service_unavailable")
        assert took < bound_s, f"{path} took {took:.2f} s (bound {bound_s} s)"
        assert error["details"]["type"] == "policy_failed"
        if match:
            assert match in error["message"], error["message"]
        status, allowed, endpoint, engine, recorded = _decision_row(database_url, error["details"]["decision_id"])
        assert (status, allowed, endpoint, engine) == ("error", False, None, "opa")
        assert recorded["type"] == "policy_failed"
    assert not any(fake.take() for fake in upstreams.values()), "forwarded while the policy could not decide"


def _serves(client, upstreams) -> None:
    route = client.post("/v1/route", json=CLEAN)
    assert route.status_code == 200, route.text
    assert route.json()["policy"]["engine"] == "opa"
    chat = client.post("/v1/chat/completions", json=CLEAN)
    assert chat.status_code == 200, chat.text
    planned = route.json()["route"]["endpoint"]
    assert chat.headers["x-douane-endpoint"] == planned
    assert [r.body["model"] for r in upstreams[planned].take()] == [f"{planned}-model"]


@pytest.mark.parametrize(
    "mode, bound_s, match",
    [
        ("error", QUICK_S, "HTTP 500"),  # OPA's error shape {"code", "message"}
        ("garbage", QUICK_S, "could not be queried"),  # 200 with a body that is not JSON
        ("undefined", QUICK_S, "undefined"),  # {} : data.douane.decision has no value
        ("wrong-plan", QUICK_S, "somewhere-else"),  # a plan naming an endpoint never offered
        ("slow", OPA_TIMEOUT_S + 1.0, "could not be queried"),  # 3 s: beyond the adapter's timeout
    ],
)
def test_opa_answering_badly_is_503_and_the_gateway_recovers(
    mode, bound_s, match, serve_gateway, fault_upstreams, database_url, make_key, tenant
):
    with running_opa(ROOT / "policies") as opa:
        gateway = serve_gateway(database_url, policy_engine="opa", opa_url=opa.url)
        with gateway.client(make_key("app", tenant)) as client:
            _serves(client, fault_upstreams)
            opa.mode = mode
            # A slow server costs the timeout per request: one stream request is enough there.
            apis = ALL_APIS[2:] if mode == "slow" else ALL_APIS
            _refused_and_recorded(client, database_url, fault_upstreams, bound_s, match, apis)
            opa.mode = "ok"
            _serves(client, fault_upstreams)


def test_opa_down_is_503_recorded_and_service_resumes_when_it_returns(
    serve_gateway, fault_upstreams, database_url, make_key, tenant
):
    with running_opa(ROOT / "policies") as opa:
        port = opa.server_address[1]
        gateway = serve_gateway(database_url, policy_engine="opa", opa_url=opa.url)
        with gateway.client(make_key("app", tenant)) as client:
            _serves(client, fault_upstreams)
            _take_server_down(opa)
            _refused_and_recorded(client, database_url, fault_upstreams, QUICK_S, "could not be queried")
            _bring_server_back(opa, port)
            _serves(client, fault_upstreams)
