"""The ``douane`` command."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from services.settings import Settings, SettingsError, load_settings

app = typer.Typer(help="douane: a compliance-aware gateway for LLM traffic.", no_args_is_help=True)
db_app = typer.Typer(help="The audit database.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
policy_app = typer.Typer(help="The Rego policy: test, check, evaluate, diff.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(policy_app, name="policy")
audit_app = typer.Typer(help="The audit log: verify the hash chains, retention, partitions.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
report_app = typer.Typer(help="Reports: cost, of the audit log's traffic or of a synthetic workload.", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"douane: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise _fail(str(exc)) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes sharing the port, each with its own runtime built from DOUANE_* settings")] = 1,
) -> None:
    """Start the gateway (run `douane db upgrade` first)."""
    import uvicorn

    from policy import PolicyError
    from services.gateway.app import build_runtime, create_app
    from services.routing.catalog import CatalogError
    from services.routing.complexity import ComplexityConfigError

    _configure_logging()
    settings = _settings()
    if workers > 1:
        _serve_workers(settings, host, port, workers)
        return
    try:
        runtime = build_runtime(settings)
    except (CatalogError, PolicyError, ComplexityConfigError) as exc:
        raise _fail(f"cannot start: {exc}") from None
    _ensure_partitions(runtime.db_engine)
    typer.echo(
        f"douane: policy {runtime.policy.name} {runtime.policy.revision}, "
        f"{len(runtime.catalog.endpoints)} endpoints from {settings.endpoints_file}",
        err=True,
    )
    # No "server: uvicorn" header: what runs the gateway is nobody else's business.
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="info", server_header=False)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Presidio logs every recognizer it loads or skips; only its errors matter to an operator.
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)


def _serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Several processes on one listening socket (uvicorn's supervisor).

    The parent checks what would stop every worker (catalog, policy) so a bad
    configuration fails once, here, instead of workers dying and being
    restarted in a loop; it makes the audit partitions once. Each worker then
    builds its own runtime from the same settings (``worker_app``): detector,
    policy, audit writer and upstream client are per process. The audit chain
    is safe across processes (the writer locks the chain head FOR UPDATE)."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from policy import PolicyError, load_engine
    from services.db import make_engine
    from services.routing.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog(settings.endpoints_file)
        policy = load_engine(settings.policy_engine, settings.policy_dir, settings.opa_url)
    except (CatalogError, PolicyError) as exc:
        raise _fail(f"cannot start: {exc}") from None
    engine = make_engine(settings.database_url)
    try:
        _ensure_partitions(engine)
    finally:
        engine.dispose()
    typer.echo(
        f"douane: policy {policy.name} {policy.revision}, {len(catalog.endpoints)} endpoints from "
        f"{settings.endpoints_file}, {workers} workers",
        err=True,
    )
    # Our own socket, not uvicorn's bind_socket(): asyncio sets TCP_NODELAY on
    # accepted connections only when the listening socket was made with
    # IPPROTO_TCP, and uvicorn's is made with proto 0. Without it every
    # keep-alive response (headers and body are two writes) waits ~40 ms on
    # Nagle and the client's delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc}") from None
    sock.set_inheritable(True)
    config = uvicorn.Config(
        "services.cli:worker_app", factory=True, host=host, port=port, workers=workers, log_level="info",
        server_header=False,  # as the single-process path
    )
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


def worker_app():
    """The app factory each worker of `serve --workers N` imports: a runtime
    of its own, built from the DOUANE_* environment it inherited."""
    from services.gateway.app import build_runtime, create_app

    _configure_logging()
    return create_app(build_runtime(load_settings()))


def _ensure_partitions(engine) -> None:
    """The coming months' audit partitions, if this database user may make
    them; the DEFAULT partition takes rows otherwise, so this never stops start-up."""
    from services.audit.retention import create_partitions

    try:
        create_partitions(engine, 0, 3)
    except Exception as exc:  # noqa: BLE001 - a warning, not a refusal to serve
        logging.getLogger("douane.audit").warning(
            "monthly audit partitions not created (%s); run `douane audit partitions` as the schema owner",
            type(exc).__name__,
        )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Create or migrate the schema (Alembic)."""
    from services.db import make_engine
    from services.migrate import upgrade

    engine = make_engine(_settings().database_url)
    upgrade(engine, revision)
    engine.dispose()
    typer.echo(f"database at revision {revision}")


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="the tenant the key acts for")],
    role: Annotated[str, typer.Option(help="app, auditor, dpo, admin or platform_auditor")],
    rate_limit: Annotated[
        Optional[int],
        typer.Option(min=0, help="requests per minute for this key, 0 for unlimited (default: DOUANE_RATE_LIMIT_PER_MINUTE)"),
    ] = None,
) -> None:
    """Create an API key; the key is the last line of output and is shown only once."""
    from services.db import make_engine, make_sessionmaker
    from services.keys.models import Role
    from services.keys.service import InvalidTenant, create_key

    try:
        role_value = Role(role)
    except ValueError:
        raise _fail(f"--role must be one of {', '.join(r.value for r in Role)}, not '{role}'") from None
    engine = make_engine(_settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            principal, key = create_key(session, tenant, role_value, rate_limit_per_minute=rate_limit)
            session.commit()
    except InvalidTenant as exc:
        raise _fail(f"--tenant: {exc}") from None
    finally:
        engine.dispose()
    typer.echo(f"created key {principal.key_id} for tenant {principal.tenant} with role {principal.role.value}")
    typer.echo(key)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key's id, k_… (the part after dk_)")]) -> None:
    """Revoke an API key. Replicas stop accepting it within DOUANE_KEY_CACHE_TTL_S seconds."""
    from services.db import make_engine, make_sessionmaker
    from services.keys.service import revoke_key

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            revoked = revoke_key(session, key_id)
            session.commit()
    finally:
        engine.dispose()
    if not revoked:
        raise _fail(f"no active key {key_id}")
    typer.echo(f"revoked key {key_id}; replicas refuse it within {settings.key_cache_ttl_s:g} s")


@policy_app.command("test")
def policy_test(
    run: Annotated[Optional[str], typer.Option("--run", help="only tests whose name matches this regular expression (like opa test --run)")] = None,
    policy_dir: Annotated[Optional[Path], typer.Option(help="bundle directory (default: DOUANE_POLICY_DIR)")] = None,
) -> None:
    """Run every test_* rule of the policy's *_test.rego files."""
    from policy import PolicyError, run_policy_tests

    directory = policy_dir or _settings().policy_dir
    try:
        results = run_policy_tests(directory, run)
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    if not results:
        raise _fail("no tests found" + (f" matching '{run}'" if run else ""), code=1)
    failed = 0
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        line = f"{result.name}: {mark} ({result.duration_ms:.1f} ms)"
        if result.error:
            line += f"\n  {result.error}"
        typer.echo(line)
        failed += not result.passed
    typer.echo("-" * 40)
    typer.echo(f"PASS: {len(results) - failed}/{len(results)}" + (f"\nFAIL: {failed}/{len(results)}" if failed else ""))
    if failed:
        raise typer.Exit(1)


@policy_app.command("check")
def policy_check(
    policy_dir: Annotated[Optional[Path], typer.Option(help="bundle directory (default: DOUANE_POLICY_DIR)")] = None,
) -> None:
    """Refuse builtins regopy lacks, compile, and validate decisions on fixture inputs."""
    from policy.check import check_policy
    from services.providers.health import EndpointHealth
    from services.routing.candidates import build_candidates
    from services.routing.catalog import CatalogError, load_catalog
    from services.routing.schemas import UsageEstimate

    settings = _settings()
    directory = policy_dir or settings.policy_dir
    try:
        catalog = load_catalog(settings.endpoints_file)
    except CatalogError as exc:
        raise _fail(str(exc)) from None
    # Offline: no calls made, so every endpoint has its catalog prior and is healthy.
    candidates = build_candidates(catalog, UsageEstimate(input_tokens=500, output_tokens=300), EndpointHealth())
    problems = check_policy(directory, candidates)
    for problem in problems:
        typer.echo(f"{problem.where}: {problem.message}")
    if problems:
        typer.echo(f"{len(problems)} problem(s); this policy must not go live", err=True)
        raise typer.Exit(1)
    typer.echo(f"{directory}: ok (compiles, no unsupported builtins, decisions well-formed on fixture inputs)")


@policy_app.command("eval")
def policy_eval(
    input_file: Annotated[Path, typer.Option("--input", help="a JSON file holding the policy input document")],
    policy_dir: Annotated[Optional[Path], typer.Option(help="bundle directory (default: DOUANE_POLICY_DIR)")] = None,
) -> None:
    """Evaluate the policy on one input: the decision, a summary, and every
    endpoint with its rank or the reasons it was denied."""
    from policy import PolicyError, load_engine
    from policy.explain import explain, summary

    settings = _settings()
    try:
        document = json.loads(input_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(f"{input_file}: {exc}") from None
    try:
        engine = load_engine(settings.policy_engine, policy_dir or settings.policy_dir, settings.opa_url)
        decision = engine.evaluate(document)
    except PolicyError as exc:
        raise _fail(str(exc), code=1) from None
    candidates = document.get("candidates", [])
    json.dump(
        {
            "policy": {"engine": engine.name, "revision": engine.revision},
            "summary": summary(decision, len(candidates)),
            "decision": decision.document,
            "endpoints": explain(decision, candidates),
        },
        sys.stdout,
        indent=2,
    )
    typer.echo()


@policy_app.command("diff")
def policy_diff(
    candidate: Annotated[Path, typer.Option(help="directory of the candidate policy (a copy of policies/ with your change)")],
    since: Annotated[str, typer.Option(help="how far back to replay: 30d, 12h, 90m, or an ISO date")] = "30d",
    tenant: Annotated[Optional[str], typer.Option(help="only this tenant's decisions")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """What-if: replay the recorded policy inputs since SINCE against the
    candidate policy and report how many decisions would route elsewhere,
    from which endpoint to which, and for which GDPR categories. Nothing is
    forwarded or recorded. Exit code 0; 1 when the candidate does not load."""
    from policy import PolicyError
    from policy.diff import RecordedDecision, render, replay
    from policy.embedded import EmbeddedEngine
    from services.audit.repository import recorded_policy_inputs
    from services.db import make_engine, make_sessionmaker
    from services.periods import parse_moment

    settings = _settings()
    try:
        start = parse_moment(since)
    except ValueError as exc:
        raise _fail(f"--since {exc}") from None
    try:
        # The candidate is evaluated in-process whatever engine serves: the
        # parity tests hold the two engines to the same decisions.
        engine = EmbeddedEngine.from_dir(candidate)
    except PolicyError as exc:
        raise _fail(f"candidate policy {candidate}: {exc}", code=1) from None
    db = make_engine(settings.database_url)
    try:
        with make_sessionmaker(db)() as session:
            rows = recorded_policy_inputs(session, start, tenant)
            report = replay(
                (RecordedDecision(str(r.id), r.policy_input, r.plan or [], r.sensitivity, r.gdpr_categories or []) for r in rows),
                engine,
            )
    finally:
        db.dispose()
    if as_json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        typer.echo()
    else:
        typer.echo(render(report, start.isoformat(timespec="seconds")))


def _time_option(value: str | None, option: str):
    """A ``--since``/``--until`` value as a UTC time (services.periods), or the CLI's usage error."""
    from services.periods import parse_option

    try:
        return parse_option(value, option)
    except ValueError as exc:
        raise _fail(str(exc)) from None


@audit_app.command("verify")
def audit_verify(
    since: Annotated[Optional[str], typer.Option(help="rows created from this time: 30d, 12h or an ISO date/time (UTC if no zone)")] = None,
    until: Annotated[Optional[str], typer.Option(help="rows created before this time (same forms)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    workers: Annotated[Optional[int], typer.Option(help="processes walking a long chain in parallel (default: one per core)")] = None,
) -> None:
    """Walk the decision and outcome hash chains and name the first broken
    row. Exit code 0 when both verify, 1 when one is broken."""
    import os

    from services.audit.chain_endpoints import public_key_of
    from services.audit.verify import verify
    from services.db import make_engine

    settings = _settings()
    start, end = _time_option(since, "--since"), _time_option(until, "--until")
    engine = make_engine(settings.database_url)
    try:
        report = verify(engine, start, end, public_key_of(settings), workers=workers or os.cpu_count() or 1)
    finally:
        engine.dispose()
    if as_json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        typer.echo()
    else:
        for chain in report.chains:
            if chain.broken is None:
                span = f"seq {chain.first_seq}..{chain.last_seq}, from {chain.anchored_at}" if chain.rows_checked else "empty"
                typer.echo(f"{chain.chain}: ok, {chain.rows_checked} rows ({span}); checkpoints: {chain.checkpoints}, signatures {chain.signatures}")
            else:
                b = chain.broken
                typer.echo(f"{chain.chain}: BROKEN after {chain.rows_checked} good rows")
                typer.echo(f"  first broken row: {b.table} seq {b.seq} id {b.id}: {b.problem}: {b.detail}")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("retention")
def audit_retention(
    keep_months: Annotated[int, typer.Option(help="keep this many whole months before the current one")],
) -> None:
    """Drop monthly partitions older than --keep-months, after a signed
    checkpoint per chain (needs DOUANE_AUDIT_SIGNING_KEY; PostgreSQL only)."""
    from services.audit.retention import RetentionError, apply_retention, load_signing_key
    from services.db import make_engine

    settings = _settings()
    try:
        key = load_signing_key(settings.audit_signing_key)
    except RetentionError as exc:
        raise _fail(str(exc)) from None
    engine = make_engine(settings.database_url)
    try:
        dropped = apply_retention(engine, keep_months, key)
    except RetentionError as exc:
        raise _fail(str(exc), code=1) from None
    finally:
        engine.dispose()
    if not dropped:
        typer.echo(f"nothing older than {keep_months} months")
    for d in dropped:
        typer.echo(f"{d.chain}: dropped {', '.join(d.partitions)} ({d.rows} rows); checkpoint up to seq {d.up_to_seq}")


@audit_app.command("partitions")
def audit_partitions(
    months_ahead: Annotated[int, typer.Option(help="create monthly partitions up to this many months ahead")] = 3,
) -> None:
    """Create the coming months' partitions (run monthly, e.g. from cron; the
    DEFAULT partition catches rows meanwhile, so no insert ever fails)."""
    from services.audit.retention import create_partitions
    from services.db import make_engine

    engine = make_engine(_settings().database_url)
    try:
        made = create_partitions(engine, 0, months_ahead)
    finally:
        engine.dispose()
    typer.echo(f"{made} partition(s) created")


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the Ed25519 public key (base64, raw 32 bytes) of DOUANE_AUDIT_SIGNING_KEY:
    what an auditor needs to check retention checkpoints."""
    from services.audit.retention import RetentionError, key_id, load_signing_key, public_key_b64

    try:
        public = load_signing_key(_settings().audit_signing_key).public_key()
    except RetentionError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{key_id(public)} {public_key_b64(public)}")


@report_app.command("cost")
def report_cost(
    since: Annotated[Optional[str], typer.Option(help="answers completed from this time: 30d, 12h, 90m or an ISO date/time (UTC if no zone); default: 30d")] = None,
    until: Annotated[Optional[str], typer.Option(help="answers completed before this time (same forms; default: now)")] = None,
    tenant: Annotated[Optional[str], typer.Option(help="only this tenant's traffic (default: every tenant); with --synthetic, the tenant the requests are decided as (default: synthetic)")] = None,
    baseline: Annotated[
        Optional[list[str]],
        typer.Option("--baseline", help="a catalog endpoint id to price the same tokens at; repeat for more (default: the cheapest and the most expensive)"),
    ] = None,
    synthetic: Annotated[
        Optional[str],
        typer.Option(help="price a generated workload instead of the log: a name under config/workloads/ (beside the catalog), e.g. support-desk, or a .yaml path"),
    ] = None,
    requests: Annotated[int, typer.Option(min=1, max=100_000, help="with --synthetic: how many requests to generate")] = 1000,
    seed: Annotated[int, typer.Option(help="with --synthetic: the generator's seed (the same seed, the same requests)")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON (money as exact decimal strings)")] = False,
) -> None:
    """What the answered requests cost, per endpoint and per quality tier,
    against everything on the frontier endpoint, everything on the cheapest
    endpoint, and the same tokens on chosen endpoints at their catalog
    prices. --synthetic decides a generated workload offline (the real
    detector, complexity estimate and policy; nothing forwarded, nothing
    written) and prices it the same way, to show the saving before any real
    traffic. Exit code 0; 2 on a bad option, an unknown baseline or workload."""
    from services.audit.cost import UnknownBaseline, baseline_endpoints, cost_report, default_baselines
    from services.audit.cost_text import render, render_workload
    from services.routing.catalog import CatalogError, load_catalog

    settings = _settings()
    try:
        catalog = load_catalog(settings.endpoints_file)
    except CatalogError as exc:
        raise _fail(str(exc)) from None
    baselines = baseline or default_baselines(catalog)
    try:
        baseline_endpoints(catalog, baselines)
    except UnknownBaseline as exc:
        raise _fail(f"--baseline: {exc}") from None
    if synthetic is not None:
        if since is not None or until is not None:
            raise _fail("--synthetic prices generated requests, not a period of the log: drop --since and --until")
        workload = _synthetic_workload(settings, catalog, synthetic, requests, seed, tenant, baselines)
        typer.echo(workload.model_dump_json(indent=2) if as_json else render_workload(workload))
        return
    from services.db import make_engine, make_sessionmaker

    start, end = _time_option(since or "30d", "--since"), _time_option(until, "--until")
    db = make_engine(settings.database_url)
    try:
        with make_sessionmaker(db)() as session:
            report = cost_report(session, catalog, tenant=tenant, since=start, until=end, baselines=baselines)
    finally:
        db.dispose()
    typer.echo(report.model_dump_json(indent=2) if as_json else render(report))


def _synthetic_workload(settings: Settings, catalog, name: str, count: int, seed: int, tenant: str | None, baselines):
    """``douane report cost --synthetic``: generate, decide offline, price."""
    from policy import PolicyError, load_engine
    from services.pii import build_detector
    from services.routing.complexity import ComplexityClassifier, ComplexityConfigError
    from services.routing.workload import SYNTHETIC_TENANT, OfflineDecider, Workload, WorkloadError, workload_report

    path = Path(name) if name.endswith((".yaml", ".yml")) else settings.endpoints_file.parent / "workloads" / f"{name}.yaml"
    try:
        workload = Workload.load(path)
        classifier = ComplexityClassifier.load(settings.complexity_file)
        policy = load_engine(settings.policy_engine, settings.policy_dir, settings.opa_url)
    except (WorkloadError, ComplexityConfigError, PolicyError) as exc:
        raise _fail(f"--synthetic: {exc}") from None
    decider = OfflineDecider(
        catalog=catalog, detector=build_detector(), policy=policy, complexity=classifier,
        default_output_tokens=settings.default_output_tokens, tenant=tenant or SYNTHETIC_TENANT,
    )
    planned = decider.decide_all(workload.generate(count, seed))
    return workload_report(workload, seed, planned, catalog, tenant=decider.principal.tenant, baselines=baselines)


if __name__ == "__main__":
    app()
