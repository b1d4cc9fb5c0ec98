"""Per-key rate limits: 429 with Retry-After in the one error shape, a key's
own limit over the default, unkeyed routes never limited, and the lease
bounds on the shared Postgres store."""

from __future__ import annotations

import threading

import pytest

from services.db import make_engine, make_sessionmaker
from services.gateway.ratelimit import (
    WINDOW_S,
    LeaseRequest,
    MemoryLeases,
    PostgresLeases,
    RateLimiter,
    lease_cap,
)
from services.gateway.errors import RateLimited
from services.keys.models import Role
from services.keys.service import create_key

BODY = {"model": "auto", "messages": [{"role": "user", "content": "Summarise the meeting notes."}]}


class Clock:
    def __init__(self, now: float = 1_000_000 * WINDOW_S + 10.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_window_admits_its_limit_then_refuses_until_it_ends():
    clock = Clock()
    limiter = RateLimiter(MemoryLeases(), clock=clock)
    for _ in range(5):
        limiter.admit("k_a", 5)
    with pytest.raises(RateLimited) as refused:
        limiter.admit("k_a", 5)
    assert refused.value.headers == {"Retry-After": str(WINDOW_S - 10)}
    assert refused.value.details == {"limit": 5, "window_s": WINDOW_S, "retry_after_s": WINDOW_S - 10}
    limiter.admit("k_b", 5)  # another key has its own budget
    clock.now += WINDOW_S - 10  # the next window
    limiter.sync()
    for _ in range(5):
        limiter.admit("k_a", 5)


def test_zero_is_unlimited():
    limiter = RateLimiter(MemoryLeases(), clock=Clock())
    for _ in range(1000):
        limiter.admit("k_a", 0)


def test_leases_never_exceed_the_quota_and_grow_with_demand():
    store = MemoryLeases()
    clock = Clock()
    limiter = RateLimiter(store, clock=clock)
    for _ in range(30):
        limiter.admit("k_a", 1000)
        limiter.sync()  # the background pass leases ahead, sized on use
    window = int(clock.now // WINDOW_S)
    granted = store._granted[("k_a", window)]
    assert 30 <= granted <= 30 + lease_cap(1000)
    # Asking for more than is left gets what is left, and says the window is spent.
    (lease,) = store.lease([LeaseRequest("k_a", window, 1000, 5000)])
    assert lease.granted == 1000 - granted and lease.spent


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_replicas_sharing_postgres_admit_at_most_the_limit(engine):
    """Three limiters (three replicas) on one database, hammered by threads:
    never more than the limit, and at most one lease per replica left unused."""
    limit, key = 200, "k_" + "e" * 16
    replicas = [RateLimiter(PostgresLeases(engine)) for _ in range(3)]
    admitted = [0]
    lock = threading.Lock()

    def client(limiter: RateLimiter) -> None:
        for _ in range(150):
            try:
                limiter.admit(key, limit)
            except RateLimited as exc:
                assert int(exc.headers["Retry-After"]) >= 1
                continue
            with lock:
                admitted[0] += 1

    def background(limiter: RateLimiter, stop: threading.Event) -> None:
        while not stop.wait(0.01):
            limiter.sync()

    stop = threading.Event()
    syncs = [threading.Thread(target=background, args=(r, stop)) for r in replicas]
    clients = [threading.Thread(target=client, args=(r,)) for r in replicas for _ in range(2)]
    for t in syncs + clients:
        t.start()
    for t in clients:
        t.join()
    stop.set()
    for t in syncs:
        t.join()
    assert limit - len(replicas) * lease_cap(limit) <= admitted[0] <= limit


def make_key_with_limit(database_url: str, limit: int | None) -> str:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            _principal, key = create_key(session, "t-ratelimit", Role.app, rate_limit_per_minute=limit)
            session.commit()
    finally:
        engine.dispose()
    return key


def test_http_429_with_retry_after_in_the_error_shape(make_gateway, database_url):
    gateway = make_gateway({"rate_limit_per_minute": 1000})
    own_limit = make_key_with_limit(database_url, 3)  # the key's own limit wins over the default
    with gateway.client(own_limit) as http:
        assert [http.get("/v1/models").status_code for _ in range(3)] == [200, 200, 200]
        refused = http.post("/v1/route", json=BODY)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= WINDOW_S
    error = refused.json()["error"]
    assert error["type"] == "rate_limited" and error["details"]["limit"] == 3
    # Liveness, readiness and metrics take no key and are never limited.
    with gateway.client() as http:
        assert all(http.get(path).status_code == 200 for path in ("/healthz", "/readyz", "/metrics") for _ in range(5))
        spec = http.get("/openapi.json").json()
    route_responses = spec["paths"]["/v1/route"]["post"]["responses"]
    assert "429" in route_responses and "Retry-After" in route_responses["429"]["headers"]


def test_the_default_applies_to_keys_without_their_own_and_zero_lifts_it(make_gateway, database_url):
    gateway = make_gateway({"rate_limit_per_minute": 2})
    default = make_key_with_limit(database_url, None)
    unlimited = make_key_with_limit(database_url, 0)
    with gateway.client(default) as http:
        assert [http.get("/v1/models").status_code for _ in range(3)] == [200, 200, 429]
    with gateway.client(unlimited) as http:
        assert {http.get("/v1/models").status_code for _ in range(10)} == {200}


def test_a_wrong_role_does_not_spend_the_budget(make_gateway, database_url):
    gateway = make_gateway({"rate_limit_per_minute": 2})
    key = make_key_with_limit(database_url, None)
    with gateway.client(key) as http:
        assert {http.get("/v1/policy").status_code for _ in range(4)} == {403}
        assert [http.get("/v1/models").status_code for _ in range(2)] == [200, 200]
