"""What the DPO pages run: the policy's own tests (policy.testing) and the
what-if replay (policy.diff), glued as ``douane policy test`` and ``douane
policy diff`` glue them. Nothing here is new logic; what is the console's own
is the bounds (a page must answer, so the replay stops after WHATIF_MAX
decisions) and remembering test results per revision (a run takes seconds:
it compiles the bundle in a child process)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path

from policy import PolicyError
from policy.decision import PolicyTestResult
from policy.diff import RecordedDecision, replay
from policy.testing import run_policy_tests
from services.audit.repository import recorded_policy_inputs
from services.gateway.errors import BadRequest
from services.periods import parse_moment

WHATIF_MAX = 5000


class PolicyTestResults:
    """The last test run of each policy revision, for as long as the gateway runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_revision: dict[str, list[PolicyTestResult]] = {}

    def get(self, revision: str) -> list[PolicyTestResult] | None:
        with self._lock:
            return self._by_revision.get(revision)

    def run(self, policy_dir: Path, revision: str) -> list[PolicyTestResult]:
        results = run_policy_tests(policy_dir)
        with self._lock:
            self._by_revision[revision] = results
        return results


@dataclass(frozen=True)
class WhatIf:
    candidate: str
    since: str  # ISO, UTC
    report: dict  # policy.diff.DiffReport.to_dict()
    capped: bool  # the replay stopped at WHATIF_MAX decisions


def what_if(sessions, tenant: str, candidate_dir: str, since_text: str) -> WhatIf:
    """Replay the tenant's recorded policy inputs since ``since_text`` (30d,
    12h, 90m or an ISO date, as ``douane policy diff --since``) against the
    policy in ``candidate_dir``, evaluated in-process like the CLI does."""
    from policy.embedded import EmbeddedEngine

    try:
        start = parse_moment(since_text)
    except ValueError as exc:
        raise BadRequest(f"since {exc}", details={"field": "since"}) from None
    directory = Path(candidate_dir.strip())
    if not candidate_dir.strip() or not directory.is_dir():
        raise BadRequest(f"{candidate_dir!r} is not a directory on the gateway's host", details={"field": "candidate"})
    try:
        engine = EmbeddedEngine.from_dir(directory)
    except PolicyError as exc:
        raise BadRequest(f"the candidate policy does not load: {exc}", details={"field": "candidate"}) from None
    with sessions() as session:
        rows = recorded_policy_inputs(session, start, tenant)
        # One more than the cap is read so that "capped" is only said when there was more.
        limited = [
            RecordedDecision(str(r.id), r.policy_input, r.plan or [], r.sensitivity, r.gdpr_categories or [])
            for r in itertools.islice(rows, WHATIF_MAX + 1)
        ]
    capped = len(limited) > WHATIF_MAX
    report = replay(limited[:WHATIF_MAX], engine)
    return WhatIf(str(directory), start.isoformat(timespec="seconds"), report.to_dict(), capped)
