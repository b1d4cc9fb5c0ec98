"""Live policy: replace the running policy with the one on disk, or refuse to.

A reload takes a snapshot of the policy directory (so a DPO still saving files
cannot make the checks and the installed engine disagree), then, in order:
compiles it, checks it (`douane policy check`: no builtin regopy lacks,
well-formed decisions on the fixture inputs), runs its own `test_*` rules,
and only then installs the new engine. Installing is one attribute
assignment, so a request evaluates either the old policy or the new one,
never a mix; a decision in flight keeps the engine it started with.

Anything that fails leaves the running revision in place and says why.
Reloads are serialised: two at once would race to install.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from policy.bundle import load_bundle
from policy.check import check_policy
from policy.engine import PolicyEngine
from policy.errors import PolicyError
from policy.testing import run_policy_tests

log = logging.getLogger("douane.policy")

ReloadStatus = Literal["loaded", "unchanged", "refused"]


@dataclass(frozen=True)
class ReloadOutcome:
    status: ReloadStatus
    revision: str  # the revision running after this attempt
    previous_revision: str
    candidate_revision: str | None  # what was on disk, when it could be read
    errors: list[str] = field(default_factory=list)
    tests_passed: int = 0
    tests_failed: list[str] = field(default_factory=list)
    duration_ms: float = 0.0


class PolicyReloader:
    """Swaps the engine behind ``current``/``install`` for the policy in ``policy_dir``.

    ``build`` makes an engine of the configured kind from a directory;
    ``fixture_candidates`` are the catalog's candidates, used to check that
    the new policy returns well-formed decisions before it serves any.
    """

    def __init__(
        self,
        *,
        policy_dir: Path,
        build: Callable[[Path], PolicyEngine],
        current: Callable[[], PolicyEngine],
        install: Callable[[PolicyEngine], None],
        fixture_candidates: list[dict],
    ):
        self._policy_dir = Path(policy_dir)
        self._build = build
        self._current = current
        self._install = install
        self._fixture_candidates = fixture_candidates
        self._lock = threading.Lock()
        self._listeners: list[Callable[[ReloadOutcome], None]] = []

    def subscribe(self, listener: Callable[[ReloadOutcome], None]) -> None:
        """Call ``listener`` after every reload that was asked for (the API,
        the file watch) and leaves the directory's revision running: ``loaded``
        or ``unchanged``. Not after ``reload(expect=...)``: that one follows a
        revision another replica installed (services.policy.shared)."""
        self._listeners.append(listener)

    def reload(self, *, force: bool = False, expect: str | None = None) -> ReloadOutcome:
        """``expect``: install only if the directory holds that revision, which
        another replica installed after running the policy's tests on it;
        compile and check run here, the tests do not run again."""
        with self._lock:
            started = time.perf_counter()
            outcome = self._reload(force, expect)
            outcome = replace(outcome, duration_ms=round((time.perf_counter() - started) * 1000, 1))
            if expect is None and outcome.status != "refused":
                for listener in self._listeners:
                    try:
                        listener(outcome)
                    except Exception:  # noqa: BLE001 - the reload happened; a listener failing must not undo it
                        log.exception("a policy reload listener failed")
        if outcome.status == "refused":
            log.warning(
                "policy reload refused: %s stays; %s",
                outcome.revision,
                "; ".join(outcome.errors + [f"test failed: {n}" for n in outcome.tests_failed])[:2000],
            )
        elif outcome.status == "loaded":
            log.info("policy reloaded: %s -> %s", outcome.previous_revision, outcome.revision)
        return outcome

    def _reload(self, force: bool, expect: str | None) -> ReloadOutcome:
        running = self._current().revision
        with tempfile.TemporaryDirectory(prefix="douane-policy-") as tmp:
            snapshot = Path(tmp) / "policies"
            try:
                # Hidden entries are no part of a bundle (a ConfigMap volume's
                # ..data is a second copy of every file).
                shutil.copytree(self._policy_dir, snapshot, ignore=shutil.ignore_patterns(".*"))
                candidate = load_bundle(snapshot).revision
            except (OSError, PolicyError) as exc:
                return ReloadOutcome("refused", running, running, None, [f"cannot read the policy directory: {exc}"])
            if candidate == running and not force:
                return ReloadOutcome("unchanged", running, running, candidate)
            if expect is not None and candidate != expect:
                return ReloadOutcome(
                    "refused", running, running, candidate, [f"the policy directory holds {candidate}, not {expect}"]
                )

            def refused(errors: list[str], passed: int = 0, failed: list[str] | None = None) -> ReloadOutcome:
                return ReloadOutcome("refused", running, running, candidate, errors, passed, failed or [])

            problems = check_policy(snapshot, self._fixture_candidates)
            if problems:
                return refused([f"{p.where}: {p.message}" for p in problems])
            passed = 0
            if expect is None:
                results = run_policy_tests(snapshot)
                failed = [r.name for r in results if not r.passed]
                passed = len(results) - len(failed)
                if not results:
                    return refused(["the policy has no test_* rules; a policy without tests is not loaded"])
                if failed:
                    errors = [f"{r.name}: {r.error}" for r in results if not r.passed and r.error]
                    return refused(errors or ["policy tests failed"], passed, failed)
            # else: following a revision another replica installed. Its tests
            # passed there on these very bytes (the revision hashes every file)
            # and they depend on nothing else, while running them again takes
            # seconds (a child process); the check above depends on this
            # replica's catalog, so it runs here.
            try:
                engine = self._build(snapshot)
            except PolicyError as exc:
                return refused([str(exc)], passed)
            if engine.revision != candidate:
                return refused([f"the built policy has revision {engine.revision}, expected {candidate}"], passed)
            self._install(engine)
            return ReloadOutcome("loaded", engine.revision, running, candidate, [], passed, [])


class PolicyWatcher:
    """Reloads when a file under the policy directory changes (watchfiles,
    which debounces bursts of saves into one change set)."""

    def __init__(self, policy_dir: Path, reloader: PolicyReloader):
        self._policy_dir = Path(policy_dir)
        self._reloader = reloader
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="douane-policy-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        from watchfiles import watch

        try:
            for _changes in watch(self._policy_dir, stop_event=self._stop, raise_interrupt=False):
                try:
                    self._reloader.reload()
                except Exception:  # noqa: BLE001 - the watcher must outlive one bad reload
                    log.exception("policy reload after a file change failed; the running policy stays")
        except Exception:  # noqa: BLE001
            log.exception("policy file watch stopped; reload with POST /v1/policy/reload")
