"""HTTP routes of the policy (role dpo): what runs, reload it, try it."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.deps import DpoKey, RuntimeDep
from services.gateway.errors import AuthenticationRequired, BadRequest, DouaneError, Forbidden, responses
from services.gateway.strict import UnsupportedMediaType
from services.policy import service
from services.policy.schemas import EvaluateRequest, EvaluateView, PolicyView, ReloadView
from services.routing.limits import check_limits
from services.routing.service import UnknownModel

router = APIRouter(tags=["policy"])


class PolicyRefused(DouaneError):
    """A reload whose policy fails to compile, its checks or its own tests."""

    status_code = 422
    type = "policy_refused"


class ReloadUnavailable(DouaneError):
    status_code = 503
    type = "reload_unavailable"


@router.get(
    "/v1/policy",
    response_model=PolicyView,
    summary="The running policy: engine, revision, modules and reference data",
    responses=responses(AuthenticationRequired, Forbidden),
)
def show(_principal: DpoKey, runtime: RuntimeDep) -> PolicyView:
    engine = runtime.policy
    return PolicyView(
        engine=engine.name,
        revision=engine.revision,
        modules=list(engine.modules),
        data_files=list(engine.data_files),
        policy_dir=str(runtime.settings.policy_dir),
        loaded_at=runtime.policy_loaded_at.isoformat(),
    )


@router.post(
    "/v1/policy/reload",
    response_model=ReloadView,
    summary="Load the policy directory now, if it compiles, checks and passes its tests",
    responses=responses(AuthenticationRequired, Forbidden, PolicyRefused, ReloadUnavailable),
)
def reload(_principal: DpoKey, runtime: RuntimeDep) -> ReloadView:
    """Compiles the policy directory, runs `douane policy check` and the
    policy's own tests, and swaps it in atomically. Refused (422, with the
    errors and failing tests) when any step fails; the running revision
    stays. `unchanged` when the directory holds the running revision."""
    if runtime.policy_reloader is None:
        raise ReloadUnavailable("this gateway was started without a policy directory to reload from")
    outcome = runtime.policy_reloader.reload()
    view = ReloadView(**outcome.__dict__)
    if outcome.status == "refused":
        raise PolicyRefused(
            f"the policy was not loaded; revision {outcome.revision} keeps serving",
            details=view.model_dump(),
        )
    return view


@router.post(
    "/v1/policy/evaluate",
    response_model=EvaluateView,
    summary="Dry run: the decision and why, recorded nowhere, forwarded nowhere",
    responses=responses(
        BadRequest, AuthenticationRequired, Forbidden, UnknownModel, service.PolicyFailed, UnsupportedMediaType
    ),
)
def evaluate(principal: DpoKey, body: EvaluateRequest, runtime: RuntimeDep) -> EvaluateView:
    """Send `request` (a chat request as an app would; detection runs on it)
    or `input` (a policy input document, e.g. a recorded decision's
    `policy_input`). The answer is the running policy's decision with, for
    every endpoint, its rank or the reasons it was denied."""
    if body.request is not None:
        check_limits(body.request, runtime.settings, loc=("body", "request"))
    policy_input = body.input if body.input is not None else service.input_for_request(runtime, principal, body.request)
    return service.evaluate(runtime, policy_input)
