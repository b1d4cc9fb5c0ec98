"""Every answer carries the security headers (errors, 413s, 500s and streams
too), no Server header names what runs us, and CORS exists only for the
origins DOUANE_CORS_ORIGINS names."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from services.keys.models import Role
from services.settings import SettingsError, load_settings
from tests.fake_upstream import start_fake

API_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cache-control": "no-store",
}
CLEAN = {"model": "auto", "messages": [{"role": "user", "content": "What is the capital of Portugal?"}]}
ORIGIN = "https://console.example.org"


def assert_secured(response: httpx.Response, *, docs: bool = False) -> None:
    expected = dict(API_HEADERS)
    if docs:
        expected["content-security-policy"] = "frame-ancestors 'none'"
    got = {name: response.headers.get(name) for name in expected}
    assert got == expected, f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert "server" not in response.headers, response.headers.get("server")
    assert "x-powered-by" not in response.headers


def test_every_kind_of_answer_carries_the_security_headers(gateway, make_key):
    app_key, auditor_key = make_key(Role.app), make_key(Role.auditor)
    with gateway.client() as anonymous, gateway.client(app_key) as app, gateway.client(auditor_key) as auditor:
        answers = {
            "health": anonymous.get("/healthz"),
            "metrics": anonymous.get("/metrics"),
            "openapi": anonymous.get("/openapi.json"),
            "decision": app.post("/v1/route", json=CLEAN),
            "401": anonymous.post("/v1/route", json=CLEAN),
            "403": app.get("/v1/decisions"),
            "404 route": anonymous.get("/v1/nothing-here"),
            "404 decision": auditor.get(f"/v1/decisions/{uuid.uuid4()}"),
            "405": anonymous.delete("/healthz"),
            "400": app.post("/v1/route", content=b"{", headers={"content-type": "application/json"}),
            "422": app.post("/v1/route", json={"model": "auto"}),
            "413": app.post("/v1/route", content=b"x" * (gateway.runtime.settings.max_body_bytes + 1)),
            "export (streamed)": auditor.get("/v1/decisions/export", params={"format": "csv"}),
        }
        docs = {path: anonymous.get(path) for path in ("/docs", "/redoc")}
    expected_status = {"401": 401, "403": 403, "404 route": 404, "404 decision": 404, "405": 405, "400": 400,
                       "422": 422, "413": 413}
    for name, response in answers.items():
        assert response.status_code == expected_status.get(name, 200), (name, response.text[:200])
        assert_secured(response)
    for response in docs.values():
        assert response.status_code == 200
        assert_secured(response, docs=True)


class CrashingDetector:
    def detect(self, texts):
        raise RuntimeError("a bug")


def test_a_crash_is_a_500_in_the_error_shape_with_the_headers(make_gateway, make_key):
    gateway = make_gateway(detector=CrashingDetector())
    with gateway.client(make_key(Role.app)) as client:
        response = client.post("/v1/route", json=CLEAN)
    assert response.status_code == 500
    assert response.json() == {
        "error": {"type": "internal_error", "message": "internal error; nothing was forwarded", "details": None}
    }
    assert_secured(response)


@pytest.fixture
def gated_upstream(tmp_path: Path):
    fake, stop = start_fake("fake-eu")
    fake.gate = threading.Event()
    fake.reply = lambda body: "a streamed answer in several pieces"
    entry = {
        "id": "fake-eu", "provider": "fake", "model": "fake-eu-model", "base_url": fake.base_url,
        "api_key_env": None, "jurisdiction": "FR", "region": "eu", "self_hosted": False,
        "price": {"input_per_mtok": 30.0, "output_per_mtok": 30.0}, "latency_p95_ms": 500,
    }
    catalog = tmp_path / "endpoints.yaml"
    catalog.write_text(yaml.safe_dump({"endpoints": [entry]}), encoding="utf-8")
    yield fake, catalog
    fake.gate.set()
    stop()


def test_a_chat_stream_still_streams_through_the_headers_middleware(make_gateway, make_key, gated_upstream):
    fake, catalog = gated_upstream
    gateway = make_gateway({"endpoints_file": catalog})
    with gateway.client(make_key(Role.app)) as client:
        with client.stream("POST", "/v1/chat/completions", json={**CLEAN, "stream": True}) as response:
            assert response.status_code == 200
            assert_secured(response)
            lines = response.iter_lines()
            # The upstream holds its answer after the first piece: that piece
            # must reach us now, not when the whole answer is done.
            first = next(line for line in lines if '"content": "a st' in line)
            assert first
            fake.gate.set()
            rest = list(lines)
    assert "data: [DONE]" in rest


# -- CORS --------------------------------------------------------------------


def preflight(client: httpx.Client, origin: str = ORIGIN) -> httpx.Response:
    return client.options(
        "/v1/route",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_without_configured_origins_there_is_no_cors_at_all(gateway, make_key):
    with gateway.client(make_key(Role.app)) as client:
        answers = [preflight(client), client.get("/v1/models", headers={"Origin": ORIGIN})]
    for response in answers:
        assert not [h for h in response.headers if h.startswith("access-control-")], dict(response.headers)
        assert_secured(response)


def test_configured_origins_and_only_those_may_call_from_a_browser(make_gateway, make_key):
    gateway = make_gateway({"cors_origins": [ORIGIN]})
    with gateway.client(make_key(Role.app)) as client:
        allowed = preflight(client)
        refused = preflight(client, "https://evil.example.net")
        simple = client.get("/v1/models", headers={"Origin": ORIGIN})
        foreign = client.get("/v1/models", headers={"Origin": "https://evil.example.net"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers
    assert_secured(allowed)
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    assert simple.status_code == 200 and simple.headers["access-control-allow-origin"] == ORIGIN
    assert "x-douane-decision-id" in simple.headers["access-control-expose-headers"]
    assert foreign.status_code == 200 and "access-control-allow-origin" not in foreign.headers


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", []),
        (f"{ORIGIN}, http://localhost:3000", [ORIGIN, "http://localhost:3000"]),
        (f'["{ORIGIN}"]', [ORIGIN]),
    ],
)
def test_cors_origins_setting_reads_a_list(monkeypatch, value, expected):
    monkeypatch.setenv("DOUANE_CORS_ORIGINS", value)
    assert load_settings().cors_origins == expected


@pytest.mark.parametrize("value", ["*", f"{ORIGIN}/", f"{ORIGIN}/app", "console.example.org", "[not json"])
def test_cors_origins_setting_refuses_what_is_not_an_origin(monkeypatch, value):
    monkeypatch.setenv("DOUANE_CORS_ORIGINS", value)
    with pytest.raises(SettingsError, match="DOUANE_CORS_ORIGINS"):
        load_settings()
