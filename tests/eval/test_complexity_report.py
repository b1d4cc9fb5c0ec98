"""eval/complexity_report.py: the task-complexity estimate on the labelled set
(eval/complexity/prompts.jsonl, issue 9). Like the PII tuning set's gate in
`make eval`, the under-routing target is enforced on the team's set: at most
5 % of the complex requests may be estimated simple (sent to the small tier).
The other figures are reported, not enforced."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_report():
    spec = importlib.util.spec_from_file_location("complexity_report", ROOT / "eval" / "complexity_report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["complexity_report"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report():
    return _load_report()


@pytest.fixture(scope="module")
def scored(report):
    prompts = report.load_prompts()
    predictions, figures = report.score(prompts)
    return prompts, predictions, figures


def test_under_routing_target_on_the_labelled_set(report, scored):
    _prompts, _predictions, f = scored
    assert f.n == 210 and f.complex_n == 56
    assert report.targets_met(f)["under_routing"], (
        f"{f.confusion['complex']['simple']} of {f.complex_n} complex requests estimated simple "
        f"({f.under_routing:.1%}); target <= {report.TARGETS['under_routing']:.0%}"
    )


def test_every_figure_is_computed(report, scored):
    prompts, predictions, f = scored
    assert {p.id for p in predictions} == {r["id"] for r in prompts}
    assert all(p.level in report.LEVELS for p in predictions)
    assert sum(sum(row.values()) for row in f.confusion.values()) == f.n
    assert set(f.per_language) == {"en", "de", "fr", "it", "es", "nl", "pl"}
    for value in (f.accuracy, f.under_routing, f.complex_to_standard, f.over_routing_complex, f.over_routing_standard,
                  *f.per_language.values()):
        assert value is not None and 0.0 <= value <= 1.0


def test_report_prints_accuracy_matrix_routing_and_cost(report, scored, capsys):
    prompts, predictions, f = scored
    catalog, tiers = report.load_catalog(report.CATALOG), report.tier_for_level()
    cost = report.costs(prompts, predictions, catalog, tiers, 256)
    assert 0 < cost.by_label <= cost.all_frontier and 0 < cost.by_prediction <= cost.all_frontier
    assert not cost.unpriced
    times = report.timing(prompts[:5], report.DEFAULT_RULES, 256, repeat=3)
    report.print_report(prompts, predictions, f, cost, tiers, catalog, times)
    out = capsys.readouterr().out
    assert f"accuracy: {f.accuracy:.3f}" in out
    assert "confusion matrix (rows labelled, columns estimated)" in out
    assert "complex -> simple   (small tier)" in out and "simple -> complex   (frontier tier)" in out
    assert "routed by the estimate" in out and "all on the frontier tier" in out
    assert "classify() time per request" in out


def test_explain_lists_signals_and_at_most_80_characters_of_a_task(report, scored, capsys):
    prompts, predictions, f = scored
    wrong = [p for p in predictions if p.level != p.label]
    report.print_report(prompts, predictions, f, explain=True)
    out = capsys.readouterr().out
    for p in wrong:
        assert p.id in out
    texts = {m["content"] for r in prompts for m in r["messages"]}
    for line in out.splitlines():
        quoted = line.strip()
        if quoted.startswith(("'", '"')):
            assert len(quoted) <= 80 + 2, quoted
    assert not any(t in out for t in texts if len(t) > 80)


def test_exit_status_follows_the_target(report):
    passing = report.Figures(n=20, accuracy=0.5, complex_n=20, under_routing=1 / 20)
    failing = report.Figures(n=20, accuracy=0.9, complex_n=20, under_routing=2 / 20)
    assert report.targets_met(passing)["under_routing"]
    assert not report.targets_met(failing)["under_routing"]


def test_main_fails_when_rules_under_route(report, tmp_path, capsys):
    """Rules that call everything simple send every complex request to the
    small tier: exit 1 (--no-fail: 0); the team's rules pass."""
    lazy = tmp_path / "complexity.yaml"
    lazy.write_text(
        "levels: {standard_from: 100, complex_from: 200}\n"
        "sizes: {}\n"
        "shapes:\n"
        "  code_block: {weight: 0, name: code}\n"
        "  tools: {weight: 0, name: tools_offered}\n"
        "  json_output: {weight: 0, name: json_output}\n"
        "  question_count: {at_least: 3, weight: 0, name: several_questions}\n"
        "cues: {}\n",
        encoding="utf-8",
    )
    assert report.main(["--rules", str(lazy), "--no-timing"]) == 1
    assert "target missed" in capsys.readouterr().out
    assert report.main(["--rules", str(lazy), "--no-timing", "--no-fail"]) == 0
    assert report.main(["--no-timing", "--language", "de"]) == 0


def test_requests_are_built_as_the_gateway_receives_them(report):
    row = {"id": "x", "language": "en", "tier": "simple", "messages": [{"role": "user", "content": "Hi"}],
           "max_tokens": 50, "tools": ["web_search"], "response_format": "json", "note": ""}
    request = report.build_request(row)
    extra = request.model_extra
    assert request.max_tokens == 50
    assert extra["tools"] == [{"type": "function", "function": {"name": "web_search",
                                                                "parameters": {"type": "object", "properties": {}}}}]
    assert extra["response_format"] == {"type": "json_object"}
