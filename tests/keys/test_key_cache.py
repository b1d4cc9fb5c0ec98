"""Verified keys are trusted for DOUANE_KEY_CACHE_TTL_S without a database
query; a revoked key stops working once that time has passed, and a wrong
secret is refused whether or not the key id is cached."""

from __future__ import annotations

from sqlalchemy import event

from services.db import make_engine, make_sessionmaker
from services.keys.cache import KeyCache
from services.keys.models import Role
from services.keys.service import create_key, revoke_key
from tests.keys.test_keys import run_cli


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _count_queries(engine) -> list[str]:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements


def test_a_cached_key_needs_no_query_and_a_revoked_one_expires(database_url, tenant):
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        principal, key = create_key(session, tenant, Role.app)
        session.commit()
    clock = Clock()
    cache = KeyCache(ttl_s=5, clock=clock)
    queries = _count_queries(engine)

    with sessions() as session:
        assert cache.authenticate(session, key) == principal
        asked = len(queries)
        assert asked >= 1
        assert cache.authenticate(session, key) == principal
        assert len(queries) == asked  # the second request asked the database nothing

    with sessions() as session:
        assert revoke_key(session, principal.key_id)
        session.commit()
    with sessions() as session:
        clock.now += 4.9
        assert cache.authenticate(session, key) == principal  # within the stated delay
        clock.now += 0.2
        assert cache.authenticate(session, key) is None  # expired: the database says revoked
        assert cache.authenticate(session, key) is None
    engine.dispose()


def test_a_wrong_secret_is_refused_for_a_cached_key_id(database_url, tenant):
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        principal, key = create_key(session, tenant, Role.app)
        session.commit()
    cache = KeyCache(ttl_s=60)
    prefix, secret = key[: -43], key[-43:]
    wrong = prefix + ("A" if secret[0] != "A" else "B") + secret[1:]
    with sessions() as session:
        assert cache.authenticate(session, key) == principal
        assert cache.authenticate(session, wrong) is None
        assert cache.authenticate(session, "dk_nonsense") is None
        assert cache.authenticate(session, key) == principal  # a failed attempt does not evict the key
    engine.dispose()


def test_keys_revoke_refuses_the_key_on_a_gateway_without_cache(database_url, make_gateway, tenant):
    live = make_gateway({"key_cache_ttl_s": 0})
    created = run_cli(["keys", "create", "--tenant", tenant, "--role", "auditor"], database_url)
    key = created.stdout.strip().splitlines()[-1]
    key_id = key[3:21]
    with live.client(key) as client:
        assert client.get("/v1/decisions").status_code == 200
    revoked = run_cli(["keys", "revoke", key_id], database_url)
    assert revoked.returncode == 0, revoked.stderr
    assert key_id in revoked.stdout
    with live.client(key) as client:
        response = client.get("/v1/decisions")
    assert response.status_code == 401
    assert response.json()["error"]["details"]["reason"] == "invalid_api_key"
    again = run_cli(["keys", "revoke", key_id], database_url)
    assert again.returncode != 0
    assert "no active key" in again.stderr


def test_an_expired_key_is_looked_up_once_however_many_requests_are_in_flight(database_url, tenant):
    import threading

    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        principal, key = create_key(session, tenant, Role.app)
        session.commit()
    cache = KeyCache(ttl_s=5)
    queries = _count_queries(engine)
    start = threading.Barrier(8)
    answers = []

    def request() -> None:
        start.wait()
        with sessions() as session:
            answers.append(cache.authenticate(session, key))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [principal] * 8
    assert sum("api_keys" in statement for statement in queries) == 1
    engine.dispose()
