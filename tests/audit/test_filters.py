"""GET /v1/decisions filters, alone and combined, over decisions made through
the real routes (/v1/route and /v1/chat/completions against fake upstreams),
with keyset pages; bad values answer in the one error shape, naming the
parameter; only auditor keys read the log."""

from __future__ import annotations

import httpx
import pytest

from services.keys.service import KEY_PATTERN
from tests.conftest import new_tenant
from tests.providers.conftest import catalog_entry, fakes, make_proxy, upstreams  # noqa: F401 (fixtures)

CLEAN = "What is the capital of Portugal?"
PERSONAL = "Write a polite reminder to jane.doe@example.org about the unpaid invoice"
SPECIAL = "Summarise: my patient Anna Schmidt, born 12.03.1961, has type 2 diabetes"


def body(content: str, **routing) -> dict:
    return {"model": "auto", "messages": [{"role": "user", "content": content}], "routing": routing}


def key_id(key: str) -> str:
    return KEY_PATTERN.match(key).group(1)


def client(base_url: str, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30)


def route(base_url: str, key: str, content: str, **routing) -> str:
    with client(base_url, key) as c:
        response = c.post("/v1/route", json=body(content, **routing))
    assert response.status_code == 200, response.text
    return response.json()["decision_id"]


def chat(proxy, content: str, key: str | None = None, **routing) -> str:
    """A chat completion; returns its decision id whether it was answered or refused."""
    with client(proxy.base_url, key or proxy.app_key) as c:
        response = c.post("/v1/chat/completions", json=body(content, **routing))
    assert "x-douane-decision-id" in response.headers, response.text
    return response.headers["x-douane-decision-id"]


def walk(base_url: str, key: str, path: str = "/v1/decisions", **params) -> list[dict]:
    """Every page of a filtered list, following next_cursor."""
    seen: list[dict] = []
    with client(base_url, key) as c:
        cursor = None
        while True:
            page = c.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200, page.text
            payload = page.json()
            seen += payload["data"]
            cursor = payload["next_cursor"]
            if not cursor:
                return seen


def ids(base_url: str, key: str, **params) -> list[str]:
    return [d["decision_id"] for d in walk(base_url, key, **params)]


class KnownLog:
    """One tenant's decisions, made through the real routes, newest last."""

    def __init__(self, make_proxy, upstreams, tenant: str, make_key):
        self.proxy = make_proxy()
        # A catalog without EU endpoints: special-category data has nowhere to go.
        self.outside_eu = make_proxy([catalog_entry(n, upstreams[n].base_url) for n in ("fake-cn", "fake-us")])
        self.other_app_key = make_key("app", tenant)
        p = self.proxy
        self.route_clean = route(p.base_url, p.app_key, CLEAN)
        self.chat_clean = chat(p, CLEAN)
        self.chat_personal = chat(p, PERSONAL)
        self.chat_special = chat(p, SPECIAL)
        self.route_support = route(p.base_url, self.other_app_key, PERSONAL, purpose="customer_support")
        for fake in upstreams.values():
            fake.mode, fake.status = "error", 503
        self.chat_exhausted = chat(p, CLEAN)
        for fake in upstreams.values():
            fake.mode = "ok"
        self.denied = route(self.outside_eu.base_url, p.app_key, SPECIAL)
        self.all = [
            self.route_clean, self.chat_clean, self.chat_personal, self.chat_special, self.route_support,
            self.chat_exhausted, self.denied,
        ]
        # The list's documents (the detail's plus tenant, key, purpose, place, denied, chain).
        self.views = {d["decision_id"]: d for d in walk(p.base_url, p.auditor_key)}
        assert set(self.views) == set(self.all)


@pytest.fixture
def log(make_proxy, upstreams, tenant, make_key) -> KnownLog:
    return KnownLog(make_proxy, upstreams, tenant, make_key)


def newest_first(log: KnownLog, *chosen: str) -> list[str]:
    return [i for i in reversed(log.all) if i in chosen]


def test_the_known_log_is_what_the_filters_are_checked_against(log):
    v = log.views
    assert v[log.route_clean]["outcome"] is None and v[log.route_clean]["api"] == "route"
    assert v[log.chat_clean]["outcome"]["status"] == "ok"
    assert v[log.chat_clean]["route"]["endpoint"] == "fake-cn"
    assert v[log.chat_personal]["sensitivity"] == "personal"
    assert v[log.chat_personal]["endpoint_region"] == "eu"
    assert v[log.chat_special]["sensitivity"] == "special"
    assert "special:health" in v[log.chat_special]["gdpr_categories"]
    assert v[log.route_support]["purpose"] == "customer_support"
    assert v[log.chat_exhausted]["outcome"]["status"] == "exhausted"
    assert v[log.denied]["status"] == "denied" and v[log.denied]["allowed"] is False
    # The policy's refusals per endpoint, with its reasons.
    assert set(v[log.denied]["denied"]) == {"fake-cn", "fake-us"}
    assert all(v[log.denied]["denied"].values())
    assert {c["endpoint"]: c["reasons"] for c in v[log.denied]["candidates"]} == v[log.denied]["denied"]


def test_the_detail_is_what_the_app_was_told_and_the_list_adds_to_it(log):
    p = log.proxy
    with client(p.base_url, p.auditor_key) as c:
        for decision_id, listed in log.views.items():
            detail = c.get(f"/v1/decisions/{decision_id}").json()
            assert detail == {k: listed[k] for k in detail}
    denied = log.views[log.denied]
    assert denied["reasons"] and denied["outcome"] is None
    assert {c["endpoint"]: c["reasons"] for c in denied["candidates"] if not c["eligible"]} == denied["denied"]
    exhausted = log.views[log.chat_exhausted]["outcome"]
    assert [a["endpoint"] for a in exhausted["attempts"]] == [
        log.views[log.chat_exhausted]["route"]["endpoint"], *log.views[log.chat_exhausted]["route"]["fallbacks"]
    ]


def test_each_filter_alone(log):
    p, v = log.proxy, log.views
    eu_endpoint = v[log.chat_personal]["route"]["endpoint"]
    revision = v[log.chat_clean]["policy"]["revision"]
    cases = {
        (("endpoint", "fake-cn"),): [log.route_clean, log.chat_clean, log.chat_exhausted],
        (("jurisdiction", "cn"),): [log.route_clean, log.chat_clean, log.chat_exhausted],
        (("region", "EU"),): [i for i in log.all if v[i]["endpoint_region"] == "eu"],
        (("sensitivity", "none"),): [log.route_clean, log.chat_clean, log.chat_exhausted],
        (("sensitivity", "special"),): [log.chat_special, log.denied],
        (("category", "special:health"),): [log.chat_special, log.denied],
        (("purpose", "customer_support"),): [log.route_support],
        (("policy_revision", revision),): log.all,
        (("policy_revision", "sha256:" + "f" * 64),): [],
        (("status", "denied"),): [log.denied],
        (("status", "routed"),): [i for i in log.all if i != log.denied],
        (("outcome", "ok"),): [log.chat_clean, log.chat_personal, log.chat_special],
        (("outcome", "exhausted"),): [log.chat_exhausted],
        (("outcome", "none"),): [log.route_clean, log.route_support, log.denied],
        (("key_id", key_id(log.other_app_key)),): [log.route_support],
        (("endpoint", eu_endpoint),): [i for i in log.all if v[i]["route"]["endpoint"] == eu_endpoint],
    }
    for params, expected in cases.items():
        got = ids(p.base_url, p.auditor_key, **dict(params))
        assert got == newest_first(log, *expected), params


def test_filters_combine(log):
    p = log.proxy
    assert ids(p.base_url, p.auditor_key, sensitivity="none", outcome="ok") == [log.chat_clean]
    assert ids(p.base_url, p.auditor_key, endpoint="fake-cn", outcome="none") == [log.route_clean]
    assert ids(p.base_url, p.auditor_key, sensitivity="special", status="routed", category="special:health") == [
        log.chat_special
    ]
    assert ids(p.base_url, p.auditor_key, key_id=key_id(p.app_key), sensitivity="personal") == [log.chat_personal]
    assert ids(p.base_url, p.auditor_key, key_id=key_id(log.other_app_key), purpose="general") == []
    # The time range composes with everything else.
    middle = log.views[log.chat_personal]["created_at"]
    assert ids(p.base_url, p.auditor_key, since=middle, sensitivity="none") == [log.chat_exhausted]
    assert ids(p.base_url, p.auditor_key, until=middle, sensitivity="none") == [log.chat_clean, log.route_clean]


def test_pages_with_filters_walk_every_match_once(log):
    p = log.proxy
    for params in ({}, {"sensitivity": "none"}, {"outcome": "none"}, {"region": "eu"}):
        whole = ids(p.base_url, p.auditor_key, limit=1000, **params)
        assert ids(p.base_url, p.auditor_key, limit=1, **params) == whole
        assert ids(p.base_url, p.auditor_key, limit=2, **params) == whole
    # A cursor from a filtered walk keeps working for the same filter.
    with client(p.base_url, p.auditor_key) as c:
        first = c.get("/v1/decisions", params={"status": "routed", "limit": 2}).json()
        second = c.get("/v1/decisions", params={"status": "routed", "limit": 2, "cursor": first["next_cursor"]}).json()
    assert [d["decision_id"] for d in first["data"] + second["data"]] == newest_first(
        log, *[i for i in log.all if i != log.denied]
    )[:4]


def test_a_tenant_auditor_never_sees_another_tenant(log, make_key):
    p = log.proxy
    stranger = make_key("app", new_tenant())
    theirs = route(p.base_url, stranger, CLEAN)
    assert theirs not in ids(p.base_url, p.auditor_key)
    assert ids(p.base_url, p.auditor_key, key_id=key_id(stranger)) == []
    with client(p.base_url, p.auditor_key) as c:
        assert c.get(f"/v1/decisions/{theirs}").status_code == 404


FILTER_ERRORS = [
    ({"sensitivity": "secret"}, 422, "sensitivity"),
    ({"status": "maybe"}, 422, "status"),
    ({"outcome": "fine"}, 422, "outcome"),
    ({"since": "yesterday"}, 422, "since"),
    ({"since": "2026-10-01T00:00:00"}, 422, "since"),  # no offset: which day would that be?
    ({"jurisdiction": "C"}, 422, "jurisdiction"),
    ({"region": "e u"}, 422, "region"),
    ({"category": "special health"}, 422, "category"),
    ({"purpose": "Not A Purpose"}, 422, "purpose"),
    ({"key_id": "k_nothex"}, 422, "key_id"),
    ({"endpoint": "x" * 65}, 422, "endpoint"),
    ({"policy_revision": "sha256:'; drop table decisions"}, 422, "policy_revision"),
    ({"since": "2026-11-01T00:00:00Z", "until": "2026-10-01T00:00:00Z"}, 400, "since"),
    ({"tenant": "Not A Tenant"}, 400, "tenant"),
    ({"tenant": "someone-else"}, 403, "tenant"),
]
PAGE_ERRORS = [
    ({"limit": 0}, 422, "limit"),
    ({"limit": 1001}, 422, "limit"),
    ({"limit": "many"}, 422, "limit"),
    ({"cursor": "not-a-cursor"}, 400, "cursor"),
    ({"cursor": "bm90fGF8dXVpZA=="}, 400, "cursor"),
]
BAD_VALUES = (
    [("/v1/decisions", *case) for case in FILTER_ERRORS + PAGE_ERRORS]
    + [("/v1/decisions/export", *case) for case in FILTER_ERRORS + [({"format": "xlsx"}, 422, "format")]]
    + [("/v1/audit/report", *case) for case in FILTER_ERRORS if set(case[0]) <= {"since", "until", "tenant"}]
)


@pytest.mark.parametrize(("path", "params", "status", "parameter"), BAD_VALUES)
def test_bad_values_answer_in_the_error_shape_naming_the_parameter(gateway, make_key, path, params, status, parameter):
    with gateway.client(make_key("auditor")) as c:
        response = c.get(path, params=params)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"type", "message", "details"}
    if status == 422:
        assert ["query", parameter] in [d["loc"] for d in error["details"]]
    else:
        assert error["details"]["parameter"] == parameter


@pytest.mark.parametrize(
    "path", ["/v1/decisions", "/v1/decisions/export", "/v1/audit/report", "/v1/decisions/00000000-0000-0000-0000-000000000000"]
)
def test_only_auditor_keys_read_the_log(gateway, make_key, path):
    with gateway.client() as c:
        missing = c.get(path)
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_required"
    with gateway.client("dk_k_0123456789abcdef_" + "A" * 43) as c:
        assert c.get(path).status_code == 401
    for role in ("app", "dpo"):
        with gateway.client(make_key(role)) as c:
            response = c.get(path)
        assert response.status_code == 403, (role, response.text)
        assert response.json()["error"]["type"] == "forbidden"
