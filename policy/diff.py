"""What-if: replay recorded policy inputs against a candidate policy and say
what would have changed.

Each recorded decision holds the policy input it was made from (no prompt
text) and the plan the running policy returned. Replaying that input against
a candidate policy gives the decision the candidate would have made on the
same request, with the same findings and the same endpoint state; nothing is
forwarded or recorded. A decision "changes" when its first endpoint changes
(including to or from "no endpoint"); a change further down the plan is
counted apart, since it only matters when the first endpoint fails.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from policy.engine import PolicyEngine
from policy.errors import PolicyError

NOWHERE = "(denied)"


@dataclass(frozen=True)
class RecordedDecision:
    id: str
    policy_input: dict
    plan: list[str]
    sensitivity: str | None
    gdpr_categories: list[str]


@dataclass
class DiffReport:
    candidate_revision: str
    replayed: int = 0
    changed: int = 0
    fallbacks_changed: int = 0
    sensitivity_changed: int = 0
    failed: int = 0  # the candidate policy could not decide: it would have refused these requests
    transitions: Counter = field(default_factory=Counter)  # (from, to) -> count
    categories: Counter = field(default_factory=Counter)  # category -> changed decisions carrying it
    examples: dict[tuple[str, str], str] = field(default_factory=dict)  # (from, to) -> one decision id
    failures: Counter = field(default_factory=Counter)  # error message -> count

    def to_dict(self) -> dict:
        return {
            "candidate_revision": self.candidate_revision,
            "replayed": self.replayed,
            "changed": self.changed,
            "unchanged": self.replayed - self.changed - self.failed,
            "fallbacks_changed": self.fallbacks_changed,
            "sensitivity_changed": self.sensitivity_changed,
            "failed": self.failed,
            "transitions": [
                {"from": a, "to": b, "count": n, "example_decision_id": self.examples[(a, b)]}
                for (a, b), n in self.transitions.most_common()
            ],
            "categories": dict(self.categories.most_common()),
            "failures": dict(self.failures.most_common()),
        }


def replay(decisions: Iterable[RecordedDecision], candidate: PolicyEngine) -> DiffReport:
    report = DiffReport(candidate_revision=candidate.revision)
    for recorded in decisions:
        report.replayed += 1
        try:
            decision = candidate.evaluate(recorded.policy_input)
        except PolicyError as exc:
            report.failed += 1
            report.failures[str(exc)[:200]] += 1
            continue
        before = recorded.plan[0] if recorded.plan else NOWHERE
        after = decision.plan[0] if decision.plan else NOWHERE
        if decision.sensitivity != recorded.sensitivity:
            report.sensitivity_changed += 1
        if before != after:
            report.changed += 1
            report.transitions[(before, after)] += 1
            report.examples.setdefault((before, after), recorded.id)
            for category in sorted(set(recorded.gdpr_categories) | set(decision.gdpr_categories)) or ["none"]:
                report.categories[category] += 1
        elif list(recorded.plan) != list(decision.plan):
            report.fallbacks_changed += 1
    return report


def render(report: DiffReport, since_label: str) -> str:
    unchanged = report.replayed - report.changed - report.failed
    lines = [
        f"candidate policy {report.candidate_revision}",
        f"replayed {report.replayed} recorded decisions since {since_label}: "
        f"{report.changed} would route elsewhere, {unchanged} unchanged, {report.failed} the candidate could not decide",
        f"  first endpoint unchanged but fallbacks differ: {report.fallbacks_changed}",
        f"  sensitivity judged differently: {report.sensitivity_changed}",
    ]
    if report.transitions:
        lines.append("")
        lines.append(f"{'from':<22} {'to':<22} {'count':>7}  example decision")
        for (before, after), count in report.transitions.most_common():
            lines.append(f"{before:<22} {after:<22} {count:>7}  {report.examples[(before, after)]}")
    if report.categories:
        lines.append("")
        lines.append("changed decisions by GDPR category:")
        for category, count in report.categories.most_common():
            lines.append(f"  {category:<28} {count:>7}")
    if report.failures:
        lines.append("")
        lines.append("the candidate policy failed on:")
        for message, count in report.failures.most_common(5):
            lines.append(f"  {count:>7}  {message}")
    return "\n".join(lines)
