"""Synthetic workloads: what quality tiers save before any real traffic
exists (``douane report cost --synthetic support-desk``).

A workload is data (config/workloads/<name>.yaml): weighted kinds of request
(short questions, pasted documents, complex tasks), weighted languages,
templates per kind and language, and slots filled from lists. A seeded
generator draws requests from it; the same seed gives the same requests.

Each request is decided offline on the gateway's own decision path, with
the gateway's parts: the real detector, the complexity estimate, the
catalog candidates (catalog priors, every endpoint healthy) and the real
policy engine, on a policy input built as services/routing/service.py
builds it. Nothing is forwarded and nothing is written to the audit log.
A routed request is priced as the gateway estimates it: its estimated
tokens (services/routing/usage.py) at its planned endpoint's catalog
prices; a denied or failed one is counted, not priced.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from policy import PolicyDecision, PolicyEngine
from services.audit.cost import UNKNOWN_TIER, money, priced_report, tokens_cost
from services.audit.schemas import EndpointActualSpend, Period, WorkloadCostReport, WorkloadMix
from services.keys.models import Role
from services.keys.service import Principal
from services.pii import DetectionError, Detector
from services.providers.health import EndpointHealth
from services.routing.candidates import build_candidates
from services.routing.catalog import TIERS, Catalog
from services.routing.complexity import Complexity, ComplexityClassifier
from services.routing.schemas import ChatCompletionRequest, RoutingHints, UsageEstimate
from services.routing.service import policy_request
from services.routing.usage import estimate_usage

SYNTHETIC_TENANT = "synthetic"
SYNTHETIC_KEY_ID = "k_synthetic000000"
_SLOT = re.compile(r"\{(\w+)\}")
DOCUMENT_SLOT = "document"
# The order the mix is printed in; any other value follows, by count.
COMPLEXITY_ORDER = ("simple", "standard", "complex")
SENSITIVITY_ORDER = ("none", "personal", "special")


class WorkloadError(Exception):
    """A workload file cannot be used; the message names the file and what is wrong."""


class Kind(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: float = Field(gt=0)
    max_tokens: list[int] = Field(min_length=1)  # one is drawn per request
    templates: dict[str, list[str]]  # language -> templates
    paragraphs: tuple[int, int] | None = None  # bounds of a {document}'s paragraph count

    @model_validator(mode="after")
    def _bounds(self) -> Kind:
        if self.paragraphs and not 1 <= self.paragraphs[0] <= self.paragraphs[1]:
            raise ValueError(f"paragraphs: expected [low, high] with 1 <= low <= high, got {list(self.paragraphs)}")
        return self


class Workload(BaseModel):
    """A workload file, checked: every kind has templates in every language,
    every slot a template names is defined."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    routing: RoutingHints = RoutingHints()
    system: str | None = None  # the app's system prompt, sent with every request
    languages: dict[str, float] = Field(min_length=1)
    kinds: dict[str, Kind] = Field(min_length=1)
    paragraphs: dict[str, list[str]] = {}
    slots: dict[str, list[str] | dict[str, list[str]]] = {}

    @model_validator(mode="after")
    def _complete(self) -> Workload:
        problems = []
        for kind_name, kind in self.kinds.items():
            for language in self.languages:
                templates = kind.templates.get(language)
                if not templates:
                    problems.append(f"kind {kind_name!r} has no templates in {language!r}")
                    continue
                texts = [*templates, *(self.paragraphs.get(language, []) if kind.paragraphs else [])]
                for name in {slot for text in texts for slot in _SLOT.findall(text)}:
                    if name == DOCUMENT_SLOT:
                        if not kind.paragraphs or not self.paragraphs.get(language):
                            problems.append(f"kind {kind_name!r} uses {{document}} without paragraphs in {language!r}")
                    elif not self._values(name, language):
                        problems.append(f"slot {{{name}}} has no values in {language!r} (kind {kind_name!r})")
        if problems:
            raise ValueError("; ".join(sorted(problems)))
        return self

    def _values(self, slot: str, language: str) -> list[str]:
        values = self.slots.get(slot)
        return values.get(language, []) if isinstance(values, dict) else (values or [])

    @classmethod
    def load(cls, path: Path) -> Workload:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls.model_validate(raw)
        except FileNotFoundError:
            raise WorkloadError(f"{path}: no such workload file") from None
        except (OSError, yaml.YAMLError) as exc:
            raise WorkloadError(f"{path}: {exc}") from None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors())
            raise WorkloadError(f"{path}: {problems}") from None

    def generate(self, count: int, seed: int) -> list[SyntheticRequest]:
        """``count`` requests drawn with ``random.Random(seed)``: the same
        workload, count and seed give the same requests."""
        rng = random.Random(seed)
        kinds, languages = list(self.kinds), list(self.languages)
        requests = []
        for index in range(count):
            kind_name = rng.choices(kinds, weights=[self.kinds[k].weight for k in kinds])[0]
            language = rng.choices(languages, weights=[self.languages[lang] for lang in languages])[0]
            kind = self.kinds[kind_name]
            text = self._fill(rng.choice(kind.templates[language]), language, kind, rng, {})
            messages = [{"role": "system", "content": self.system}] if self.system else []
            messages.append({"role": "user", "content": text})
            request = ChatCompletionRequest(
                model="auto", messages=messages, max_tokens=rng.choice(kind.max_tokens), routing=self.routing
            )
            requests.append(SyntheticRequest(f"{self.name}-{index + 1:05d}", kind_name, language, request))
        return requests

    def _fill(self, text: str, language: str, kind: Kind, rng: random.Random, chosen: dict[str, str]) -> str:
        """The template with its slots filled; one value per slot per request
        (the customer who signs the e-mail is the one who asks)."""

        def value(match: re.Match[str]) -> str:
            slot = match.group(1)
            if slot == DOCUMENT_SLOT:
                low, high = kind.paragraphs or (0, 0)
                pasted = [rng.choice(self.paragraphs[language]) for _ in range(rng.randint(low, high))]
                return "\n\n".join(self._fill(p, language, kind, rng, chosen) for p in pasted)
            if slot not in chosen:
                drawn = rng.choice(self._values(slot, language))
                chosen[slot] = re.sub("#", lambda _: str(rng.randrange(10)), drawn)
            return chosen[slot]

        return _SLOT.sub(value, text)


@dataclass(frozen=True)
class SyntheticRequest:
    id: str
    kind: str  # what the generator meant: a kind of the workload file
    language: str
    request: ChatCompletionRequest


@dataclass(frozen=True)
class PlannedRequest:
    """One synthetic request's offline decision."""

    synthetic: SyntheticRequest
    usage: UsageEstimate
    complexity: Complexity | None  # None: decided without the estimate, or detection failed first
    decision: PolicyDecision | None  # None: detection or the policy failed (fail closed)

    @property
    def status(self) -> Literal["routed", "denied", "failed"]:
        if self.decision is None:
            return "failed"
        return "routed" if self.decision.plan else "denied"

    @property
    def endpoint(self) -> str | None:
        """Where the gateway would send it: the plan's first endpoint."""
        return self.decision.plan[0] if self.decision and self.decision.plan else None


class OfflineDecider:
    """The gateway's decision path without its side effects: the same policy
    input (services/routing/service.py) and the same engine, no audit row,
    no forwarding. Collaborators come in through the constructor."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        detector: Detector,
        policy: PolicyEngine,
        complexity: ComplexityClassifier,
        default_output_tokens: int,
        tenant: str = SYNTHETIC_TENANT,
    ) -> None:
        self.catalog = catalog
        self.detector = detector
        self.policy = policy
        self.complexity = complexity
        self.default_output_tokens = default_output_tokens
        self.principal = Principal(key_id=SYNTHETIC_KEY_ID, tenant=tenant, role=Role.app)
        self.health = EndpointHealth()  # no calls made: catalog priors, every endpoint healthy

    def decide(self, synthetic: SyntheticRequest, *, tiers: bool = True) -> PlannedRequest:
        """Detect, estimate, ask the policy. ``tiers=False`` leaves the
        complexity estimate out of the policy input, which then asks for no
        tier (a decision as it was before tiers existed)."""
        request = synthetic.request
        usage = estimate_usage(request, self.default_output_tokens)
        try:
            findings = self.detector.detect(request.texts())
        except DetectionError:
            return PlannedRequest(synthetic, usage, None, None)
        complexity = self.complexity.classify(request, usage.output_tokens) if tiers else None
        policy_input = {
            "request": policy_request(self.principal, request, usage, complexity),
            "findings": findings.to_policy_input(),
            "candidates": build_candidates(self.catalog, usage, self.health),
        }
        try:
            decision = self.policy.evaluate(policy_input)
        except Exception:  # noqa: BLE001 - PolicyError or an engine bug: as in the gateway, no plan
            decision = None
        return PlannedRequest(synthetic, usage, complexity, decision)

    def decide_all(self, requests: Iterable[SyntheticRequest], *, tiers: bool = True) -> list[PlannedRequest]:
        return [self.decide(r, tiers=tiers) for r in requests]


def workload_report(
    workload: Workload, seed: int, planned: Sequence[PlannedRequest], catalog: Catalog, *, tenant: str,
    baselines: Sequence[str],
) -> WorkloadCostReport:
    """The cost report of the routed requests, each at its estimated tokens
    on its planned endpoint, with the mix the generator and the policy made.
    Raises ``UnknownBaseline`` (services.audit.cost)."""
    routed = [p for p in planned if p.status == "routed"]
    by_endpoint: dict[str, list[PlannedRequest]] = {}
    for p in routed:
        by_endpoint.setdefault(p.endpoint, []).append(p)
    spend = []
    for endpoint_id, requests in by_endpoint.items():
        endpoint = catalog.get(endpoint_id)  # the policy plans among catalog candidates only
        cost = sum((tokens_cost(endpoint, p.usage.input_tokens, p.usage.output_tokens) for p in requests), start=Decimal(0))
        spend.append(
            EndpointActualSpend(
                endpoint=endpoint_id,
                requests=len(requests),
                requests_without_usage=0,
                input_tokens=sum(p.usage.input_tokens for p in requests),
                output_tokens=sum(p.usage.output_tokens for p in requests),
                cost_usd=money(cost),
            )
        )
    decided = [p for p in planned if p.decision is not None]
    quality = [p.decision.document.get("quality") or {} for p in decided]
    mix = WorkloadMix(
        kind=_counts((p.synthetic.kind for p in planned), list(workload.kinds)),
        complexity=_counts((p.complexity.level for p in planned if p.complexity), COMPLEXITY_ORDER),
        needed_tier=_counts((q["needed_tier"] for q in quality if "needed_tier" in q), TIERS),
        tier=_counts((_tier(catalog, p.endpoint) for p in routed), TIERS),
        sensitivity=_counts((p.decision.sensitivity for p in decided), SENSITIVITY_ORDER),
    )
    cost = priced_report(
        catalog, spend, period=Period(since=None, until=None, tenant=tenant), baselines=baselines
    )
    return WorkloadCostReport(
        workload=workload.name,
        seed=seed,
        generated=len(planned),
        routed=len(routed),
        denied=sum(p.status == "denied" for p in planned),
        failed=sum(p.status == "failed" for p in planned),
        mix=mix,
        cost=cost,
    )


def _tier(catalog: Catalog, endpoint_id: str | None) -> str:
    endpoint = catalog.get(endpoint_id) if endpoint_id else None
    return endpoint.tier if endpoint else UNKNOWN_TIER


def _counts(values: Iterable[str], order: Sequence[str]) -> dict[str, int]:
    """Counts in ``order`` (zeros included), then any other value by count."""
    counted = Counter(values)
    ordered = {name: counted.pop(name, 0) for name in order}
    return {**ordered, **dict(counted.most_common())}
