"""Many requests at once must not wedge the gateway: request threads used to
hold a pooled connection from authentication to the response while waiting
for the audit writer, which needed a connection from the same pool."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from services.keys.models import Role


def test_more_requests_in_flight_than_pooled_connections_all_get_decisions(make_gateway, make_key):
    # No key cache: every request authenticates against the database.
    live = make_gateway({"key_cache_ttl_s": 0})
    key = make_key(Role.app)
    body = {"model": "auto", "messages": [{"role": "user", "content": "Summarise our refund policy in two lines."}]}

    def one(_: int) -> int:
        with httpx.Client(base_url=live.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            return client.post("/v1/route", json=body).status_code

    # 80 in flight: more than the threadpool (40) and twice the request pool (20).
    with ThreadPoolExecutor(max_workers=80) as pool:
        statuses = list(pool.map(one, range(160)))
    assert statuses == [200] * 160
