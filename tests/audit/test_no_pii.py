"""No raw personal data anywhere: requests carrying known values go through
/v1/route and /v1/chat/completions (answered, streamed, pseudonymised,
refused, failed upstream, rejected as invalid), then a full ``pg_dump`` of the
test database and every log line the gateway wrote (douane's loggers at DEBUG,
uvicorn's, the PII and policy modules') are searched for each value."""

from __future__ import annotations

import logging
import subprocess
import time

import psycopg
import pytest
from sqlalchemy.engine import URL

from tests.audit.test_filters import body, client
from tests.providers.conftest import (  # noqa: F401 (fixtures)
    catalog_entry,
    fakes,
    make_proxy,
    pseudonymising_policy,
    upstreams,
)

NAME = "Friederike Vogelsang"
EMAIL = "friederike.vogelsang@example.de"
IBAN = "DE89 3704 0044 0532 0130 00"
PHONE = "+49 30 9018 2754"
TAX_ID = "86095742719"  # a German tax identification number (Steuer-IdNr) with a valid check digit
HEALTH = "Ich habe seit Jahren Diabetes Typ 2 und nehme Metformin gegen meinen Blutzucker"

PROMPT = (
    f"Bitte schreibe an {NAME} ({EMAIL}, Telefon {PHONE}) wegen der Erstattung auf das Konto {IBAN}. "
    f"Steuer-ID {TAX_ID}. Sie schreibt: {HEALTH}."
)
# Each value as sent, and the forms a leak could take (compacted, lower-cased, its distinctive part).
NEEDLES = {
    "name": [NAME, "Vogelsang"],
    "email": [EMAIL, "friederike.vogelsang"],
    "iban": [IBAN, IBAN.replace(" ", "")],
    "phone": [PHONE, PHONE.replace(" ", ""), "90182754"],
    "tax_id": [TAX_ID],
    "health": [HEALTH, "Metformin", "Blutzucker"],
}
LOGGERS = ("douane", "services", "policy", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx")


def _dump(postgres_url: URL) -> str:
    url = postgres_url.set(drivername="postgresql").render_as_string(hide_password=False)
    result = subprocess.run(["/usr/bin/pg_dump", "--dbname", url], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _await_outcome(base_url: str, auditor_key: str, decision_id: str) -> dict:
    """A streamed completion's outcome is written when its stream ends; wait for it (bounded)."""
    deadline = time.monotonic() + 30
    with client(base_url, auditor_key) as c:
        while True:
            view = c.get(f"/v1/decisions/{decision_id}").json()
            if view["outcome"] is not None or time.monotonic() > deadline:
                return view
            time.sleep(0.05)


@pytest.fixture
def every_log_line(caplog):
    """Every record of the gateway's loggers, from DEBUG up (uvicorn's access
    log does not propagate to the root, so it gets the capture handler too)."""
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)

    def attach() -> None:
        # uvicorn.Config sets its loggers' levels when a server is built: after that, take them back.
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.setLevel(logging.DEBUG)
            if caplog.handler not in logger.handlers and not logger.propagate:
                logger.addHandler(caplog.handler)

    yield caplog, attach
    logging.getLogger("uvicorn.access").removeHandler(caplog.handler)


def test_no_pii_in_the_database_dump_or_the_logs(
    make_proxy, upstreams, make_key, tenant, pseudonymising_policy, postgres_url, every_log_line
):
    caplog, attach = every_log_line
    proxy = make_proxy()
    pseudonymising = make_proxy(policy=pseudonymising_policy)
    outside_eu = make_proxy([catalog_entry(n, upstreams[n].base_url) for n in ("fake-cn", "fake-us")])
    attach()
    made: list[str] = []

    with client(proxy.base_url, proxy.app_key) as c:
        routed = c.post("/v1/route", json=body(PROMPT, purpose="customer_support"))
        assert routed.status_code == 200, routed.text
        made.append(routed.json()["decision_id"])
        answered = c.post("/v1/chat/completions", json=body(PROMPT))
        assert answered.status_code == 200, answered.text
        made.append(answered.headers["x-douane-decision-id"])
        with c.stream("POST", "/v1/chat/completions", json={**body(PROMPT), "stream": True}) as streamed:
            assert streamed.status_code == 200
            made.append(streamed.headers["x-douane-decision-id"])
            streamed.read()
        # Rejected before any decision: the error names the field, never the value.
        invalid = c.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "robot", "content": PROMPT}]})
        assert invalid.status_code == 422
        assert all(value not in invalid.text for values in NEEDLES.values() for value in values)
        for fake in upstreams.values():
            fake.mode, fake.status = "error", 500
        failed = c.post("/v1/chat/completions", json=body(PROMPT))
        assert failed.status_code >= 500
        made.append(failed.headers["x-douane-decision-id"])
        for fake in upstreams.values():
            fake.mode = "ok"
    with client(outside_eu.base_url, outside_eu.app_key) as c:
        refused = c.post("/v1/chat/completions", json=body(PROMPT))
        assert refused.status_code == 403, refused.text
        made.append(refused.headers["x-douane-decision-id"])
    support_email = f"Please answer the customer at {EMAIL} about their refund, signed {NAME}"
    with client(pseudonymising.base_url, pseudonymising.app_key) as c:
        pseudonymised = c.post(
            "/v1/chat/completions", json=body(support_email, purpose="customer_support", residency="any")
        )
        assert pseudonymised.status_code == 200, pseudonymised.text
        made.append(pseudonymised.headers["x-douane-decision-id"])
    forwarded = [made[1], made[2], made[3], made[5]]  # the others were decided, never sent
    for decision_id in forwarded:
        assert _await_outcome(proxy.base_url, proxy.auditor_key, decision_id)["outcome"] is not None
    # The upstreams did get the text (they are where it was sent): the capture is real.
    assert any(NAME in str(r.body) for fake in upstreams.values() for r in fake.requests)

    with client(proxy.base_url, proxy.auditor_key) as c:
        detail = c.get(f"/v1/decisions/{made[0]}").json()
        exported = c.get("/v1/decisions/export", params={"format": "csv"}).text
    # Detection ran: the rows hold the types and counts it found.
    assert detail["sensitivity"] == "special" and detail["entities"]

    dump = _dump(postgres_url)
    assert all(decision_id in dump for decision_id in made), "the dump must hold the decisions just made"
    logs = "\n".join(
        [caplog.text]
        + [f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records]
    )
    assert "POST /v1/chat/completions" in logs, "uvicorn's access log must be part of the search"
    for where, text in (("database dump", dump), ("logs", logs), ("export", exported), ("detail", str(detail))):
        haystack = text.lower()
        found = {kind: v for kind, values in NEEDLES.items() for v in values if v.lower() in haystack}
        assert not found, f"personal data in the {where}: {sorted(found)}"


def test_the_search_would_find_a_leak(postgres_url):
    """The dump search is not vacuous: a value written to the database is found."""
    marker = "Vogelsang-canary-" + str(time.time_ns())
    url = postgres_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS pii_canary (value text)")
        connection.execute("INSERT INTO pii_canary VALUES (%s)", (marker,))
    try:
        assert marker in _dump(postgres_url)
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("DROP TABLE pii_canary")
