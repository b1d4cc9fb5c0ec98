"""Checks a decision document against the input it was computed for.

The gateway forwards data on the strength of `plan`; a document that names an
endpoint it was not offered, or forgets one, must never be acted on. Every
problem raises PolicyOutputError naming it, and the caller fails closed.
"""

from __future__ import annotations

from typing import Any

from policy.decision import PolicyDecision
from policy.errors import PolicyError, PolicyOutputError

SENSITIVITIES = ("none", "personal", "special")
REQUIRED_KEYS = ("sensitivity", "gdpr_categories", "plan", "denied", "obligations", "reasons")
# Obligations the gateway knows how to fulfil, each naming entity types. A
# policy asking for anything else cannot be obeyed, so it is not acted on.
OBLIGATIONS = ("pseudonymise",)
# Checks of a cascade's first answer the gateway knows how to run.
CASCADE_CHECKS = ("json", "not_refusal", "not_empty")


def candidate_ids(policy_input: dict) -> list[str]:
    """The candidate ids of an input; refuses inputs the output cannot be checked against."""
    candidates = policy_input.get("candidates") if isinstance(policy_input, dict) else None
    if not isinstance(candidates, list):
        raise PolicyError("policy input has no candidates list")
    ids = []
    for index, candidate in enumerate(candidates):
        if not isinstance(candidate, dict) or not isinstance(candidate.get("id"), str) or not candidate["id"]:
            raise PolicyError(f"policy input candidate #{index} has no string id")
        ids.append(candidate["id"])
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise PolicyError(f"policy input lists candidate ids more than once: {', '.join(duplicates)}")
    return ids


def validate_decision(document: Any, policy_input: dict) -> PolicyDecision:
    offered = set(candidate_ids(policy_input))
    if document is None:
        raise PolicyOutputError("policy decision is undefined (data.douane.decision produced no value)")
    if not isinstance(document, dict):
        raise PolicyOutputError(f"policy decision must be an object, got {type(document).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in document]
    if missing:
        raise PolicyOutputError(f"policy decision is missing {', '.join(missing)}")

    sensitivity = document["sensitivity"]
    if sensitivity not in SENSITIVITIES:
        raise PolicyOutputError(f"sensitivity must be one of {', '.join(SENSITIVITIES)}, got {sensitivity!r}")
    categories = _string_list(document["gdpr_categories"], "gdpr_categories")
    _check_sensitivity_matches(sensitivity, categories)

    plan = _string_list(document["plan"], "plan")
    if len(set(plan)) != len(plan):
        raise PolicyOutputError(f"plan lists an endpoint more than once: {plan}")
    unknown = [i for i in plan if i not in offered]
    if unknown:
        raise PolicyOutputError(f"plan names endpoints that were not candidates: {', '.join(unknown)}")

    denied = _denied(document["denied"], offered)
    both = sorted(set(plan) & set(denied))
    if both:
        raise PolicyOutputError(f"endpoints are both planned and denied: {', '.join(both)}")
    unaccounted = sorted(offered - set(plan) - set(denied))
    if unaccounted:
        raise PolicyOutputError(f"candidates neither planned nor denied: {', '.join(unaccounted)}")

    obligations = document["obligations"]
    if not isinstance(obligations, dict):
        raise PolicyOutputError("obligations must be an object of endpoint id -> object")
    for endpoint, items in obligations.items():
        if endpoint not in plan:
            raise PolicyOutputError(f"obligations name endpoint {endpoint!r}, which is not in the plan")
        if not isinstance(items, dict):
            raise PolicyOutputError(f"obligations for {endpoint!r} must be an object")
        for kind, entities in items.items():
            if kind not in OBLIGATIONS:
                raise PolicyOutputError(
                    f"obligation {kind!r} for {endpoint!r} is not one the gateway can fulfil "
                    f"({', '.join(OBLIGATIONS)})"
                )
            if not _string_list(entities, f"obligations[{endpoint!r}].{kind}"):
                raise PolicyOutputError(f"obligation {kind!r} for {endpoint!r} names no entity types")

    reasons = _string_list(document["reasons"], "reasons")
    _check_cascade(document.get("quality"), plan)
    return PolicyDecision(
        sensitivity=sensitivity,
        gdpr_categories=categories,
        plan=plan,
        denied=denied,
        obligations=obligations,
        reasons=reasons,
        document=document,
    )


def cascade_of(document: dict) -> dict | None:
    """The cascade a validated decision asks for: {"endpoint", "check"} of
    plan[0], whose answer must pass the check before it is returned; None
    for a decision without one."""
    quality = document.get("quality")
    return quality.get("cascade") if isinstance(quality, dict) else None


def _check_cascade(quality: Any, plan: list[str]) -> None:
    # Optional: a policy without the quality concern has no "quality" key.
    if quality is None:
        return
    if not isinstance(quality, dict):
        raise PolicyOutputError("quality must be an object")
    cascade = quality.get("cascade")
    if cascade is None:
        return
    if not isinstance(cascade, dict) or set(cascade) != {"endpoint", "check"}:
        raise PolicyOutputError(f"quality.cascade must be an object of endpoint and check, got {cascade!r}")
    if cascade["check"] not in CASCADE_CHECKS:
        raise PolicyOutputError(
            f"quality.cascade.check {cascade['check']!r} is not one the gateway can run ({', '.join(CASCADE_CHECKS)})"
        )
    if not plan or cascade["endpoint"] != plan[0]:
        raise PolicyOutputError("quality.cascade.endpoint must be the plan's first endpoint")
    if len(plan) < 2:
        raise PolicyOutputError("a cascade needs an endpoint to escalate to after its first try")


def _string_list(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PolicyOutputError(f"{field} must be an array of strings, got {value!r}")
    return list(value)


def _check_sensitivity_matches(sensitivity: str, categories: list[str]) -> None:
    # The gateway logs both fields; if they disagree, one of them is wrong and
    # we cannot tell which, so the decision is not trusted. Which further
    # categories count as special (Art. 10 "criminal", say) is the DPO's data,
    # so only what the names themselves say is checked here.
    problem = None
    if not categories and sensitivity != "none":
        problem = "no category but sensitivity is not 'none'"
    elif categories and sensitivity == "none":
        problem = "categories found but sensitivity is 'none'"
    elif any(c.startswith("special:") for c in categories) and sensitivity != "special":
        problem = "a special: category but sensitivity is not 'special'"
    elif sensitivity == "special" and set(categories) <= {"personal"}:
        problem = "sensitivity 'special' with no category beyond 'personal'"
    if problem:
        raise PolicyOutputError(f"sensitivity {sensitivity!r} does not match gdpr_categories {categories}: {problem}")


def _denied(value: Any, offered: set[str]) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise PolicyOutputError("denied must be an object of endpoint id -> reasons")
    denied: dict[str, list[str]] = {}
    for endpoint, reasons in value.items():
        if endpoint not in offered:
            raise PolicyOutputError(f"denied names endpoint {endpoint!r}, which was not a candidate")
        if (
            not isinstance(reasons, list)
            or not reasons
            or not all(isinstance(r, str) and r.strip() for r in reasons)
        ):
            raise PolicyOutputError(f"denied[{endpoint!r}] must be a non-empty array of non-empty strings")
        denied[endpoint] = list(reasons)
    return denied
