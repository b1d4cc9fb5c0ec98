"""No key and no prompt text in logs or in what the gateway answers.

Requests carry a real key and prompts with an e-mail address, an IBAN and a
sentinel phrase; they succeed, and they fail every way we can provoke (bad
keys, invalid and oversized bodies, policy and detection failures, a crash, an
upstream error). Every log record (root at DEBUG, and uvicorn's own loggers,
which do not propagate to root) and every response is searched for them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from policy import load_engine
from services.keys.models import Role
from services.pii import DetectionError
from tests.fake_upstream import start_fake

SENTINEL = "Quokka marmalade protocol 7731"
EMAIL = "anna.quokka@example.org"
IBAN = "DE89370400440532013000"
PROMPT = f"{SENTINEL}: please write to {EMAIL}, refund to IBAN {IBAN}."
CHAT = {"model": "auto", "messages": [{"role": "user", "content": PROMPT}]}
SECRETS = (SENTINEL, EMAIL, IBAN, "Quokka", "7731")

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class Everything(logging.Handler):
    """Every record, rendered as an operator's log file would show it (traceback included)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def capture_logs() -> Iterator[Everything]:
    """Root at DEBUG and uvicorn's loggers (started servers reconfigure them,
    so start gateways before entering)."""
    handler = Everything()
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in UVICORN_LOGGERS]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)


def secret_of(key: str) -> str:
    return key[len("dk_k_") + 16 + 1 :]


def assert_clean(texts: list[str], key: str) -> None:
    forbidden = (*SECRETS, key, secret_of(key))
    leaks = [(needle, text[:300]) for text in texts for needle in forbidden if needle in text]
    assert not leaks, f"found in logs or responses: {leaks}"


def render(response: httpx.Response) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.status_code}\n{headers}\n{response.text}"


@pytest.fixture(scope="module")
def upstream():
    # Answers without quoting the prompt: what we look for must come from the gateway.
    fake, stop = start_fake("fake-eu")
    fake.reply = lambda body: "Done."
    yield fake
    stop()


@pytest.fixture
def catalog(tmp_path: Path, upstream) -> Path:
    upstream.reset()
    upstream.reply = lambda body: "Done."
    entry = {
        "id": "fake-eu", "provider": "fake", "model": "fake-eu-model", "base_url": upstream.base_url,
        "api_key_env": None, "jurisdiction": "FR", "region": "eu", "self_hosted": False,
        "price": {"input_per_mtok": 30.0, "output_per_mtok": 30.0}, "latency_p95_ms": 500,
    }
    path = tmp_path / "endpoints.yaml"
    path.write_text(yaml.safe_dump({"endpoints": [entry]}), encoding="utf-8")
    return path


def test_no_key_or_prompt_in_logs_or_answers_of_a_working_gateway(make_gateway, make_key, tenant, catalog, upstream):
    gateway = make_gateway({"endpoints_file": catalog, "max_body_bytes": 20_000})
    app_key, dpo_key = make_key(Role.app, tenant), make_key(Role.dpo, tenant)
    wrong_secret = app_key[:-43] + ("A" * 43 if not app_key.endswith("A" * 43) else "B" * 43)
    responses: list[httpx.Response] = []
    with capture_logs() as logs:
        with gateway.client(app_key) as app:
            responses.append(app.post("/v1/route", json=CHAT))
            responses.append(app.post("/v1/chat/completions", json=CHAT))
            with app.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as streamed:
                streamed.read()
                responses.append(streamed)
            upstream.mode, upstream.status = "error", 400
            responses.append(app.post("/v1/chat/completions", json=CHAT))
            upstream.mode = "ok"
            # Invalid bodies: FastAPI's own errors would echo the input.
            for invalid in (
                {**CHAT, "max_tokens": "many"},
                {"model": "auto", "messages": [{"role": "wizard", "content": PROMPT}]},
                {"model": "auto", "messages": [{"role": "user", "content": [{"type": "text", "txt": PROMPT}]}]},
                {**CHAT, "routing": {"purpose": PROMPT}},
                {**CHAT, "routing": {"colour": PROMPT}},
                {**CHAT, "max_tokens": PROMPT},
                {**CHAT, "messages": PROMPT},
            ):
                responses.append(app.post("/v1/route", json=invalid))
            responses.append(
                app.post("/v1/route", content=f'{{"model": "auto", "messages": [{{"content": "{PROMPT}', headers={"content-type": "application/json"})
            )
            responses.append(app.post("/v1/route", json={**CHAT, "padding": PROMPT * 1000}))  # 413
            responses.append(app.get("/v1/decisions"))  # the wrong role
        with gateway.client(wrong_secret) as impostor:
            responses.append(impostor.post("/v1/route", json=CHAT))
            responses.append(impostor.post("/v1/chat/completions", json=CHAT))
        with gateway.client(dpo_key) as dpo:
            responses.append(dpo.post("/v1/policy/evaluate", json={"request": CHAT}))
            responses.append(dpo.post("/v1/policy/evaluate", json={"request": {**CHAT, "model": "gpt-7"}}))
            responses.append(dpo.post("/v1/policy/evaluate", json={"request": {**CHAT, "max_tokens": PROMPT}}))
    statuses = [r.status_code for r in responses]
    assert statuses[:4] == [200, 200, 200, 502], [render(r) for r in responses[:4]]
    assert all(s in (400, 422) for s in statuses[4:12]), [(s, r.text[:300]) for s, r in zip(statuses, responses)]
    assert statuses[12:] == [413, 403, 401, 401, 200, 404, 422], statuses
    # The wrong secret a caller presented is not echoed either.
    assert_clean([render(r) for r in responses] + logs.lines, app_key)
    assert not any(secret_of(wrong_secret) in text for text in [render(r) for r in responses] + logs.lines)


class SentinelDetector:
    """A detector with a bug whose message quotes the text it choked on."""

    def detect(self, texts):
        raise ValueError(f"cannot tokenise {texts!r}")


class FailingDetector:
    """A detector that fails the way ours do: a DetectionError whose message
    names the broken part (a pipeline, a data file), never the text. The
    gateway logs and answers that message as it is, so a DetectionError that
    quoted its input would leak: services/pii must keep to that."""

    def detect(self, texts):
        raise DetectionError("spaCy pipeline 'xx_ent_wiki_sm' has no 'ner' component")


MALFORMED_POLICY = """package douane

import rego.v1

decision := {"sensitivity": "none", "gdpr_categories": [], "plan": ["exfiltration-endpoint"],
             "denied": {}, "obligations": {}, "reasons": []}
"""


@pytest.mark.parametrize("failure", ["crashing detector", "failing detector", "malformed policy"])
def test_no_prompt_in_logs_or_answers_when_detection_or_policy_fails(
    make_gateway, make_key, catalog, tmp_path, failure
):
    if failure == "malformed policy":
        (tmp_path / "policy" / "douane").mkdir(parents=True)
        (tmp_path / "policy" / "douane" / "decision.rego").write_text(MALFORMED_POLICY)
        collaborators = {"policy": load_engine("embedded", tmp_path / "policy")}
    else:
        collaborators = {"detector": SentinelDetector() if failure == "crashing detector" else FailingDetector()}
    gateway = make_gateway({"endpoints_file": catalog}, **collaborators)
    app_key, dpo_key = make_key(Role.app), make_key(Role.dpo)
    with capture_logs() as logs:
        with gateway.client(app_key) as app:
            answers = [app.post("/v1/route", json=CHAT), app.post("/v1/chat/completions", json=CHAT)]
        with gateway.client(dpo_key) as dpo:
            answers.append(dpo.post("/v1/policy/evaluate", json={"request": CHAT}))
    expected = 500 if failure == "crashing detector" else 503
    assert [a.status_code for a in answers[:2]] == [expected, expected], [render(a) for a in answers]
    assert answers[2].status_code in (200, 500, 503)
    assert any("ERROR" in line for line in logs.lines), "the failure must be logged"
    assert_clean([render(a) for a in answers] + logs.lines, app_key)
    assert_clean([render(a) for a in answers] + logs.lines, dpo_key)
