"""What can go wrong between the gateway and an upstream, as the design's
error shape: every error names the decision and the upstream(s) involved."""

from __future__ import annotations

from services.gateway.errors import DouaneError, Forbidden


class PolicyDenied(Forbidden):
    """The policy allows no endpoint for this request (the reasons are in details)."""

    type = "policy_denied"


class UpstreamError(DouaneError):
    """The upstream answered with an error that is not worth retrying elsewhere, or broke its answer."""

    status_code = 502
    type = "upstream_error"


class PlanExhausted(DouaneError):
    """Every endpoint of the policy's plan was tried and none answered."""

    status_code = 503
    type = "upstream_unavailable"


class UpstreamTimeout(DouaneError):
    """Every endpoint of the plan timed out."""

    status_code = 504
    type = "upstream_timeout"
