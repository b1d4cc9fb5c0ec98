"""The console over real HTTP against the live gateway: logging in, who may
see which page, tenant isolation, the decision log's filters and pages, what a
decision's page says, traffic counts against rows we wrote, the spend
against baselines on seeded answers, the chain check and the DPO's what-if."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from services.audit import repository
from services.audit.cost import cost_report, daily_spend
from services.audit.models import DecisionRecord
from services.db import make_engine, make_sessionmaker
from services.keys.models import Role
from services.keys.service import KEY_PATTERN
from tests.conftest import new_tenant
from tests.console.conftest import Tickets, browser, login
from tests.live import ROOT

AUDITOR_PAGES = ["/console/decisions", "/console/traffic", "/console/spend", "/console/verify"]
DPO_PAGES = ["/console/policy"]
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def key_id(key: str) -> str:
    return KEY_PATTERN.match(key).group(1)


def rows_of(html: str) -> list[str]:
    """The decision ids listed in the log table."""
    return re.findall(r'<tr data-decision="([0-9a-f-]{36})">', html)


# -- logging in ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/console/", *AUDITOR_PAGES, *DPO_PAGES, f"/console/decisions/{uuid.uuid4()}"])
def test_without_a_cookie_every_page_sends_the_browser_to_log_in(gateway, path):
    with browser(gateway) as client:
        response = client.get(path, params={"limit": 25} if path == "/console/decisions" else None)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/console/login?next=")
    assert "%2Fconsole%2F" in location


def test_htmx_is_told_to_load_the_login_page_rather_than_swap_it_in(gateway):
    with browser(gateway) as client:
        response = client.get("/console/decisions", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["hx-redirect"].startswith("/console/login")


def test_the_login_page_takes_a_key_and_sets_a_strict_httponly_cookie(gateway, log_a):
    with browser(gateway) as client:
        page = client.get("/console/login")
        assert page.status_code == 200 and 'name="key"' in page.text
        response = client.post("/console/login", data={"key": log_a.keys[Role.auditor]})
        assert response.status_code == 303
        assert response.headers["location"] == "/console/decisions"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("douane_console_key=")
        for attribute in ("HttpOnly", "Path=/console", "SameSite=strict"):
            assert attribute.lower() in cookie.lower(), cookie
        assert "secure" not in cookie.lower()  # plain http on loopback; https gets Secure
        assert client.get("/console/decisions").status_code == 200


def test_login_returns_to_the_page_asked_for_and_nowhere_else(gateway, log_a):
    key = log_a.keys[Role.auditor]
    with browser(gateway) as client:
        back = client.post("/console/login", data={"key": key, "next": "/console/traffic"})
        assert back.headers["location"] == "/console/traffic"
        for elsewhere in ("https://evil.example.net/", "//evil.example.net/console/x", "/v1/decisions"):
            response = client.post("/console/login", data={"key": key, "next": elsewhere})
            assert response.headers["location"] == "/console/decisions", elsewhere


@pytest.mark.parametrize(
    "key",
    ["not-a-key", "dk_k_0000000000000000_" + "A" * 43, ""],
    ids=["malformed", "unknown", "empty"],
)
def test_a_wrong_key_gets_the_login_page_with_a_clear_message(gateway, key):
    with browser(gateway) as client:
        response = client.post("/console/login", data={"key": key})
    assert response.status_code in (400, 401)
    assert 'data-testid="login-error"' in response.text
    assert "set-cookie" not in response.headers
    if key:
        assert "not valid" in response.text


def test_a_revoked_key_ends_the_session(gateway, make_key, database_url):
    key = make_key(Role.auditor)
    client = login(gateway, key)
    assert client.get("/console/decisions").status_code == 200
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE api_keys SET revoked_at = now() WHERE id = :id"), {"id": key_id(key)})
    engine.dispose()
    gateway.runtime.key_cache.forget(key_id(key))  # the cache would trust it for a few more seconds
    response = client.get("/console/decisions")
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login")
    assert 'douane_console_key=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    client.close()


def test_an_app_key_cannot_log_in(gateway, log_a):
    with browser(gateway) as client:
        response = client.post("/console/login", data={"key": log_a.keys[Role.app]})
    assert response.status_code == 403
    assert "no console pages" in response.text
    assert "set-cookie" not in response.headers


def test_logout_forgets_the_key(gateway, log_a):
    client = login(gateway, log_a.keys[Role.auditor])
    response = client.post("/console/logout")
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
    assert client.get("/console/decisions").status_code == 303
    client.close()


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example.net"}, {"Origin": "null"}, {"Referer": "https://evil.example.net/x"}, {}],
    ids=["foreign origin", "null origin", "foreign referer", "neither"],
)
def test_forms_sent_from_elsewhere_are_refused(gateway, log_a, headers):
    signed_in = login(gateway, log_a.keys[Role.admin])
    cookie = signed_in.cookies.get("douane_console_key")
    signed_in.close()
    with httpx_client(gateway, headers) as client:
        client.cookies.set("douane_console_key", cookie, path="/console")
        for path, data in (
            ("/console/login", {"key": log_a.keys[Role.auditor]}),
            ("/console/logout", {}),
            ("/console/verify", {}),
            ("/console/policy/whatif", {"candidate": str(ROOT / "policies"), "since": "1d"}),
        ):
            response = client.post(path, data=data)
            assert response.status_code == 403, (path, response.text[:300])
            assert "was not sent from the console" in response.text


def httpx_client(gateway, headers):
    import httpx

    return httpx.Client(base_url=gateway.base_url, headers=headers, timeout=30)


def test_a_same_origin_referer_is_enough_without_an_origin(gateway, log_a):
    with httpx_client(gateway, {"Referer": f"{gateway.base_url}/console/login"}) as client:
        response = client.post("/console/login", data={"key": log_a.keys[Role.auditor]})
    assert response.status_code == 303


# -- roles -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, allowed",
    [
        (Role.auditor, AUDITOR_PAGES),
        (Role.platform_auditor, AUDITOR_PAGES),
        (Role.dpo, DPO_PAGES),
        (Role.admin, AUDITOR_PAGES + DPO_PAGES),
        (Role.app, []),
    ],
    ids=lambda v: v.value if isinstance(v, Role) else None,
)
def test_each_role_sees_its_pages_and_a_403_page_elsewhere(gateway, log_a, role, allowed):
    with browser(gateway) as client:
        # An app key cannot log in; its cookie, set by hand, is refused page by page.
        client.cookies.set("douane_console_key", log_a.keys[role], path="/console")
        for path in AUDITOR_PAGES + DPO_PAGES:
            response = client.get(path)
            if path in allowed:
                assert response.status_code == 200, (path, response.text[:300])
                assert "<html" in response.text
            else:
                assert response.status_code == 403, (path, response.status_code)
                assert "text/html" in response.headers["content-type"]
                assert 'data-testid="error"' in response.text and "this route needs a key with role" in response.text


def test_console_pages_carry_the_console_headers(gateway, log_a):
    client = login(gateway, log_a.keys[Role.admin])
    for path in ["/console/decisions", "/console/login", "/console/static/htmx.min.js", "/console/nothing-here"]:
        response = client.get(path)
        assert response.headers["content-security-policy"] == CONSOLE_CSP, path
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "server" not in response.headers
    assert client.get("/console/nothing-here").status_code == 404
    page = client.get("/console/decisions").text
    # Nothing inline and nothing from elsewhere: the CSP would block it.
    assert "<script>" not in page and " style=" not in page and "https://" not in page
    assert '<script src="/console/static/htmx.min.js"' in page
    client.close()
    # The API keeps its own headers.
    with browser(gateway) as anonymous:
        assert anonymous.get("/healthz").headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_htmx_is_served_from_the_console_itself(gateway):
    with browser(gateway) as client:
        response = client.get("/console/static/htmx.min.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.text.startswith("/*! htmx 4.0.1") and "0BSD" in response.text.splitlines()[0]


# -- tenants -----------------------------------------------------------------------------


def test_an_auditor_sees_only_its_tenants_decisions(gateway, log_a, log_b):
    for role in (Role.auditor, Role.admin):
        client = login(gateway, log_a.keys[role])
        listed = rows_of(client.get("/console/decisions", params={"limit": 100}).text)
        assert set(listed) == set(log_a.ids)
        for decision_id in log_b.ids:
            response = client.get(f"/console/decisions/{decision_id}")
            assert response.status_code == 404 and log_b.tenant not in response.text
        refused = client.get("/console/decisions", params={"tenant": log_b.tenant})
        assert refused.status_code == 403 and "only a platform auditor" in refused.text
        assert client.get("/console/traffic", params={"tenant": log_b.tenant}).status_code == 403
        client.close()


def test_a_platform_auditor_reads_every_tenant_and_narrows_to_one(gateway, log_a, log_b, make_key):
    client = login(gateway, make_key(Role.platform_auditor))
    for log in (log_a, log_b):
        page = client.get("/console/decisions", params={"tenant": log.tenant, "limit": 100}).text
        assert set(rows_of(page)) == set(log.ids)
        assert 'name="tenant"' in page  # the form offers the tenant filter to platform auditors only
        for decision_id in log.ids:
            assert client.get(f"/console/decisions/{decision_id}").status_code == 200
    client.close()
    client = login(gateway, log_a.keys[Role.auditor])
    assert 'name="tenant"' not in client.get("/console/decisions").text
    client.close()


# -- the decision log ------------------------------------------------------------------


def test_filters_are_the_apis_filters(gateway, log_a):
    client = login(gateway, log_a.keys[Role.auditor])
    api = gateway.client(log_a.keys[Role.auditor])
    cases = [
        {"sensitivity": "personal"},
        {"sensitivity": "special"},
        {"category": "special:health"},
        {"status": "routed", "outcome": "none"},
        {"region": "eu"},
        {"jurisdiction": "us"},
        {"purpose": "general"},
        {"key_id": key_id(log_a.keys[Role.app])},
    ]
    for params in cases:
        page = client.get("/console/decisions", params={**params, "limit": 100})
        assert page.status_code == 200, (params, page.text[:300])
        expected = [d["decision_id"] for d in api.get("/v1/decisions", params={**params, "limit": 100}).json()["data"]]
        assert rows_of(page.text) == expected, params
    assert rows_of(client.get("/console/decisions", params={"sensitivity": "personal"}).text) == [log_a.personal]
    api.close()
    client.close()


def test_empty_form_fields_are_no_filter_and_form_times_are_utc(gateway, log_a):
    client = login(gateway, log_a.keys[Role.auditor])
    everything = rows_of(client.get("/console/decisions").text)
    # What a plain GET form sends: every field, most of them empty.
    blank = "sensitivity=&category=&endpoint=&region=&jurisdiction=&purpose=&status=&outcome=&policy_revision=&key_id=&since=&until="
    assert rows_of(client.get(f"/console/decisions?{blank}").text) == everything
    hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")  # datetime-local
    assert rows_of(client.get("/console/decisions", params={"since": hour_ago}).text) == everything
    assert rows_of(client.get("/console/decisions", params={"until": hour_ago}).text) == []
    shown = client.get("/console/decisions", params={"since": hour_ago}).text
    assert f'name="since" value="{hour_ago}"' in shown  # the form keeps what was asked
    client.close()


@pytest.mark.parametrize(
    "params, words",
    [
        ({"sensitivity": "secret"}, "sensitivity"),
        ({"region": "not a region!"}, "region"),
        ({"since": "yesterday"}, "since"),
        ({"nonsense": "1"}, "nonsense"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_a_bad_filter_is_a_400_page_naming_it(gateway, log_a, params, words):
    client = login(gateway, log_a.keys[Role.auditor])
    response = client.get("/console/decisions", params=params)
    assert response.status_code == 400, response.text[:300]
    assert "text/html" in response.headers["content-type"] and words in response.text
    client.close()


def test_next_page_walks_the_log_newest_first_and_htmx_gets_the_fragment(gateway, log_a):
    client = login(gateway, log_a.keys[Role.auditor])
    seen, url = [], "/console/decisions?limit=1"
    while url:
        page = client.get(url).text
        seen += rows_of(page)
        found = re.search(r'<a class="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == list(reversed(log_a.ids))
    fragment = client.get("/console/decisions", params={"limit": 1}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="log"') and "<html" not in fragment.text
    assert len(rows_of(fragment.text)) == 1
    client.close()


# -- a decision ------------------------------------------------------------------------


def test_a_decisions_page_shows_findings_candidates_reasons_policy_and_outcome(gateway, log_a):
    client = login(gateway, log_a.keys[Role.auditor])
    api = gateway.client(log_a.keys[Role.auditor])
    for decision_id in log_a.ids:
        page = client.get(f"/console/decisions/{decision_id}").text
        recorded = api.get(f"/v1/decisions/{decision_id}").json()
        assert decision_id in page
        assert f'data-testid="sensitivity">{recorded["sensitivity"]}<' in page
        for entity, count in recorded["entities"].items():
            assert re.search(rf"<td>{entity}</td><td>{count}</td>", page), entity
        assert ", ".join(recorded["gdpr_categories"]) in page
        for candidate in recorded["candidates"]:
            row = re.search(rf'<tr data-endpoint="{re.escape(candidate["endpoint"])}" class="(\w+)">(.*?)</tr>', page, re.S)
            assert row, candidate["endpoint"]
            assert row.group(1) == ("eligible" if candidate["eligible"] else "denied")
            for reason in candidate["reasons"]:
                assert html_text(reason) in row.group(2)
        for reason in recorded["reasons"]:
            assert html_text(reason) in page
        assert recorded["policy"]["revision"] in page and recorded["policy"]["engine"] in page
        plan = [recorded["route"]["endpoint"], *recorded["route"]["fallbacks"]]
        if recorded["route"]["endpoint"]:
            assert " → ".join(plan) in page.replace("&gt;", ">")
        assert "a /v1/route decision is not forwarded" in page  # the outcome: none for /v1/route
    special = client.get(f"/console/decisions/{log_a.special}").text
    assert "special:health" in special and "HEALTH" in special
    personal = client.get(f"/console/decisions/{log_a.personal}").text
    assert re.search(r"<td>EMAIL_ADDRESS</td><td>1</td>", personal)
    api.close()
    client.close()


def html_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")


def test_a_decision_with_an_outcome_shows_it(gateway, make_key, database_url):
    tenant = new_tenant()
    engine = make_engine(database_url)
    from services.audit.models import OutcomeRecord

    with make_sessionmaker(engine)() as session:
        decision = record(tenant, datetime.now(timezone.utc), sensitivity="personal", endpoint="mistral-large",
                          plan=["mistral-large"], endpoint_region="eu", endpoint_jurisdiction="FR")
        repository.add(session, decision)
        repository.add_outcome(session, OutcomeRecord(
            id=uuid.uuid4(), decision_id=decision.id, created_at=datetime.now(timezone.utc), tenant=tenant,
            status="ok", endpoint="mistral-large", upstream_status=200,
            attempts=[{"endpoint": "mistral-large", "status": 200, "error_type": None, "reason": None, "latency_ms": 812.0}],
            stream=False, input_tokens=120, output_tokens=40, cost_usd=0.00042, ttft_ms=None, total_ms=815.0,
        ))
        session.commit()
    engine.dispose()
    client = login(gateway, make_key(Role.auditor, tenant))
    page = client.get(f"/console/decisions/{decision.id}").text
    outcome = page.split('data-testid="outcome"')[1]
    assert "<dd>ok</dd>" in outcome and "mistral-large (HTTP 200)" in outcome and "120 in / 40 out" in outcome
    assert "$0.000420" in outcome
    assert rows_of(client.get("/console/decisions", params={"outcome": "ok"}).text) == [str(decision.id)]
    client.close()


# -- traffic ----------------------------------------------------------------------------


def record(tenant: str, created_at: datetime, **overrides) -> DecisionRecord:
    values = dict(
        id=uuid.uuid4(), created_at=created_at, tenant=tenant, key_id="k_0123456789abcdef", api="route",
        purpose="general", requested_model="auto", status="routed", allowed=True, sensitivity="none",
        gdpr_categories=[], entities={}, endpoint="deepseek-chat", endpoint_region="cn", endpoint_jurisdiction="CN",
        plan=["deepseek-chat"], usage_estimate={"input_tokens": 10, "output_tokens": 256}, estimated_cost_usd=0.0003,
        policy_engine="embedded", policy_revision="sha256:" + "0" * 64, decision_latency_ms=1.0,
    )
    values.update(overrides)
    return DecisionRecord(**values)


def legend(section: str) -> dict[str, int]:
    return {v: int(n) for v, n in re.findall(r'<tr data-value="([^"]+)">.*?<td class="count">(\d+)</td>', section, re.S)}


def test_traffic_counts_are_the_rows_of_the_period(gateway, make_key, database_url):
    tenant = new_tenant()
    today = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    eu = dict(endpoint="mistral-large", plan=["mistral-large"], endpoint_region="eu", endpoint_jurisdiction="FR")
    rows = (
        [record(tenant, today - timedelta(days=3), sensitivity="personal", **eu) for _ in range(4)]
        + [record(tenant, today - timedelta(days=3), sensitivity="none") for _ in range(2)]
        + [record(tenant, today - timedelta(days=1), sensitivity="special", **eu) for _ in range(3)]
        + [record(tenant, today, sensitivity=None, status="error", allowed=False, endpoint=None, plan=[],
                  endpoint_region=None, endpoint_jurisdiction=None)]
        # Outside the default 30 days: not counted.
        + [record(tenant, today - timedelta(days=45), sensitivity="personal", **eu) for _ in range(5)]
    )
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        repository.add(session, rows[0])
        for row in rows[1:]:
            repository.add(session, row)
        session.commit()
    engine.dispose()
    client = login(gateway, make_key(Role.auditor, tenant))
    page = client.get("/console/traffic").text
    sections = page.split('<section class="chart"')[1:]
    assert len(sections) == 3
    by_sensitivity, by_region, by_jurisdiction = (legend(s) for s in sections)
    assert by_sensitivity == {"personal": 4, "special": 3, "none": 2, "(none)": 1}
    assert by_region == {"eu": 7, "cn": 2, "(none)": 1}
    assert by_jurisdiction == {"FR": 7, "CN": 2, "(none)": 1}
    assert "(10 decisions)" in sections[0]
    # The per-day table: three days ago, 4 personal and 2 none.
    day = (today - timedelta(days=3)).date().isoformat()
    row = re.search(rf"<tr><td>{day}</td>(.*?)</tr>", sections[0]).group(1)
    assert re.findall(r"<td>(\d+)</td>", row) == ["4", "0", "2", "0"]  # personal, special, none, (none)
    assert page.count("<rect ") >= 6  # one bar segment per (day, value) with decisions
    # A longer period takes the older rows in.
    since = (today - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M")
    longer = legend(client.get("/console/traffic", params={"since": since}).text.split('<section class="chart"')[1])
    assert longer["personal"] == 9
    assert client.get("/console/traffic", params={"since": "2020-01-01T00:00"}).status_code == 400  # > 92 days
    client.close()


# -- spend ----------------------------------------------------------------------------------

THREE = ["deepseek-chat", "gpt-4o", "claude-opus-4"]


def baselines_of(page: str) -> dict[str, tuple[str, str, str]]:
    """endpoint -> (would cost, saving, saving %) as the baselines table shows them."""
    found = {}
    for endpoint, cells in re.findall(r'<tr data-baseline="([^"]+)">(.*?)</tr>', page, re.S):
        found[endpoint] = tuple(
            re.search(rf'<td class="money {name}">([^<]*)</td>', cells).group(1) for name in ("cost", "saving", "percent")
        )
    return found


def spent_by_endpoint(page: str) -> dict[str, tuple[str, str]]:
    """endpoint -> (requests, spent) as the actual-spend table shows them."""
    rows = re.findall(r'<tr data-endpoint="([^"]+)"><td>[^<]*</td><td class="num">([\d,]+)</td>.*?<td class="money">([^<]*)</td></tr>',
                      page, re.S)
    return {endpoint: (requests, spent) for endpoint, requests, spent in rows}


def per_day(page: str) -> dict[str, tuple[str, str]]:
    chart = page.split('data-testid="spend-chart"')[1]
    return {day: (spent, other) for day, spent, other in re.findall(
        r'<tr><td>(\d{4}-\d{2}-\d{2})</td><td class="money">([^<]*)</td><td class="money">([^<]*)</td></tr>', chart)}


def test_the_spend_page_prices_the_same_tokens_on_each_baseline(gateway, tickets: Tickets):
    client = login(gateway, tickets.keys[Role.auditor])
    page = client.get("/console/spend", params={"baseline": THREE})
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert 'data-testid="spent">$1.399<' in html
    assert "1,000 answered requests, 500,000 input and 300,000 output tokens" in html
    assert spent_by_endpoint(html) == {"deepseek-chat": ("600", "$0.279"), "mistral-large": ("400", "$1.12")}
    assert baselines_of(html) == {
        "deepseek-chat": ("$0.465", "-$0.934", "-200.86%"),  # the cheapest: the routing cost more
        "gpt-4o": ("$4.25", "$2.851", "67.08%"),
        "claude-opus-4": ("$30.00", "$28.601", "95.34%"),
    }
    # The chart is against the first baseline: per day, the day's tokens at its prices.
    assert "Spent per day against deepseek-chat" in html
    days = per_day(html)
    assert days[tickets.earlier.isoformat()] == ("$0.279", "$0.279")  # 600 x $0.000465
    assert days[tickets.later.isoformat()] == ("$1.12", "$0.186")  # 400 x $0.000465
    assert len(days) == 30  # the last 30 days, today the last
    assert [day for day, figures in days.items() if figures != ("$0.00", "$0.00")] == [
        tickets.earlier.isoformat(), tickets.later.isoformat()
    ]
    assert html.count("<rect ") == 4  # two days, two bars each
    # The picker keeps what was asked, in that order, before the rest of the catalog.
    ticked = re.findall(r'name="baseline" value="([^"]+)" checked', html)
    assert ticked == THREE
    assert re.findall(r'name="baseline" value="([^"]+)"', html)[:3] == THREE
    client.close()


def test_the_spend_page_defaults_and_charts_the_first_baseline_asked(gateway, tickets: Tickets):
    client = login(gateway, tickets.keys[Role.auditor])
    default = client.get("/console/spend").text
    assert baselines_of(default) == {
        "deepseek-chat": ("$0.465", "-$0.934", "-200.86%"), "claude-opus-4": ("$30.00", "$28.601", "95.34%")
    }
    assert "Spent per day against deepseek-chat" in default and "($1.399 against $0.465)" in default
    # What a browser sends: the form's checkboxes, the times as datetime-local, empty fields.
    since = (datetime.now(timezone.utc) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    page = client.get(f"/console/spend?tenant=&since={since}&until=&baseline=claude-opus-4&baseline=gpt-4o").text
    assert list(baselines_of(page)) == ["claude-opus-4", "gpt-4o"]
    assert "Spent per day against claude-opus-4" in page
    days = per_day(page)
    assert len(days) == 8
    assert days[tickets.earlier.isoformat()] == ("$0.279", "$18.00")  # 600 x 500/300 tokens at $15/$75
    assert days[tickets.later.isoformat()] == ("$1.12", "$12.00")
    # A period that misses the tickets: zeros, not an error.
    empty = client.get("/console/spend", params={"since": "2026-01-01T00:00", "until": "2026-01-31T00:00"}).text
    assert 'data-testid="spent">$0.00<' in empty and "No answered requests in this period." in empty
    assert baselines_of(empty)["claude-opus-4"] == ("$0.00", "$0.00", "—")
    client.close()


def test_the_spend_page_shows_only_the_tenants_own_spend(gateway, tickets: Tickets, log_a, make_key):
    other = login(gateway, log_a.keys[Role.auditor])
    page = other.get("/console/spend", params={"baseline": THREE}).text
    assert 'data-testid="spent">$0.00<' in page and spent_by_endpoint(page) == {}
    assert baselines_of(page)["gpt-4o"] == ("$0.00", "$0.00", "—")
    refused = other.get("/console/spend", params={"tenant": tickets.tenant})
    assert refused.status_code == 403 and "only a platform auditor" in refused.text
    other.close()
    admin = login(gateway, tickets.keys[Role.admin])
    assert 'data-testid="spent">$1.399<' in admin.get("/console/spend").text
    admin.close()
    platform = login(gateway, make_key(Role.platform_auditor))
    narrowed = platform.get("/console/spend", params={"tenant": tickets.tenant, "baseline": "gpt-4o"}).text
    assert 'data-testid="spent">$1.399<' in narrowed and baselines_of(narrowed) == {"gpt-4o": ("$4.25", "$2.851", "67.08%")}
    assert f'name="tenant" value="{tickets.tenant}"' in narrowed
    everyone = platform.get("/console/spend").text
    assert "every tenant" in everyone
    assert int(spent_by_endpoint(everyone)["deepseek-chat"][0].replace(",", "")) >= 600
    platform.close()


@pytest.mark.parametrize(
    "params, words",
    [
        ({"baseline": "no-such-endpoint"}, "unknown baseline endpoint &#39;no-such-endpoint&#39;; the catalog has: deepseek-chat"),
        ({"baseline": ["gpt-4o", "nope"]}, "unknown baseline endpoint &#39;nope&#39;"),
        ({"baseline": "x" * 101}, "baseline"),
        ({"baseline": ["gpt-4o"] * 21}, "baseline"),
        ({"since": "last week"}, "since"),
        ({"since": "2020-01-01T00:00"}, "at most 92 days"),
        ({"since": "2026-11-02T00:00", "until": "2026-11-01T00:00"}, "earlier than"),
    ],
    ids=["unknown", "one of two unknown", "too long", "too many", "not a time", "too long a period", "backwards"],
)
def test_a_bad_spend_request_is_a_400_page_saying_why(gateway, tickets: Tickets, params, words):
    client = login(gateway, tickets.keys[Role.auditor])
    response = client.get("/console/spend", params=params)
    assert response.status_code == 400, response.text[:500]
    assert "text/html" in response.headers["content-type"] and 'data-testid="error"' in response.text
    assert words in response.text, response.text
    client.close()


def test_the_days_add_up_to_the_report_in_one_query(gateway, tickets: Tickets, database_url):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    catalog = gateway.runtime.catalog
    since = datetime.now(timezone.utc) - timedelta(days=30)
    engine = make_engine(database_url)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with Session(engine) as session:
        days = daily_spend(session, catalog, tenant=tickets.tenant, since=since, until=None, baselines=THREE)
        assert len(statements) == 1  # one grouped query
        report = cost_report(session, catalog, tenant=tickets.tenant, since=since, until=None, baselines=THREE)
    engine.dispose()
    assert [d.day for d in days] == sorted({tickets.earlier, tickets.later})
    assert sum(d.spent_usd for d in days) == report.spent_usd
    assert sum(d.requests for d in days) == report.requests == 1000
    for baseline in report.baselines:
        assert sum(d.baselines[baseline.endpoint] for d in days) == baseline.cost_usd


# -- the chain ----------------------------------------------------------------------------


def test_verify_runs_on_demand_and_says_the_chains_hold(gateway, log_a):
    client = login(gateway, log_a.keys[Role.auditor])
    page = client.get("/console/verify").text
    assert "Not verified yet" in page
    result = client.post("/console/verify", data={"since": "", "until": ""})
    assert result.status_code == 200
    assert "The chains verify" in result.text and "<html" in result.text
    fragment = client.post("/console/verify", data={"since": "2026-01-01T00:00"}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="verify-result"') and "The chains verify" in fragment.text
    assert client.post("/console/verify", data={"since": "soon"}).status_code == 400
    client.close()


# -- the policy (DPO) -------------------------------------------------------------------


def test_the_policy_page_shows_the_running_revision_and_its_modules(gateway, log_a):
    client = login(gateway, log_a.keys[Role.dpo])
    page = client.get("/console/policy").text
    engine = gateway.runtime.policy
    assert engine.revision in page and f'data-testid="engine">{engine.name}<' in page
    for module in engine.modules:
        assert f"<code>{module}</code>" in page
    assert "package douane" in page  # the sources
    client.close()


def test_the_policy_tests_run_and_are_listed(gateway, log_a):
    client = login(gateway, log_a.keys[Role.dpo])
    response = client.post("/console/policy/tests", headers={"HX-Request": "true"})
    assert response.status_code == 200
    summary = re.search(r'data-testid="tests-summary">(\d+) passed, (\d+) failed', response.text)
    assert summary and int(summary.group(1)) > 10 and summary.group(2) == "0"
    assert "data.douane" in response.text
    # Remembered for the revision: the page shows them without running again.
    assert 'data-testid="tests-summary"' in client.get("/console/policy").text
    client.close()


def test_what_if_replays_the_tenants_decisions_against_a_candidate(gateway, log_a, log_b, tmp_path):
    client = login(gateway, log_a.keys[Role.dpo])
    same = client.post("/console/policy/whatif", data={"candidate": str(ROOT / "policies"), "since": "1d"})
    assert same.status_code == 200, same.text[:500]
    assert re.search(r"replayed 3 recorded decisions since .*: 0 would route elsewhere, 3 unchanged", same.text)

    # A candidate that blocks the endpoint the personal decision went to.
    api = gateway.client(log_a.keys[Role.auditor])
    chosen = api.get(f"/v1/decisions/{log_a.personal}").json()["route"]["endpoint"]
    api.close()
    candidate = tmp_path / "candidate"
    shutil.copytree(ROOT / "policies", candidate)
    blocklist = candidate / "reference" / "blocklist" / "data.json"
    data = json.loads(blocklist.read_text())
    data["endpoints"] = {chosen: {"reason": "what-if test", "since": "2026-11-28"}}
    blocklist.write_text(json.dumps(data))
    changed = client.post(
        "/console/policy/whatif", data={"candidate": str(candidate), "since": "1d"}, headers={"HX-Request": "true"}
    )
    assert changed.status_code == 200
    assert changed.text.lstrip().startswith('<section id="whatif"')
    moved = int(re.search(r"(\d+) would route elsewhere", changed.text).group(1))
    assert moved >= 1
    assert f"<td>{chosen}</td>" in changed.text
    # Only this tenant's decisions are replayed: the other tenant's ids never appear.
    assert not any(decision_id in changed.text for decision_id in log_b.ids)

    for data, words in (
        ({"candidate": str(tmp_path / "missing"), "since": "1d"}, "not a directory"),
        ({"candidate": str(ROOT / "policies"), "since": "whenever"}, "since"),
    ):
        refused = client.post("/console/policy/whatif", data=data)
        assert refused.status_code == 400 and words in refused.text
    client.close()


def test_auditors_cannot_run_the_dpo_forms(gateway, log_a):
    client = login(gateway, log_a.keys[Role.auditor])
    for path in ("/console/policy/tests", "/console/policy/whatif"):
        assert client.post(path, data={"candidate": str(ROOT / "policies")}).status_code == 403
    client.close()


def test_the_console_is_not_in_the_api_document(gateway):
    with browser(gateway) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]


def test_templates_and_static_files_are_package_data():
    console = Path(__file__).resolve().parents[2] / "services" / "console"
    assert (console / "static" / "htmx.min.js").is_file() and (console / "templates" / "base.html").is_file()
