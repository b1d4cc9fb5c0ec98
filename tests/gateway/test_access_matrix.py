"""Who may call what, proved for every route the app serves.

The routes come from the app itself, so a route added later is in the matrix
the moment it exists, and this file fails until ACCESS says who may call it.
Every route is tried by every role, with no key, and with keys that must not
work (malformed, unknown, revoked, a real key id with a wrong secret). Then the
routes that read a tenant's rows are tried across two tenants.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from services.db import make_engine, make_sessionmaker
from services.gateway.app import build_runtime, create_app
from services.keys import service as key_service
from services.keys.models import Role
from tests.conftest import new_tenant
from tests.live import LiveGateway, make_settings, serve_in_thread

PUBLIC = "public"
AUDITORS = frozenset({Role.auditor, Role.platform_auditor})


@dataclass(frozen=True)
class Console:
    """A console page (services/console): HTML, the key in a cookie, not a
    header. Without a valid cookie the browser is sent to the login page (303);
    a role it does not serve gets a 403 page. ``roles=None``: no key needed."""

    roles: frozenset[Role] | None


CONSOLE_AUDITORS = Console(frozenset({Role.auditor, Role.platform_auditor}))
CONSOLE_DPO = Console(frozenset({Role.dpo}))
CONSOLE_OPEN = Console(None)
COOKIE = "douane_console_key"

# (method, path template) -> the roles that may call it (admin may call every
# keyed route), or PUBLIC. A new route fails test_every_route_is_classified
# until it is added here.
ACCESS: dict[tuple[str, str], frozenset[Role] | str] = {
    ("POST", "/v1/chat/completions"): frozenset({Role.app}),
    ("POST", "/v1/route"): frozenset({Role.app}),
    ("GET", "/v1/models"): frozenset({Role.app}),
    ("GET", "/v1/endpoints"): frozenset({Role.app}),
    ("GET", "/v1/decisions"): AUDITORS,
    ("GET", "/v1/decisions/export"): AUDITORS,
    ("GET", "/v1/decisions/{decision_id}"): AUDITORS,
    ("GET", "/v1/audit/verify"): AUDITORS,
    ("GET", "/v1/audit/report"): AUDITORS,
    ("GET", "/v1/policy"): frozenset({Role.dpo}),
    ("POST", "/v1/policy/reload"): frozenset({Role.dpo}),
    ("POST", "/v1/policy/evaluate"): frozenset({Role.dpo}),
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/console/"): Console(frozenset({Role.auditor, Role.platform_auditor, Role.dpo})),
    ("GET", "/console/login"): CONSOLE_OPEN,
    ("POST", "/console/login"): CONSOLE_OPEN,
    ("POST", "/console/logout"): CONSOLE_OPEN,
    ("GET", "/console/decisions"): CONSOLE_AUDITORS,
    ("GET", "/console/decisions/{decision_id}"): CONSOLE_AUDITORS,
    ("GET", "/console/traffic"): CONSOLE_AUDITORS,
    ("GET", "/console/spend"): CONSOLE_AUDITORS,
    ("GET", "/console/verify"): CONSOLE_AUDITORS,
    ("POST", "/console/verify"): CONSOLE_AUDITORS,
    ("GET", "/console/policy"): CONSOLE_DPO,
    ("POST", "/console/policy/tests"): CONSOLE_DPO,
    ("POST", "/console/policy/whatif"): CONSOLE_DPO,
    ("Mount", "/console/static"): PUBLIC,  # htmx and the stylesheet
}

CLEAN = {"model": "auto", "messages": [{"role": "user", "content": "What is the capital of Portugal?"}]}
PERSONAL = {"model": "auto", "messages": [{"role": "user", "content": "Write to anna.schmidt@example.org about her order."}]}

# What each keyed route is sent: enough to pass validation, never enough to
# forward anything (an unknown model is refused after authentication, 404).
REQUESTS: dict[tuple[str, str], dict] = {
    ("POST", "/v1/chat/completions"): {"json": {**CLEAN, "model": "no-such-model"}},
    ("POST", "/v1/route"): {"json": CLEAN},
    ("POST", "/v1/policy/evaluate"): {"json": {"request": CLEAN}},
    ("POST", "/v1/policy/reload"): {},
    # An empty what-if form: refused (400) after the role check, nothing replayed.
    ("POST", "/console/policy/whatif"): {"data": {"candidate": ""}},
    ("POST", "/console/verify"): {"data": {"since": "2999-01-01T00:00"}},  # a period without rows: quick
}
PATH_PARAMETERS = {"decision_id": str(uuid.uuid4())}


def app_routes(app, prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers and
    mounted apps (the console) flattened; HEAD, which Starlette adds beside
    GET, is GET's twin. A route that is not a plain route (a mount of static
    files, a websocket) is listed by its type, so it fails the classification
    until this file learns to try it."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount) and isinstance(route.app, Starlette):
            found += app_routes(route.app, prefix + route.path)
            continue
        if not isinstance(route, (APIRoute, Route)):
            found.append((type(route).__name__, prefix + (context.path or getattr(route, "path", repr(route)))))
            continue
        found += [(method, prefix + context.path) for method in sorted(context.methods or ()) if method != "HEAD"]
    return found


def _key_id(key: str) -> str:
    return key[len("dk_") : len("dk_k_") + 16]


def _secret(key: str) -> str:
    # Not rsplit("_"): the URL-safe secret may itself hold "_".
    return key[len("dk_k_") + 16 + 1 :]


@dataclass
class Keys:
    by_role: dict[Role, str]
    revoked: str
    wrong_secret: str


@pytest.fixture(scope="module")
def live(database_url, real_detector, policy_engine) -> Iterator[LiveGateway]:
    """A gateway of this module's own: the DPO's reload must not touch the shared one."""
    gateway, stop = serve_in_thread(
        build_runtime(make_settings(database_url), detector=real_detector, policy=policy_engine)
    )
    yield gateway
    stop()


@pytest.fixture(scope="module")
def routes(live) -> list[tuple[str, str]]:
    return app_routes(create_app(live.runtime))


@pytest.fixture(scope="module")
def keys(make_key, database_url) -> Keys:
    tenant = new_tenant()
    by_role = {role: make_key(role, tenant) for role in Role}
    revoked = make_key(Role.admin, tenant)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE id = :id"), {"id": _key_id(revoked)}
        )
    engine.dispose()
    admin = by_role[Role.admin]
    # A real admin key id with a secret of the right shape that is not its own.
    wrong_secret = admin[:-43] + ("A" * 43 if not admin.endswith("A" * 43) else "B" * 43)
    return Keys(by_role=by_role, revoked=revoked, wrong_secret=wrong_secret)


def _call(client, method: str, path: str, headers: dict[str, str]):
    if method == "Mount":  # static files: one of them
        return client.get(f"{path}/htmx.min.js", headers=headers)
    concrete = path.format(**PATH_PARAMETERS)
    if isinstance(ACCESS.get((method, path)), Console):
        headers = _as_console(client, headers)
    return client.request(method, concrete, headers=headers, **REQUESTS.get((method, path), {}))


def _as_console(client, headers: dict[str, str]) -> dict[str, str]:
    """What a browser sends the console: the key (if any) in the cookie, and
    the console's own Origin (its forms are refused without it)."""
    authorization = headers.get("Authorization", "")
    key = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else ""
    console = {"Origin": str(client.base_url).rstrip("/")}
    if key:
        console["Cookie"] = f"{COOKIE}={key}"
    return console


def _sent_to_login(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/console/login")


def _console_page_refused(response) -> bool:
    return (
        response.status_code == 403
        and "text/html" in response.headers["content-type"]
        and 'data-testid="error"' in response.text
    )


def test_every_route_is_classified(routes):
    unclassified = [f"{method} {path}" for method, path in routes if (method, path) not in ACCESS]
    assert not unclassified, (
        "routes without an expected role in tests/gateway/test_access_matrix.py ACCESS "
        f"(say who may call them): {unclassified}"
    )
    stale = [f"{m} {p}" for m, p in ACCESS if (m, p) not in set(routes)]
    assert not stale, f"ACCESS lists routes the app no longer serves: {stale}"


UNAUTHENTICATED = {
    "no key": lambda keys: {},
    "bearer without a key": lambda keys: {"Authorization": "Bearer"},
    "basic auth": lambda keys: {"Authorization": "Basic dXNlcjpwYXNz"},
    "malformed key": lambda keys: {"Authorization": "Bearer not-a-key"},
    "key without prefix": lambda keys: {"Authorization": "Bearer " + keys.by_role[Role.admin][3:]},
    "unknown key id": lambda keys: {"Authorization": "Bearer dk_k_0000000000000000_" + "A" * 43},
    "revoked key": lambda keys: {"Authorization": f"Bearer {keys.revoked}"},
    "right id, wrong secret": lambda keys: {"Authorization": f"Bearer {keys.wrong_secret}"},
}


@pytest.mark.parametrize("caller", list(UNAUTHENTICATED))
def test_keyed_routes_refuse_callers_without_a_valid_key(live, routes, keys, caller):
    headers = UNAUTHENTICATED[caller](keys)
    wrong = []
    with live.client() as client:
        for method, path in routes:
            expected = ACCESS.get((method, path))
            assert expected is not None, f"{method} {path} is not classified in ACCESS"
            response = _call(client, method, path, headers)
            if expected == PUBLIC:
                if response.status_code != 200:
                    wrong.append(f"{method} {path}: public route answered {response.status_code}")
            elif isinstance(expected, Console):
                if expected.roles is None:
                    if response.status_code >= 500 or response.status_code in (401, 403):
                        wrong.append(f"{method} {path}: open console page answered {response.status_code}")
                elif not _sent_to_login(response):
                    wrong.append(f"{method} {path}: {response.status_code}, not sent to log in")
            elif response.status_code != 401 or response.json()["error"]["type"] != "authentication_required":
                wrong.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
    assert not wrong, f"{caller}: " + "; ".join(wrong)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_route_answers_each_role_as_classified(live, routes, keys, role):
    headers = {"Authorization": f"Bearer {keys.by_role[role]}"}
    wrong = []
    with live.client() as client:
        for method, path in routes:
            expected = ACCESS.get((method, path))
            assert expected is not None, f"{method} {path} is not classified in ACCESS"
            response = _call(client, method, path, headers)
            status = response.status_code
            if expected == PUBLIC:
                ok = status == 200
            elif isinstance(expected, Console):
                if expected.roles is None:
                    ok = status < 500 and status not in (401, 403)
                elif role == Role.admin or role in expected.roles:
                    ok = status < 500 and status not in (401, 403) and not _sent_to_login(response)
                else:
                    ok = _console_page_refused(response)
            elif role == Role.admin or role in expected:
                ok = status not in (401, 403) and status < 500
            else:
                ok = status == 403 and response.json()["error"]["type"] == "forbidden"
            if not ok:
                wrong.append(f"{method} {path}: {status} {response.text[:200]}")
    assert not wrong, f"role {role.value}: " + "; ".join(wrong)


# -- tenants -----------------------------------------------------------------


@dataclass
class Tenant:
    name: str
    app: str
    auditor: str
    admin: str
    decisions: list[str]


@pytest.fixture(scope="module")
def two_tenants(live, make_key) -> tuple[Tenant, Tenant]:
    tenants = []
    for _ in range(2):
        name = new_tenant()
        app_key = make_key(Role.app, name)
        with live.client(app_key) as client:
            decisions = [client.post("/v1/route", json=body).json()["decision_id"] for body in (CLEAN, PERSONAL)]
        tenants.append(Tenant(name, app_key, make_key(Role.auditor, name), make_key(Role.admin, name), decisions))
    return tenants[0], tenants[1]


def test_a_decision_of_another_tenant_is_not_found(live, two_tenants):
    a, b = two_tenants
    for reader in (a.auditor, a.admin):
        with live.client(reader) as client:
            for decision_id in b.decisions:
                response = client.get(f"/v1/decisions/{decision_id}")
                assert response.status_code == 404, response.text
                assert response.json()["error"]["type"] == "not_found"
                assert b.name not in response.text
            for decision_id in a.decisions:
                assert client.get(f"/v1/decisions/{decision_id}").status_code == 200


def test_a_platform_auditor_reads_every_tenants_decisions(live, make_key, two_tenants):
    with live.client(make_key(Role.platform_auditor)) as client:
        for tenant in two_tenants:
            for decision_id in tenant.decisions:
                assert client.get(f"/v1/decisions/{decision_id}").status_code == 200
            page = client.get("/v1/decisions", params={"tenant": tenant.name}).json()["data"]
            assert {d["decision_id"] for d in page} == set(tenant.decisions)
            assert {d["tenant"] for d in page} == {tenant.name}
            report = client.get("/v1/audit/report", params={"tenant": tenant.name}).json()
            assert report["decisions"] == len(tenant.decisions)
            export = client.get("/v1/decisions/export", params={"tenant": tenant.name}).text.splitlines()
            assert {json.loads(line)["decision_id"] for line in export if line} == set(tenant.decisions)
        # Across tenants (no tenant named), narrowed to one app key's decisions.
        asked = client.get("/v1/decisions", params={"limit": 1000, "key_id": _key_id(two_tenants[1].app)}).json()
        assert {d["decision_id"] for d in asked["data"]} == set(two_tenants[1].decisions)


TENANT_ROUTES = ["/v1/decisions", "/v1/decisions/export", "/v1/audit/report", "/v1/audit/verify"]


@pytest.mark.parametrize("path", TENANT_ROUTES)
def test_naming_another_tenant_is_forbidden(live, two_tenants, path):
    a, b = two_tenants
    for reader in (a.auditor, a.admin):
        with live.client(reader) as client:
            refused = client.get(path, params={"tenant": b.name})
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["type"] == "forbidden"
            assert client.get(path, params={"tenant": a.name}).status_code == 200


def test_list_export_and_report_hold_only_the_keys_tenant(live, two_tenants):
    a, b = two_tenants
    with live.client(a.auditor) as client:
        page = client.get("/v1/decisions", params={"limit": 1000}).json()["data"]
        assert {d["decision_id"] for d in page} == set(a.decisions)
        assert {d["tenant"] for d in page} == {a.name}

        for fmt in ("jsonl", "csv"):
            export = client.get("/v1/decisions/export", params={"format": fmt})
            assert export.status_code == 200
            for decision_id in b.decisions:
                assert decision_id not in export.text
            assert b.name not in export.text
        rows = [json.loads(line) for line in client.get("/v1/decisions/export").text.splitlines() if line]
        assert {r["decision_id"] for r in rows} == set(a.decisions)

        report = client.get("/v1/audit/report").json()
        assert report["decisions"] == len(a.decisions)
        assert b.name not in json.dumps(report)

        verify = client.get("/v1/audit/verify")
        assert verify.status_code == 200
        assert not any(d in verify.text for d in b.decisions)


# -- keys at rest ------------------------------------------------------------


def test_api_keys_table_holds_only_a_hash_of_the_secret(database_url, make_key):
    tenant = new_tenant()
    keys = {role: make_key(role, tenant) for role in Role}
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, secret_sha256, row_to_json(k)::text AS everything FROM api_keys k WHERE tenant = :t"),
            {"t": tenant},
        ).all()
    engine.dispose()
    assert len(rows) == len(keys)
    stored = {row.id: row for row in rows}
    for key in keys.values():
        key_id, secret = _key_id(key), _secret(key)
        row = stored[key_id]
        assert secret not in row.everything and key not in row.everything
        # Not even a piece of the secret that would narrow a guess.
        assert not any(secret[i : i + 8] in row.everything for i in range(0, len(secret) - 8))
        assert re.fullmatch(r"[0-9a-f]{64}", row.secret_sha256)


def test_authentication_compares_the_secret_in_constant_time(database_url, make_key, monkeypatch):
    key = make_key(Role.app)
    compared = []
    real_compare = key_service.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(key_service.hmac, "compare_digest", spy)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    wrong = key[:-43] + ("x" * 43 if not key.endswith("x" * 43) else "y" * 43)
    try:
        with sessions() as session:
            assert key_service.authenticate(session, key) is not None
            assert key_service.authenticate(session, wrong) is None
    finally:
        engine.dispose()
    assert len(compared) == 2, "the stored hash must be compared with hmac.compare_digest"
    assert compared[0][0] == compared[0][1] and compared[1][0] != compared[1][1]
