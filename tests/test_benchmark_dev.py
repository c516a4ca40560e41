"""Benchmark thresholds on the development cases (shared/benchmark/dev)."""

from __future__ import annotations

from typing import Any

import pytest

from painpath.cases import load_cases
from painpath.engine import default_compiled
from painpath.evaluate import score_cases
from painpath.interview.simulate import score_interviews
from tests.conftest import DEV, SKIP_NO_BENCH

pytestmark = pytest.mark.skipif(not DEV.is_dir() or not any(DEV.glob("*.yaml")), reason=SKIP_NO_BENCH)


@pytest.fixture(scope="module")
def cases():  # type: ignore[no-untyped-def]
    return load_cases(DEV, default_compiled(), require_gold=True)


@pytest.fixture(scope="module")
def scores(cases) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    return {m: score_cases(cases, m) for m in ("self", "clinician")}


@pytest.fixture(scope="module")
def interviews(cases) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    return {m: score_interviews(cases, m) for m in ("self", "clinician")}


def _misses(s: dict[str, Any]) -> str:
    return "; ".join(f"{m['id']}: gold {m['gold']}/{m['gold_triage']} got {m['predicted_top3'][0][0]}/{m['predicted_triage']}"
                     for m in s["misses"])


def test_every_case_scored(cases, scores) -> None:  # type: ignore[no-untyped-def]
    assert scores["self"]["n"] == scores["clinician"]["n"] == len(cases) >= 1


def test_clinician_thresholds(scores) -> None:  # type: ignore[no-untyped-def]
    s = scores["clinician"]
    why = _misses(s)
    assert s["top1"] >= 0.95, why
    assert s["top3"] >= 0.99, why
    assert s["triage_exact"] >= 0.93, why
    assert s["under_triage"] <= 0.03, why
    assert s["emergency_sensitivity"] == 1.0, why
    assert s["brier"] <= 0.05


def test_self_thresholds(scores) -> None:  # type: ignore[no-untyped-def]
    s = scores["self"]
    why = _misses(s)
    assert s["top1"] >= 0.90, why
    assert s["top3"] >= 0.97, why
    assert s["under_triage"] <= 0.03, why
    assert s["emergency_sensitivity"] == 1.0, why
    assert s["brier"] <= 0.08


def test_self_interview_thresholds(interviews) -> None:  # type: ignore[no-untyped-def]
    s = interviews["self"]
    why = _misses(s)
    assert s["questions_median"] <= 10
    assert s["questions_p90"] <= 16
    assert s["top1"] >= 0.85, why
    assert s["top3"] >= 0.95, why
    assert s["emergency_sensitivity"] == 1.0, why
    assert s["under_triage"] <= 0.03, why
    assert s["agreement_triage"] >= 0.95
    assert s["agreement_top1"] >= 0.90


def test_clinician_interview_length(interviews) -> None:  # type: ignore[no-untyped-def]
    assert interviews["clinician"]["questions_median"] <= 14


def test_question_percentiles_are_numpy_linear(interviews) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    for m in ("self", "clinician"):
        q = np.array(sorted(interviews[m]["questions"].values()), dtype=float)
        assert interviews[m]["questions_median"] == pytest.approx(float(np.percentile(q, 50)))
        assert interviews[m]["questions_p90"] == pytest.approx(float(np.percentile(q, 90)))
        assert interviews[m]["questions_max"] == int(q.max())
