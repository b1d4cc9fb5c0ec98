"""Smoke test of eval/pii_report.py: on ten prompts, every figure is computed
(their values are what `make eval` is for)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_report():
    spec = importlib.util.spec_from_file_location("pii_report", ROOT / "eval" / "pii_report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["pii_report"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report():
    return _load_report()


def test_report_computes_every_figure_on_ten_prompts(report, capsys):
    prompts = report.load_prompts()
    # Ten prompts covering the three labels and two languages.
    def pick(language: str, sensitivity: str, n: int) -> list[dict]:
        return [p for p in prompts if p["language"] == language and p["sensitivity"] == sensitivity][:n]

    sample = pick("en", "none", 4) + pick("en", "special", 3) + pick("de", "personal", 3)
    assert len(sample) == 10 and {p["sensitivity"] for p in sample} == {"none", "personal", "special"}

    with report.no_network() as attempts:
        results = report.evaluate(sample, report.build_systems())
    assert not attempts
    assert [r.system.name for r in results] == ["douane", "presidio", "presidio-id"]
    for r in results:
        f = r.overall
        assert f.n == 10
        for value in (f.recall_personal, f.recall_special, f.recall_special_any, f.fp_clean, f.accuracy):
            assert value is not None and 0.0 <= value <= 1.0
        assert sum(sum(row.values()) for row in f.confusion.values()) == 10
        assert set(r.per_language) == {p["language"] for p in sample}
        assert set(r.judgements) == {p["id"] for p in sample}
        assert all(j.sensitivity in {"none", "personal", "special", "error"} for j in r.judgements.values())
        assert all(tp + fp + fn > 0 for tp, fp, fn in r.per_kind.values())
        assert isinstance(r.misses, list)

    report.print_report(sample, results)
    out = capsys.readouterr().out
    assert "recall, personal data" in out and "confusion matrix, presidio-id" in out
    assert "entity type -> kind mapping" in out


def test_exit_status_follows_the_targets(report):
    passing = report.Figures(n=1, recall_personal=1.0, recall_special=1.0, fp_clean=0.0, accuracy=1.0)
    failing = report.Figures(n=1, recall_personal=0.9, recall_special=1.0, fp_clean=0.0, accuracy=0.9)
    assert all(report.targets_met(passing).values())
    assert not report.targets_met(failing)["recall_personal"]
