"""How well does douane find personal data? `make eval`.

Runs douane's real detector and the real policy over the hand-labelled set
(eval/pii/prompts.jsonl) and judges each prompt the way the gateway does: the
policy input is built exactly as services/routing/service.py builds it (one
user message, the catalog candidates from config/endpoints.yaml), and the
request-level sensitivity and GDPR categories are the policy's answer.

Side by side, on the same prompts in the same run:
- `presidio`: Presidio's default AnalyzerEngine (eval/baselines.py), judged
  "personal" whenever it finds any entity at all;
- `presidio-id`: the same, counting only identifying entity types.
Neither baseline can say "special": it has no notion of Art. 9 data.

A detection or policy failure is judged "error" (the gateway fails closed:
nothing is forwarded) and counts as a miss everywhere; the confusion matrix
then gets an "error" column.

Each miss lists the entity types the detector reported, with their best
scores (never the matched text): a finding below the policy's per-entity
min_score explains many "personal instead of special" misses.

Five sets are scored in the same run, with the same systems:
- the tuning set (eval/pii/prompts.jsonl), used while the lexicons were tuned;
- the held-out set (eval/pii/heldout/prompts.jsonl), written after the
  lexicons were frozen and never to be used to tune them;
- the second held-out set (eval/pii/heldout2/prompts.jsonl), written blind to
  the detector's code and lexicons and to the first held-out set, never to be
  used to tune them either;
- the third held-out set (eval/pii/heldout3/prompts.jsonl), written blind to
  the detector and to both earlier held-out sets after later tuning, never to
  be used to tune anything;
- the fourth held-out set (eval/pii/heldout4/prompts.jsonl), written blind to
  the detector and to the three earlier held-out sets, never to be used to
  tune anything.
Each held-out set's figures are printed with the same table and a pass/fail
mark against the same targets, then a side-by-side summary of all sets.

Exit status 1 when douane misses a target on the tuning set (--no-fail: report
only); the held-out targets are reported, not enforced. Misses are printed by
prompt id; --explain adds the prompt texts. --set scores one given file only;
--no-heldout skips all the held-out sets.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (str(ROOT), str(ROOT / "eval")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from baselines import (  # noqa: E402
    build_presidio_analyzer,
    identifying_entities,
    no_network,
    presidio_entities,
)

DEFAULT_SET = ROOT / "eval" / "pii" / "prompts.jsonl"
HELDOUT_SET = ROOT / "eval" / "pii" / "heldout" / "prompts.jsonl"
HELDOUT2_SET = ROOT / "eval" / "pii" / "heldout2" / "prompts.jsonl"
HELDOUT3_SET = ROOT / "eval" / "pii" / "heldout3" / "prompts.jsonl"
HELDOUT4_SET = ROOT / "eval" / "pii" / "heldout4" / "prompts.jsonl"
SENSITIVITIES = ("none", "personal", "special")
SPECIAL_CATEGORIES = (
    "special:health", "special:genetic", "special:biometric", "special:racial_or_ethnic_origin",
    "special:political_opinions", "special:religious_beliefs", "special:trade_union",
    "special:sex_life", "criminal",
)
TARGETS = {"recall_personal": 0.98, "recall_special": 0.95, "fp_clean": 0.05}

# (label, Figures attribute, target as printed): the rows of every summary table.
FIGURE_ROWS = (
    ("recall, personal data (personal|special)", "recall_personal", f">= {TARGETS['recall_personal']}"),
    ("recall, special with the right category", "recall_special", f">= {TARGETS['recall_special']}"),
    ("  (judged special, any category)", "recall_special_any", ""),
    ("false-positive rate, clean prompts", "fp_clean", f"<= {TARGETS['fp_clean']}"),
    ("sensitivity accuracy (3 classes)", "accuracy", ""),
)

# Detector entity type -> the `kinds` label it stands for. Entity types with the
# same name as a kind map to themselves (listed in SAME_NAME); the rest are
# Presidio's names for the same identifier. Special-category term entities are
# scored against the prompt's categories (CATEGORY_TERM), not against `kinds`.
SAME_NAME = (
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "IP_ADDRESS",
    "DATE_OF_BIRTH", "POSTAL_ADDRESS", "EU_VAT_ID", "DE_TAX_ID", "FR_NIR", "IT_FISCAL_CODE",
    "ES_DNI", "ES_NIE", "NL_BSN", "PL_PESEL", "SE_PERSONNUMMER", "FI_HETU",
    "BE_NATIONAL_NUMBER", "AT_SOCIAL_SECURITY", "PT_CC", "RO_CNP",
)
ALIASES = {
    "ES_NIF": "ES_DNI",  # Presidio's es recognizer: DNI numbers
    "FI_PERSONAL_IDENTITY_CODE": "FI_HETU",
    "IT_VAT_CODE": "EU_VAT_ID",
}
CATEGORY_TERM = {
    "special:health": "HEALTH_TERM",
    "special:genetic": "GENETIC_TERM",
    "special:biometric": "BIOMETRIC_TERM",
    "special:racial_or_ethnic_origin": "ETHNIC_ORIGIN_TERM",
    "special:political_opinions": "POLITICAL_OPINION_TERM",
    "special:religious_beliefs": "RELIGIOUS_BELIEF_TERM",
    "special:trade_union": "TRADE_UNION_TERM",
    "special:sex_life": "SEXUAL_ORIENTATION_TERM",
    "criminal": "CRIMINAL_TERM",
}
ENTITY_TO_KIND = {**{k: k for k in SAME_NAME}, **ALIASES, **{t: t for t in CATEGORY_TERM.values()}}


@dataclass(frozen=True)
class Judgement:
    sensitivity: str  # none | personal | special | error
    categories: frozenset[str]
    entities: frozenset[str]
    scores: tuple[tuple[str, float], ...] = ()  # (entity type, best score), for the misses list


@dataclass
class System:
    name: str
    description: str
    judge: Callable[[str], Judgement]


@dataclass
class Figures:
    n: int = 0
    recall_personal: float | None = None
    recall_special: float | None = None
    recall_special_any: float | None = None
    fp_clean: float | None = None
    accuracy: float | None = None
    confusion: dict[str, Counter] = field(default_factory=dict)


@dataclass
class Result:
    system: System
    judgements: dict[str, Judgement]
    overall: Figures
    per_language: dict[str, Figures]
    per_kind: dict[str, tuple[int, int, int]]  # kind -> (tp, fp, fn), prompt level
    misses: list[tuple[str, str]]  # (id, "expected ... got ...")
    seconds: float


# ---------------------------------------------------------------- systems


def douane_system() -> System:
    """douane's detector + the embedded policy, as the gateway runs them."""
    from policy import PolicyError, load_engine
    from services.keys.models import Role
    from services.keys.service import Principal
    from services.pii import DetectionError, build_detector
    from services.providers.health import EndpointHealth
    from services.routing.candidates import build_candidates
    from services.routing.catalog import load_catalog
    from services.routing.schemas import ChatCompletionRequest
    from services.routing.service import policy_request
    from services.routing.usage import estimate_usage
    from services.settings import Settings

    settings = Settings()
    detector = build_detector()
    engine = load_engine("embedded", ROOT / "policies")
    catalog = load_catalog(ROOT / "config" / "endpoints.yaml")
    health = EndpointHealth()  # no calls made: catalog priors, all healthy
    principal = Principal(key_id="k_eval000000000000", tenant="eval", role=Role.app)

    def judge(text: str) -> Judgement:
        request = ChatCompletionRequest(model="auto", messages=[{"role": "user", "content": text}])
        try:
            findings = detector.detect(request.texts())
        except DetectionError:
            return Judgement("error", frozenset(), frozenset())
        usage = estimate_usage(request, settings.default_output_tokens)
        policy_input = {
            "request": policy_request(principal, request, usage),
            "findings": findings.to_policy_input(),
            "candidates": build_candidates(catalog, usage, health),
        }
        try:
            decision = engine.evaluate(policy_input)
        except PolicyError:  # the gateway writes an error row and forwards nothing
            return Judgement(
                "error",
                frozenset(),
                frozenset(findings.entities),
                tuple((name, f.max_score) for name, f in sorted(findings.entities.items())),
            )
        return Judgement(
            decision.sensitivity,
            frozenset(decision.gdpr_categories),
            frozenset(findings.entities),
            tuple((name, f.max_score) for name, f in sorted(findings.entities.items())),
        )

    return System("douane", f"build_detector() + embedded policy {engine.revision[:19]}", judge)


def presidio_systems() -> list[System]:
    analyzer = build_presidio_analyzer()
    identifying = identifying_entities(analyzer)

    def judge_with(counted: frozenset[str] | None) -> Callable[[str], Judgement]:
        def judge(text: str) -> Judgement:
            entities = frozenset(e for e, _score in presidio_entities(analyzer, [text]))
            hits = entities if counted is None else entities & counted
            return Judgement("personal" if hits else "none", frozenset({"personal"} if hits else ()), entities)

        return judge

    return [
        System("presidio", "Presidio default AnalyzerEngine, any entity = personal", judge_with(None)),
        System(
            "presidio-id",
            "same engine, personal only on " + ", ".join(sorted(identifying)),
            judge_with(identifying),
        ),
    ]


def build_systems(include_presidio: bool = True) -> list[System]:
    systems = [douane_system()]
    if include_presidio:
        systems.extend(presidio_systems())
    return systems


# ---------------------------------------------------------------- scoring


def load_prompts(path: Path = DEFAULT_SET) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def special_expected(prompt: dict) -> set[str]:
    return {c for c in prompt["categories"] if c in SPECIAL_CATEGORIES}


def figures(prompts: list[dict], judgements: dict[str, Judgement]) -> Figures:
    confusion = {s: Counter() for s in SENSITIVITIES}
    personal = personal_hit = special = special_hit = special_any = clean = clean_fp = correct = 0
    for p in prompts:
        got = judgements[p["id"]]
        expected = p["sensitivity"]
        confusion[expected][got.sensitivity] += 1
        correct += got.sensitivity == expected
        if expected == "none":
            clean += 1
            clean_fp += got.sensitivity != "none"
        else:
            personal += 1
            personal_hit += got.sensitivity in ("personal", "special")
        if expected == "special":
            special += 1
            special_any += got.sensitivity == "special"
            special_hit += got.sensitivity == "special" and special_expected(p) <= got.categories
    return Figures(
        n=len(prompts),
        recall_personal=_ratio(personal_hit, personal),
        recall_special=_ratio(special_hit, special),
        recall_special_any=_ratio(special_any, special),
        fp_clean=_ratio(clean_fp, clean),
        accuracy=_ratio(correct, len(prompts)),
        confusion=confusion,
    )


def expected_kinds(prompt: dict) -> set[str]:
    return set(prompt["kinds"]) | {CATEGORY_TERM[c] for c in special_expected(prompt)}


def per_kind(prompts: list[dict], judgements: dict[str, Judgement]) -> dict[str, tuple[int, int, int]]:
    """Prompt-level counts: a kind is found in a prompt when any entity mapped to it is."""
    tally: dict[str, list[int]] = {}
    for p in prompts:
        want = expected_kinds(p)
        got = {ENTITY_TO_KIND[e] for e in judgements[p["id"]].entities if e in ENTITY_TO_KIND}
        for kind in want | got:
            row = tally.setdefault(kind, [0, 0, 0])
            if kind in want and kind in got:
                row[0] += 1
            elif kind in got:
                row[1] += 1
            else:
                row[2] += 1
    return {k: tuple(v) for k, v in sorted(tally.items())}  # type: ignore[misc]


def misses(prompts: list[dict], judgements: dict[str, Judgement]) -> list[tuple[str, str]]:
    out = []
    for p in prompts:
        got = judgements[p["id"]]
        want_special = special_expected(p)
        wrong_level = got.sensitivity != p["sensitivity"]
        missing = sorted(want_special - got.categories)
        if wrong_level or missing:
            got_cats = ",".join(sorted(got.categories)) or "-"
            want_cats = ",".join(sorted(p["categories"])) or "-"
            entities = ",".join(f"{e}:{score:.2f}" for e, score in got.scores) or ",".join(sorted(got.entities)) or "-"
            out.append(
                (p["id"], f"expected {p['sensitivity']} [{want_cats}]  got {got.sensitivity} [{got_cats}]  entities {entities}")
            )
    return out


def evaluate(prompts: list[dict], systems: list[System]) -> list[Result]:
    results = []
    languages = sorted({p["language"] for p in prompts})
    for system in systems:
        started = time.perf_counter()
        judgements = {p["id"]: system.judge(p["text"]) for p in prompts}
        seconds = time.perf_counter() - started
        results.append(
            Result(
                system=system,
                judgements=judgements,
                overall=figures(prompts, judgements),
                per_language={
                    lang: figures([p for p in prompts if p["language"] == lang], judgements) for lang in languages
                },
                per_kind=per_kind(prompts, judgements),
                misses=misses(prompts, judgements),
                seconds=seconds,
            )
        )
    return results


def targets_met(f: Figures) -> dict[str, bool]:
    return {
        "recall_personal": f.recall_personal is not None and f.recall_personal >= TARGETS["recall_personal"],
        "recall_special": f.recall_special is not None and f.recall_special >= TARGETS["recall_special"],
        "fp_clean": f.fp_clean is not None and f.fp_clean <= TARGETS["fp_clean"],
    }


# ---------------------------------------------------------------- printing


def _fmt(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def print_report(
    prompts: list[dict], results: list[Result], explain: bool = False, title: str = "", enforced: bool = True
) -> None:
    by_id = {p["id"]: p for p in prompts}
    counts = Counter((p["language"], p["sensitivity"]) for p in prompts)
    languages = sorted({p["language"] for p in prompts})
    print(f"PII evaluation{', ' + title if title else ''}: {len(prompts)} prompts")
    print("  " + "  ".join(
        f"{lang}: {sum(counts[(lang, s)] for s in SENSITIVITIES)} "
        f"({'/'.join(str(counts[(lang, s)]) for s in SENSITIVITIES)})" for lang in languages
    ) + "   (none/personal/special)")
    print()
    for r in results:
        print(f"  {r.system.name:<12} {r.system.description}  [{r.seconds:.1f}s]")
    print()

    names = [r.system.name for r in results]
    header = f"{'figure':<44}{'target':>10}" + "".join(f"{n:>14}" for n in names)
    print(header)
    print("-" * len(header))
    for label, attr, target in FIGURE_ROWS:
        print(f"{label:<44}{target:>10}" + "".join(_figure_cell(r, attr, 14) for r in results))
    print()

    for r in results:
        print(f"confusion matrix, {r.system.name} (rows expected, columns got)")
        cols = list(SENSITIVITIES) + (["error"] if any(c["error"] for c in r.overall.confusion.values()) else [])
        print(f"  {'':<10}" + "".join(f"{c:>10}" for c in cols))
        for s in SENSITIVITIES:
            print(f"  {s:<10}" + "".join(f"{r.overall.confusion[s][c]:>10}" for c in cols))
        print()

    print("per language: recall personal / recall special / FP clean / accuracy")
    print(f"  {'lang':<6}" + "".join(f"{r.system.name:>30}" for r in results))
    for lang in languages:
        cells = []
        for r in results:
            f = r.per_language[lang]
            cells.append(f"{_fmt(f.recall_personal)} {_fmt(f.recall_special)} {_fmt(f.fp_clean)} {_fmt(f.accuracy)}".rjust(30))
        print(f"  {lang:<6}" + "".join(cells))
    print()

    print("entity type -> kind mapping used for the per-kind figures:")
    print("  same name: " + ", ".join(SAME_NAME))
    print("  aliases:   " + ", ".join(f"{e} -> {k}" for e, k in ALIASES.items()))
    print("  terms:     " + ", ".join(f"{t} <- {c}" for c, t in CATEGORY_TERM.items()))
    print("  (a prompt expects a *_TERM kind when its categories name the category; other entity types are ignored here)")
    print()
    kind_results = [r for r in results if r.system.name != "presidio-id"]  # same entities as presidio
    kinds = sorted({k for r in kind_results for k in r.per_kind} | {k for p in prompts for k in expected_kinds(p)})
    print("per kind, prompt level: precision / recall (support = prompts expecting the kind)")
    print(f"  {'kind':<26}{'support':>8}" + "".join(f"{r.system.name:>22}" for r in kind_results))
    for kind in kinds:
        support = sum(kind in expected_kinds(p) for p in prompts)
        cells = []
        for r in kind_results:
            tp, fp, fn = r.per_kind.get(kind, (0, 0, support))
            cells.append(f"{_fmt(_ratio(tp, tp + fp))} / {_fmt(_ratio(tp, tp + fn))}".rjust(22))
        print(f"  {kind:<26}{support:>8}" + "".join(cells))
    print()

    douane = results[0]
    print(f"misses, {douane.system.name}: {len(douane.misses)} of {len(prompts)}")
    for pid, what in douane.misses:
        print(f"  {pid:<8} {what}")
        if explain:
            print(f"           {by_id[pid]['text']!r}")
    print()
    met = targets_met(douane.overall)
    verdict = "all targets met" if all(met.values()) else "targets missed: " + ", ".join(k for k, v in met.items() if not v)
    scope = f" on the {title}" if title else ""
    print(f"{douane.system.name}{scope}: {verdict}{'' if enforced else '  (reported, not enforced)'}")


def _figure_cell(result: Result, attr: str, width: int) -> str:
    met = targets_met(result.overall).get(attr)
    mark = "" if met is None else (" ok" if met else " !!")
    return f"{_fmt(getattr(result.overall, attr))}{mark:>3}".rjust(width)


def print_comparison(sets: list[tuple[str, list[Result]]]) -> None:
    """One row per figure, one column per (set, system): the tuning set's
    figures beside the held-out set's, so the flattery is visible."""
    columns = [(name, r) for name, results in sets for r in results]
    print("summary: " + " vs ".join(f"{name} ({results[0].overall.n} prompts)" for name, results in sets))
    header = f"{'figure':<44}{'target':>10}" + "".join(f"{(name + ':' + r.system.name):>21}" for name, r in columns)
    print(header)
    print("-" * len(header))
    for label, attr, target in FIGURE_ROWS:
        print(f"{label:<44}{target:>10}" + "".join(_figure_cell(r, attr, 21) for _name, r in columns))
    print()


def _short_name(title: str) -> str:
    """Column name in the summary: "tuning set" -> tuning, "held-out set" ->
    heldout, "held-out set 2" -> heldout2, "held-out set 3" -> heldout3,
    "held-out set 4" -> heldout4."""
    return title.replace("held-out", "heldout").replace(" set", "").replace(" ", "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, help="score only these labelled prompts (JSONL)")
    parser.add_argument("--no-heldout", action="store_true", help="skip the held-out sets")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when douane misses a target")
    parser.add_argument("--explain", action="store_true", help="print the text of every missed prompt")
    parser.add_argument("--no-presidio", action="store_true", help="skip the Presidio baselines")
    parser.add_argument("--language", action="append", help="only these languages (repeatable)")
    args = parser.parse_args(argv)

    if args.set is not None:
        sets = [("", args.set, True)]
    else:
        sets = [("tuning set", DEFAULT_SET, True)]
        if not args.no_heldout:
            for title, path in (
                ("held-out set", HELDOUT_SET),
                ("held-out set 2", HELDOUT2_SET),
                ("held-out set 3", HELDOUT3_SET),
                ("held-out set 4", HELDOUT4_SET),
            ):
                if path.exists():
                    sets.append((title, path, False))
    scored = []
    with no_network() as attempts:
        systems = build_systems(include_presidio=not args.no_presidio)
        for title, path, enforced in sets:
            prompts = load_prompts(path)
            if args.language:
                prompts = [p for p in prompts if p["language"] in set(args.language)]
            scored.append((title, path, enforced, prompts, evaluate(prompts, systems)))
    for title, path, enforced, prompts, results in scored:
        if len(scored) > 1:
            print("=" * 100)
            print(f"{title}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
                  f"{'' if enforced else '  (held out: targets reported, not enforced)'}")
            print("=" * 100)
        print_report(prompts, results, explain=args.explain, title=title, enforced=enforced)
        print()
    if len(scored) > 1:
        print_comparison([(_short_name(title), results) for title, _p, _e, _prompts, results in scored])
        for title, _p, enforced, _prompts, results in scored:
            met = targets_met(results[0].overall)
            marks = ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in met.items())
            print(f"  {title:<14} {'PASS' if all(met.values()) else 'FAIL'}  ({marks})"
                  f"{'' if enforced else '  -- reported only, does not set the exit status'}")
        print()
    if attempts:
        print(f"WARNING: {len(attempts)} network connection attempts were blocked during the run")
    if args.no_fail:
        return 0
    return 0 if all(all(targets_met(results[0].overall).values()) for _t, _p, enforced, _pr, results in scored if enforced) else 1


if __name__ == "__main__":
    sys.exit(main())
