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


def _oracle_system(report, knows: list[dict]):
    """A fake detector that answers every prompt of `knows` right and judges
    anything else clean."""
    truth = {p["text"]: p for p in knows}

    def judge(text: str):
        p = truth.get(text)
        if p is None:
            return report.Judgement("none", frozenset(), frozenset())
        return report.Judgement(p["sensitivity"], frozenset(p["categories"]), frozenset(p["kinds"]))

    return report.System("douane", "oracle", judge)


def test_heldout_is_reported_beside_the_tuning_set_but_does_not_set_the_exit_status(report, monkeypatch, capsys):
    tuning, heldout = report.load_prompts(report.DEFAULT_SET), report.load_prompts(report.HELDOUT_SET)
    # Right on the tuning set, blind on the held-out set: exit 0, held-out marked FAIL.
    monkeypatch.setattr(report, "build_systems", lambda include_presidio=True: [_oracle_system(report, tuning)])
    assert report.main(["--no-presidio"]) == 0
    out = capsys.readouterr().out
    assert "held-out set: eval/pii/heldout/prompts.jsonl" in out
    assert "summary: tuning (%d prompts) vs heldout (%d prompts)" % (len(tuning), len(heldout)) in out
    assert "held-out set   FAIL" in out and "tuning set     PASS" in out
    # Right on the held-out set only: the tuning set's targets fail the run.
    monkeypatch.setattr(report, "build_systems", lambda include_presidio=True: [_oracle_system(report, heldout)])
    assert report.main(["--no-presidio"]) == 1
    assert report.main(["--no-presidio", "--no-heldout"]) == 1
    assert "held-out" not in capsys.readouterr().out.split("PII evaluation")[-1]
    # --set scores one file, and that file's targets decide.
    assert report.main(["--no-presidio", "--set", str(report.HELDOUT_SET)]) == 0
