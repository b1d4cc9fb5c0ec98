"""The one pooled HTTP client every upstream call goes through, opened and
closed with the app (a FastAPI lifespan), never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.settings import Settings


def upstream_timeout(settings: Settings) -> httpx.Timeout:
    # read bounds the wait for each byte, so a stream's gaps too; the total
    # bound is enforced by the forwarder (httpx has no whole-exchange timeout).
    return httpx.Timeout(
        connect=settings.upstream_connect_timeout_s,
        read=settings.upstream_read_timeout_s,
        write=settings.upstream_read_timeout_s,
        pool=settings.upstream_connect_timeout_s,
    )


def make_upstream_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=upstream_timeout(settings),
        limits=httpx.Limits(
            max_connections=settings.upstream_max_connections,
            max_keepalive_connections=settings.upstream_max_connections,
        ),
        # Redirects could take a request somewhere the policy never planned.
        follow_redirects=False,
        # Proxies from the environment would be another hop the policy does not know about.
        trust_env=False,
    )


@asynccontextmanager
async def upstream_lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime = app.state.runtime
    async with make_upstream_client(runtime.settings) as client:
        runtime.upstream = client
        try:
            yield
        finally:
            runtime.upstream = None
