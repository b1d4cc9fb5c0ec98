"""What replicas share besides rate limits, driven pass by pass (no threads,
no HTTP): a replica that cannot load the shared policy revision says so in
its readiness instead of serving another one; a stale replica starting
later does not drag the others back; a breaker one replica opens is open
on the others after their next pass."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import services.policy.shared as shared
from services.gateway.app import build_runtime
from services.gateway.runtime import Runtime
from tests.live import ROOT, make_settings


@pytest.fixture
def replicas(fresh_database_url, real_detector) -> Iterator:
    built: list[Runtime] = []

    def make(policy_dir: Path) -> Runtime:
        settings = make_settings(fresh_database_url, share_replica_state=True, policy_dir=policy_dir)
        runtime = build_runtime(settings, detector=real_detector)
        built.append(runtime)
        return runtime

    yield make
    for runtime in built:
        runtime.fleet.revision.leave()
        runtime.audit_writer.close()
        runtime.db_engine.dispose()


def copy_policies(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(ROOT / "policies", target)
    return target


def block_cn(policy_dir: Path) -> None:
    path = policy_dir / "reference" / "blocklist" / "data.json"
    data = json.loads(path.read_text())
    data["jurisdictions"] = {"CN": {"reason": "sanctions", "since": "2026-11-28"}}
    path.write_text(json.dumps(data))


def test_a_replica_that_cannot_load_the_shared_revision_is_not_ready(replicas, tmp_path, monkeypatch):
    monkeypatch.setattr(shared, "RETRY_S", 0.0)
    dir_a, dir_b = copy_policies(tmp_path, "a"), copy_policies(tmp_path, "b")
    a, b = replicas(dir_a), replicas(dir_b)
    a.fleet.sync_once()
    b.fleet.sync_once()
    first = a.policy.revision
    assert b.fleet.readiness() == {"shared_policy": "ok"} and b.policy.revision == first

    block_cn(dir_a)
    outcome = a.policy_reloader.reload()  # what POST /v1/policy/reload does
    assert outcome.status == "loaded"
    b.fleet.sync_once()
    problem = b.fleet.readiness()["shared_policy"]
    assert outcome.revision in problem and first in problem and b.policy.revision == first

    block_cn(dir_b)  # the volume catches up
    b.fleet.sync_once()
    assert b.policy.revision == outcome.revision and b.fleet.readiness() == {"shared_policy": "ok"}
    assert a.fleet.readiness() == {"shared_policy": "ok"}


def test_a_stale_replica_follows_the_fleet_and_leads_only_when_alone(replicas, tmp_path, monkeypatch):
    monkeypatch.setattr(shared, "RETRY_S", 0.0)
    monkeypatch.setattr(shared, "LIVE_S", 1.0)
    dir_a = copy_policies(tmp_path, "a")
    a = replicas(dir_a)
    a.fleet.sync_once()
    block_cn(dir_a)
    current = a.policy_reloader.reload().revision
    a.fleet.sync_once()

    stale = replicas(copy_policies(tmp_path, "stale"))  # the shipped policy, without the block
    stale.fleet.sync_once()
    assert stale.fleet.revision.shared == current  # it did not publish its own
    assert "shared_policy" in stale.fleet.readiness() and stale.fleet.readiness()["shared_policy"] != "ok"
    a.fleet.sync_once()
    assert a.policy.revision == current and a.fleet.readiness() == {"shared_policy": "ok"}

    # A full restart with new files: nobody live serves the shared revision, so the first one up leads.
    a.fleet.revision.leave()
    stale.fleet.revision.leave()
    time.sleep(1.2)
    restarted = replicas(copy_policies(tmp_path, "restarted"))
    restarted.fleet.sync_once()
    assert restarted.fleet.revision.shared == restarted.policy.revision != current
    assert restarted.fleet.readiness() == {"shared_policy": "ok"}


def test_a_breaker_opened_on_one_replica_opens_on_the_others(replicas, tmp_path):
    a, b = replicas(ROOT / "policies"), replicas(ROOT / "policies")
    endpoint = a.catalog.endpoints[0]
    for _ in range(a.endpoint_health.failure_threshold):
        a.endpoint_health.record_failure(endpoint.id, reason="http_503")
    assert not a.endpoint_health.state(endpoint).healthy
    assert b.endpoint_health.state(endpoint).healthy
    started = time.monotonic()
    a.fleet.sync_once()  # publishes
    b.fleet.sync_once()  # reads
    print(f"breaker shared in {1000 * (time.monotonic() - started):.1f} ms of sync passes")
    state = b.endpoint_health.state(endpoint)
    assert not state.healthy and state.breaker == "open" and "http_503" in state.last_failure
    # Applied once: a success on B is real evidence and closes B's breaker for good.
    b.endpoint_health.record_success(endpoint.id, ttft_ms=None, total_ms=100)
    b.fleet.sync_once()
    assert b.endpoint_health.state(endpoint).healthy


class _Revision:
    """Stands for SharedRevision: its sync fails when told to."""

    problem = None
    shared = "sha256:shared"
    failing = False

    def sync(self) -> None:
        if self.failing:
            raise ConnectionError("database unreachable")


def test_a_replica_that_cannot_read_the_fleets_revision_stops_being_ready():
    from services.gateway.fleet import Fleet
    from services.gateway.ratelimit import MemoryLeases, RateLimiter

    now = [1000.0]
    revision = _Revision()
    fleet = Fleet(
        replica="r", interval_s=0.25, rate_limiter=RateLimiter(MemoryLeases()), revision=revision, clock=lambda: now[0]
    )
    assert fleet.readiness()["shared_policy"] == "not yet synced with the other replicas"
    assert fleet.sync_once()
    assert fleet.readiness() == {"shared_policy": "ok"}

    revision.failing = True
    now[0] += fleet.stale_after_s - 0.5
    assert not fleet.sync_once()
    assert fleet.readiness() == {"shared_policy": "ok"}  # a blip is tolerated
    now[0] += 1.0
    assert not fleet.sync_once()
    assert "has not been read" in fleet.readiness()["shared_policy"]

    revision.failing = False
    assert fleet.sync_once()
    assert fleet.readiness() == {"shared_policy": "ok"}
