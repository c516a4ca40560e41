"""Benchmark thresholds on the development cases of benchmark v2 (shared/benchmark-v2/dev).

The targets are those of issue 13 for the v2 development cases. Cases with gold ``other`` (a cause
outside the 36 conditions) need the v2 scoring ("other" in the ranking); the in-scope cases are
scored here on their own too, so that the knowledge base is held to the targets whatever the state
of the scorer.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from painpath.cases import load_cases
from painpath.engine import default_compiled
from painpath.errors import CaseError
from painpath.evaluate import score_cases
from painpath.interview.simulate import score_interviews
from tests.conftest import DEV_V2, SKIP_NO_BENCH_V2, dev_v2_case_files

pytestmark = pytest.mark.skipif(not DEV_V2.is_dir() or not any(DEV_V2.glob("*.yaml")), reason=SKIP_NO_BENCH_V2)


def _load(files: list[Path], tmp: Path):  # type: ignore[no-untyped-def]
    for f in files:
        shutil.copy(f, tmp / f.name)
    return load_cases(tmp, default_compiled(), require_gold=True)


@pytest.fixture(scope="module")
def in_scope(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Every v2 development case whose gold is one of the 36 conditions."""
    return _load(dev_v2_case_files(in_scope_only=True), tmp_path_factory.mktemp("in_scope"))


@pytest.fixture(scope="module")
def all_cases():  # type: ignore[no-untyped-def]
    """Every v2 development case, gold ``other`` included (needs the v2 scorer)."""
    try:
        return load_cases(DEV_V2, default_compiled(), require_gold=True)
    except CaseError as exc:
        if "'other'" in str(exc):
            pytest.skip(f"gold `other` cases need the v2 scorer: {exc}")
        raise


@pytest.fixture(scope="module")
def scores(in_scope) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    return {m: score_cases(in_scope, m) for m in ("self", "clinician")}


@pytest.fixture(scope="module")
def interviews(in_scope) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    return {m: score_interviews(in_scope, m) for m in ("self", "clinician")}


def _misses(s: dict[str, Any]) -> str:
    return "; ".join(f"{m['id']}: gold {m['gold']}/{m['gold_triage']} got {m['predicted_top3'][0][0]}/{m['predicted_triage']}"
                     for m in s["misses"])


def test_every_case_scored(in_scope, scores) -> None:  # type: ignore[no-untyped-def]
    assert scores["self"]["n"] == scores["clinician"]["n"] == len(in_scope) >= 60
    # every one of the 36 conditions has at least one development case
    assert len({c.gold.condition for c in in_scope}) == 36


def test_clinician_thresholds(scores) -> None:  # type: ignore[no-untyped-def]
    s = scores["clinician"]
    why = _misses(s)
    assert s["top1"] >= 0.95, why
    assert s["top3"] >= 0.97, why
    assert s["triage_exact"] >= 0.93, why
    assert s["under_triage"] <= 0.02, why
    assert s["emergency_sensitivity"] == 1.0, why
    assert s["brier"] <= 0.06


def test_self_thresholds(scores) -> None:  # type: ignore[no-untyped-def]
    s = scores["self"]
    why = _misses(s)
    assert s["top1"] >= 0.90, why
    assert s["top3"] >= 0.97, why
    assert s["under_triage"] <= 0.02, why
    assert s["emergency_sensitivity"] == 1.0, why
    assert s["brier"] <= 0.06


def test_origin_of_the_leading_cause(scores) -> None:  # type: ignore[no-untyped-def]
    # hip, knee, ankle and heel problems are told from back and vessel problems
    for m in ("self", "clinician"):
        assert scores[m]["origin"] >= 0.95


def test_self_interview_thresholds(interviews) -> None:  # type: ignore[no-untyped-def]
    s = interviews["self"]
    why = _misses(s)
    assert s["questions_median"] <= 8
    assert s["questions_p90"] <= 14
    assert s["top1"] >= 0.85, why
    assert s["top3"] >= 0.95, why
    assert s["emergency_sensitivity"] == 1.0, why
    assert s["under_triage"] <= 0.02, why
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


def test_all_v2_cases_with_other(all_cases) -> None:  # type: ignore[no-untyped-def]
    # runs once the scorer knows gold `other` (engine branch): every case is scored in both modes,
    # and the in-scope targets hold on the whole set too
    for m in ("self", "clinician"):
        s = score_cases(all_cases, m)
        assert s["n"] == len(all_cases)
        assert s["emergency_sensitivity"] == 1.0, _misses(s)
        assert s["under_triage"] <= 0.02, _misses(s)
