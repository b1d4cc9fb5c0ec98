"""Runs the test_* rules of every *_test.rego, like `opa test`.

Tests run in a child process: some Rego constructs crash regopy 1.5.2 with a
segfault (e.g. `with input as {...}` over a rule that calls a builtin), and a
crash must fail the one test that caused it, not kill the CLI or pytest. The
child announces each test before running it; if it dies, that test is marked
failed and a fresh child carries on with the rest.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from policy.bundle import PolicyBundle, load_bundle
from policy.decision import PolicyTestResult

# Generous: the whole suite takes seconds; this only stops a runaway evaluation
# from hanging `douane policy test` forever.
CHILD_TIMEOUT_S = 300
# Run as -c rather than -m so the child does not import this module twice.
_CHILD = "import sys; from policy.testing import _child_main; _child_main(sys.argv[1])"
# Placeholder name for a crash that happened before any test started.
_COMPILE = "<compile>"

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
# Rule heads start at column 0; tests are named test_* by convention (OPA's too).
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)


def discover_tests(bundle: PolicyBundle) -> list[str]:
    names: list[str] = []
    for rel, source in sorted(bundle.test_modules.items()):
        package = _PACKAGE.search(source)
        if package is None:
            continue
        for rule in _TEST_RULE.findall(source):
            name = f"data.{package.group(1)}.{rule}"
            if name not in names:  # a test may have several bodies
                names.append(name)
    return names


def run_policy_tests(policy_dir: Path, run: str | None = None) -> list[PolicyTestResult]:
    """Run every test_* rule (or those whose name matches the regex `run`)."""
    bundle = load_bundle(Path(policy_dir))
    pending = discover_tests(bundle)
    if run:
        pattern = re.compile(run)
        pending = [name for name in pending if pattern.search(name)]
    results: list[PolicyTestResult] = []
    while pending:
        finished, crashed = _run_child(Path(policy_dir), pending)
        if crashed is not None and crashed.name == _COMPILE:
            # regopy compiles the whole bundle for any query, so a crash (or a
            # hang) while compiling fails every test; none of them could run.
            results.extend(PolicyTestResult(n, False, crashed.error, 0.0) for n in pending)
            break
        results.extend(finished)
        done = {r.name for r in finished}
        if crashed is not None:
            results.append(crashed)
            done.add(crashed.name)
        elif not finished and len(done) < len(pending):
            # The child made no progress and reported no crash; record the
            # rest as failed instead of looping forever.
            results.extend(
                PolicyTestResult(n, False, "test runner exited before running this test", 0.0)
                for n in pending
                if n not in done
            )
            break
        pending = [n for n in pending if n not in done]
    return results


def _run_child(policy_dir: Path, names: list[str]) -> tuple[list[PolicyTestResult], PolicyTestResult | None]:
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(policy_dir)],
            input=json.dumps(names),
            capture_output=True,
            text=True,
            check=False,
            timeout=CHILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        error = f"policy tests did not finish within {CHILD_TIMEOUT_S} s"
        return [], PolicyTestResult(_COMPILE, False, error, CHILD_TIMEOUT_S * 1000.0)
    finished: list[PolicyTestResult] = []
    started: tuple[str, float] | None = None
    for line in proc.stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # stray output from the native library
        if "start" in event:
            started = (event["start"], time.perf_counter())
        elif "name" in event:
            finished.append(PolicyTestResult(event["name"], event["passed"], event["error"], event["duration_ms"]))
            started = None
    if proc.returncode == 0:
        return finished, None
    if started is None and finished:
        return finished, None  # died between tests; the caller reruns the rest
    signal = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
    detail = proc.stderr.strip()[-1000:]
    if started is None:
        started = (_COMPILE, 0.0)
        error = f"regopy crashed while compiling the policy and its tests ({signal}); no test could run"
    else:
        error = f"regopy crashed while evaluating this test ({signal})"
    error += f": {detail}" if detail else ""
    return finished, PolicyTestResult(started[0], False, error, 0.0)


def _child_main(policy_dir: str) -> None:
    import regopy

    names = json.loads(sys.stdin.read())
    bundle = load_bundle(Path(policy_dir))
    builder = regopy.Interpreter()
    compiled, load_error = None, None
    try:
        builder.add_data(bundle.data)
        for rel, source in bundle.all_modules().items():
            builder.add_module(rel, source)
        # Compile once with every test as an entrypoint, then run each plan:
        # a plain query() recompiles the bundle (~5 s here) per test.
        compiled = builder.build(None, [_entrypoint(n) for n in names])
        if not compiled.ok():
            load_error = f"policy failed to compile: {compiled.node()}"
    except regopy.RegoError as exc:
        load_error = f"policy failed to compile: {exc}"
    runner = regopy.Interpreter()
    for name in names:
        print(json.dumps({"start": name}), flush=True)
        started = time.perf_counter()
        if load_error:
            passed, error = False, load_error
        else:
            passed, error = _evaluate_test(runner, compiled, name)
        duration = (time.perf_counter() - started) * 1000
        print(json.dumps({"name": name, "passed": passed, "error": error, "duration_ms": duration}), flush=True)


def _entrypoint(name: str) -> str:
    # "data.douane.risk_test.test_x" -> "douane/risk_test/test_x"
    return name.removeprefix("data.").replace(".", "/")


def _evaluate_test(runner, compiled, name: str) -> tuple[bool, str | None]:
    import regopy

    try:
        output = runner.query_bundle_entrypoint(compiled, _entrypoint(name))
        text = str(output)
        if not output.ok():
            return False, text.strip()
    except (regopy.RegoError, ValueError) as exc:
        return False, f"evaluation failed: {exc}"
    if text.strip() == "undefined":
        return False, None  # the test body did not hold, exactly like `opa test` FAIL
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return False, f"test produced output that is not valid JSON: {exc}"
    expressions = value.get("expressions", []) if isinstance(value, dict) else []
    return expressions == [True], None

