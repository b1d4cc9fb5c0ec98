"""How well does douane estimate how demanding a request is? `make eval`.

Runs the gateway's complexity classifier (services/routing/complexity.py with
services/routing/complexity.yaml) over the hand-labelled set (eval/complexity/
prompts.jsonl, issue 9). Each labelled row is built as the gateway would
receive it: its messages, its tools as minimal OpenAI function specs, a JSON
response format as {"type": "json_object"}, its max_tokens; the output tokens
the classifier sees are max_tokens or the gateway's default
(Settings.default_output_tokens), as services/routing/usage.py counts them.

Printed: accuracy overall and per language, the confusion matrix, and the
two ways to be wrong, which cost differently:
- under-routing: a complex request estimated simple goes to the small tier,
  where a weak model visibly fails. The target: at most 5 % of the complex
  requests. Complex estimated standard is reported beside it;
- over-routing: a simple request estimated complex (or standard) goes to a
  dearer tier than it needs. Its price is shown: the set's estimated cost
  routed by the estimate, by the labels, and all on the frontier tier, at the
  catalog's prices (config/endpoints.yaml) and the policy's tier map
  (policies/reference/quality/data.json).

Also printed: classify()'s time per request (p50, p95), on all requests and
on the long ones, since it runs on every request.

Exit status 1 when under-routing exceeds the target (--no-fail: report
only). --explain lists every misclassified id with its score and signals
(and at most 80 characters of its task).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.routing.catalog import TIERS, Catalog, load_catalog  # noqa: E402
from services.routing.complexity import LEVELS, ComplexityClassifier  # noqa: E402
from services.routing.schemas import ChatCompletionRequest  # noqa: E402
from services.routing.usage import estimate_usage  # noqa: E402
from services.settings import Settings  # noqa: E402

DEFAULT_SET = ROOT / "eval" / "complexity" / "prompts.jsonl"
DEFAULT_RULES = ROOT / "services" / "routing" / "complexity.yaml"
CATALOG = ROOT / "config" / "endpoints.yaml"
QUALITY_DATA = ROOT / "policies" / "reference" / "quality" / "data.json"
# Complex requests estimated simple (sent to the small tier), at most.
TARGETS = {"under_routing": 0.05}
LONG_CHARS = 3000  # "long request" for the timing figure
EXPLAIN_CHARS = 80


@dataclass(frozen=True)
class Prediction:
    id: str
    language: str
    label: str
    level: str
    score: float
    signals: tuple[str, ...]


@dataclass
class Figures:
    n: int = 0
    accuracy: float | None = None
    per_language: dict[str, float | None] = field(default_factory=dict)
    confusion: dict[str, Counter] = field(default_factory=dict)  # label -> predicted level -> count
    complex_n: int = 0
    simple_n: int = 0
    under_routing: float | None = None  # complex -> simple, of complex
    complex_to_standard: float | None = None
    over_routing_complex: float | None = None  # simple -> complex, of simple
    over_routing_standard: float | None = None  # simple -> standard, of simple


# ---------------------------------------------------------------- requests


def load_prompts(path: Path = DEFAULT_SET) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def build_request(row: dict) -> ChatCompletionRequest:
    body: dict = {"model": "auto", "messages": row["messages"]}
    if row.get("max_tokens"):
        body["max_tokens"] = row["max_tokens"]
    if row.get("tools"):
        body["tools"] = [
            {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {}}}}
            for name in row["tools"]
        ]
    if row.get("response_format") == "json":
        body["response_format"] = {"type": "json_object"}
    return ChatCompletionRequest.model_validate(body)


def task_excerpt(row: dict) -> str:
    """The start of the last user message, never more than EXPLAIN_CHARS."""
    task = next(m["content"] for m in reversed(row["messages"]) if m["role"] == "user")
    task = " ".join(task.split())
    return task if len(task) <= EXPLAIN_CHARS else task[: EXPLAIN_CHARS - 1] + "…"


# ---------------------------------------------------------------- scoring


def classify_set(
    prompts: list[dict], classifier: ComplexityClassifier, default_output_tokens: int
) -> list[Prediction]:
    out = []
    for row in prompts:
        request = build_request(row)
        usage = estimate_usage(request, default_output_tokens)
        c = classifier.classify(request, usage.output_tokens)
        out.append(Prediction(row["id"], row["language"], row["tier"], c.level, c.score, c.signals))
    return out


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def figures(predictions: list[Prediction]) -> Figures:
    confusion = {label: Counter() for label in LEVELS}
    for p in predictions:
        confusion[p.label][p.level] += 1
    languages = sorted({p.language for p in predictions})
    complex_n = sum(confusion["complex"].values())
    simple_n = sum(confusion["simple"].values())
    return Figures(
        n=len(predictions),
        accuracy=_ratio(sum(p.level == p.label for p in predictions), len(predictions)),
        per_language={
            lang: _ratio(
                sum(p.level == p.label for p in predictions if p.language == lang),
                sum(p.language == lang for p in predictions),
            )
            for lang in languages
        },
        confusion=confusion,
        complex_n=complex_n,
        simple_n=simple_n,
        under_routing=_ratio(confusion["complex"]["simple"], complex_n),
        complex_to_standard=_ratio(confusion["complex"]["standard"], complex_n),
        over_routing_complex=_ratio(confusion["simple"]["complex"], simple_n),
        over_routing_standard=_ratio(confusion["simple"]["standard"], simple_n),
    )


def score(
    prompts: list[dict] | None = None, rules: Path = DEFAULT_RULES, default_output_tokens: int | None = None
) -> tuple[list[Prediction], Figures]:
    """Classify the labelled set with the gateway's classifier and rules."""
    prompts = load_prompts() if prompts is None else prompts
    if default_output_tokens is None:
        default_output_tokens = Settings().default_output_tokens
    predictions = classify_set(prompts, ComplexityClassifier.load(rules), default_output_tokens)
    return predictions, figures(predictions)


def targets_met(f: Figures) -> dict[str, bool]:
    return {"under_routing": f.under_routing is not None and f.under_routing <= TARGETS["under_routing"]}


# ---------------------------------------------------------------- cost


def tier_for_level(path: Path = QUALITY_DATA) -> dict[str, str]:
    return json.loads(path.read_text(encoding="utf-8"))["tier_for_complexity"]


def _needs(request: ChatCompletionRequest) -> set[str]:
    extra = request.model_extra or {}
    needs = set()
    if extra.get("tools"):
        needs.add("tools")
    if isinstance(extra.get("response_format"), dict):
        needs.add("json_mode")
    return needs


def cheapest_at_or_above(
    catalog: Catalog, tier: str, needs: set[str], tokens: int, input_tokens: int, output_tokens: int
):
    """The endpoint the policy ranks first when compliance denies nothing:
    the cheapest one at or above the tier that takes the request."""
    rank = TIERS.index(tier)
    fitting = [
        e for e in catalog.endpoints
        if TIERS.index(e.tier) >= rank
        and needs <= set(e.capabilities.names())
        and tokens <= e.capabilities.context_window
    ]
    return min(fitting, key=lambda e: (e.cost_usd(input_tokens, output_tokens), e.id), default=None)


@dataclass
class Cost:
    by_prediction: float = 0.0
    by_label: float = 0.0
    all_frontier: float = 0.0
    over_routing: float = 0.0  # what estimating above the label added
    under_routing: float = 0.0  # what estimating below the label saved (and risked)
    unpriced: list[str] = field(default_factory=list)  # ids no endpoint takes at some tier


def costs(prompts: list[dict], predictions: list[Prediction], catalog: Catalog, tiers: dict[str, str], default_output_tokens: int) -> Cost:
    cost = Cost()
    by_id = {p.id: p for p in predictions}
    for row in prompts:
        request = build_request(row)
        usage = estimate_usage(request, default_output_tokens)
        tokens = usage.input_tokens + usage.output_tokens
        needs = _needs(request)

        def price(tier: str) -> float | None:
            e = cheapest_at_or_above(catalog, tier, needs, tokens, usage.input_tokens, usage.output_tokens)
            return None if e is None else e.cost_usd(usage.input_tokens, usage.output_tokens)

        p = by_id[row["id"]]
        predicted, labelled, frontier = price(tiers[p.level]), price(tiers[p.label]), price(TIERS[-1])
        if predicted is None or labelled is None or frontier is None:
            cost.unpriced.append(row["id"])
            continue
        cost.by_prediction += predicted
        cost.by_label += labelled
        cost.all_frontier += frontier
        if LEVELS.index(p.level) > LEVELS.index(p.label):
            cost.over_routing += predicted - labelled
        elif LEVELS.index(p.level) < LEVELS.index(p.label):
            cost.under_routing += labelled - predicted
    return cost


# ---------------------------------------------------------------- timing


def timing(
    prompts: list[dict], rules: Path, default_output_tokens: int, repeat: int = 50
) -> dict[str, tuple[float, float, int]]:
    """classify() time per request in microseconds: (p50, p95, requests), for
    all requests and for the long ones. Requests are built beforehand: only
    the classifier is timed."""
    classifier = ComplexityClassifier.load(rules)
    built = [(build_request(r), r) for r in prompts]
    built = [(q, estimate_usage(q, default_output_tokens).output_tokens, r) for q, r in built]
    samples: dict[str, list[float]] = {"all": [], "long": []}
    for request, output_tokens, row in built:
        long = sum(len(m["content"]) for m in row["messages"]) > LONG_CHARS
        classifier.classify(request, output_tokens)  # warm the regex caches
        runs = []
        for _ in range(repeat):
            started = time.perf_counter_ns()
            classifier.classify(request, output_tokens)
            runs.append((time.perf_counter_ns() - started) / 1000)
        median = statistics.median(runs)
        samples["all"].append(median)
        if long:
            samples["long"].append(median)
    out = {}
    for what, values in samples.items():
        if values:
            values.sort()
            out[what] = (statistics.median(values), values[min(len(values) - 1, int(0.95 * len(values)))], len(values))
    return out


# ---------------------------------------------------------------- printing


def _pct(x: float | None) -> str:
    return "  -   " if x is None else f"{100 * x:5.1f}%"


def _routing_row(f: Figures, label: str, level: str, note: str = "") -> str:
    count, total = f.confusion[label][level], sum(f.confusion[label].values())
    return f"  {label + ' -> ' + level:<20}{note:<16}{count:>3} of {total:<3} {_pct(_ratio(count, total))}"


def print_report(
    prompts: list[dict], predictions: list[Prediction], f: Figures, cost: Cost | None = None,
    tiers: dict[str, str] | None = None, catalog: Catalog | None = None,
    times: dict[str, tuple[float, float, int]] | None = None, explain: bool = False,
) -> None:
    counts = Counter((p.language, p.label) for p in predictions)
    languages = sorted(f.per_language)
    print(f"Complexity evaluation: {f.n} labelled requests")
    print("  " + "  ".join(
        f"{lang}: {'/'.join(str(counts[(lang, level)]) for level in LEVELS)}" for lang in languages
    ) + "   (simple/standard/complex)")
    print()
    print(f"accuracy: {f.accuracy:.3f}  ({sum(p.level == p.label for p in predictions)} of {f.n})")
    print("  per language: " + "  ".join(f"{lang} {acc:.3f}" for lang, acc in f.per_language.items()))
    print()
    print("confusion matrix (rows labelled, columns estimated)")
    print(f"  {'':<10}" + "".join(f"{level:>10}" for level in LEVELS) + f"{'recall':>10}")
    for label in LEVELS:
        row = f.confusion[label]
        total = sum(row.values())
        print(f"  {label:<10}" + "".join(f"{row[level]:>10}" for level in LEVELS) + f"{_pct(_ratio(row[label], total)):>10}")
    precision = [_ratio(f.confusion[level][level], sum(f.confusion[lab][level] for lab in LEVELS)) for level in LEVELS]
    print(f"  {'precision':<10}" + "".join(f"{_pct(x):>10}" for x in precision))
    print()
    met = targets_met(f)
    gate = f"   target <= {100 * TARGETS['under_routing']:.0f}%  {'ok' if met['under_routing'] else 'MISSED'}"
    print("under-routing (a complex request on a cheaper tier than it needs)")
    print(_routing_row(f, "complex", "simple", "(small tier)") + gate)
    print(_routing_row(f, "complex", "standard"))
    print(_routing_row(f, "standard", "simple"))
    print("over-routing (a request on a dearer tier than it needs)")
    print(_routing_row(f, "simple", "complex", "(frontier tier)"))
    print(_routing_row(f, "simple", "standard"))
    print(_routing_row(f, "standard", "complex"))
    print()

    if cost is not None and tiers is not None and catalog is not None:
        print("cost of the set (catalog list prices; each request on the cheapest endpoint at or above its tier")
        print("that takes it: tools, JSON mode, context window; as the policy ranks when compliance denies nothing)")
        for level in LEVELS:
            tier = tiers[level]
            own = min(
                (e for e in catalog.endpoints if e.tier == tier),
                key=lambda e: (e.price.input_per_mtok + e.price.output_per_mtok, e.id),
                default=None,
            )
            price = "none in the catalog" if own is None else (
                f"cheapest of the tier {own.id} ({own.price.input_per_mtok:.2f}/{own.price.output_per_mtok:.2f}"
                " $ per Mtok in/out)"
            )
            print(f"  {level:<9}-> {tier:<9} {price}")
            above = min(
                (e for e in catalog.endpoints if TIERS.index(e.tier) > TIERS.index(tier)),
                key=lambda e: (e.price.input_per_mtok + e.price.output_per_mtok, e.id),
                default=None,
            )
            if own is not None and above is not None and (
                above.price.input_per_mtok + above.price.output_per_mtok < own.price.input_per_mtok + own.price.output_per_mtok
            ):
                print(f"  {'':<22}but {above.id} ({above.tier}) costs less and takes these requests when it may")
        print(f"  routed by the estimate   ${cost.by_prediction:10.4f}")
        print(f"  routed by the labels     ${cost.by_label:10.4f}")
        print(f"  all on the frontier tier ${cost.all_frontier:10.4f}")
        print(f"  of which over-routing added ${cost.over_routing:.4f}; under-routing saved ${cost.under_routing:.4f}"
              " (and risked those answers)")
        if cost.unpriced:
            print(f"  not priced (no endpoint takes them at some tier): {', '.join(cost.unpriced)}")
        print()

    if times:
        print("classify() time per request, microseconds (median of repeated runs per request)")
        for what, (p50, p95, n) in times.items():
            label = "all requests" if what == "all" else f"requests over {LONG_CHARS} chars"
            print(f"  {label:<26} p50 {p50:8.1f}   p95 {p95:8.1f}   ({n} requests)")
        print()

    wrong = [p for p in predictions if p.level != p.label]
    print(f"misclassified: {len(wrong)} of {f.n}")
    if explain:
        by_id = {r["id"]: r for r in prompts}
        for p in sorted(wrong, key=lambda p: (LEVELS.index(p.level) - LEVELS.index(p.label), p.id)):
            print(f"  {p.id:<8} {p.label:>8} -> {p.level:<8} score {p.score:5.2f}  {', '.join(p.signals) or '-'}")
            print(f"           {task_excerpt(by_id[p.id])!r}")
    else:
        print("  " + " ".join(p.id for p in wrong) + "   (--explain: scores and signals)")
    print()
    verdict = "target met" if all(met.values()) else "target missed: under-routing of complex requests to the small tier"
    print(f"accuracy {f.accuracy:.3f}; under-routing {_pct(f.under_routing).strip()}: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="labelled requests (JSONL)")
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="the classifier's rules (YAML)")
    parser.add_argument("--explain", action="store_true", help="list every misclassified id with its signals")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when under-routing misses the target")
    parser.add_argument("--no-timing", action="store_true", help="skip the classify() timing")
    parser.add_argument("--language", action="append", help="only these languages (repeatable)")
    args = parser.parse_args(argv)

    default_output_tokens = Settings().default_output_tokens
    prompts = load_prompts(args.set)
    if args.language:
        prompts = [p for p in prompts if p["language"] in set(args.language)]
    predictions, f = score(prompts, args.rules, default_output_tokens)
    catalog, tiers = load_catalog(CATALOG), tier_for_level()
    cost = costs(prompts, predictions, catalog, tiers, default_output_tokens)
    times = None if args.no_timing else timing(prompts, args.rules, default_output_tokens)
    print_report(prompts, predictions, f, cost, tiers, catalog, times, explain=args.explain)
    if args.no_fail:
        return 0
    return 0 if all(targets_met(f).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
