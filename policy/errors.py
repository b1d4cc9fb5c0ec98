"""Errors raised by the policy engine. Callers fail closed on any of them."""


class PolicyError(Exception):
    """The policy could not be loaded, compiled or evaluated."""


class PolicyOutputError(PolicyError):
    """The policy ran but its decision document is missing or malformed."""
