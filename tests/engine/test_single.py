"""The one-case path (engine/single.py, used by ``assess``) computes what the batch float64
reference computes: evidence weights, posterior, triage with every fired rule, and the answers
an explanation lists (the same answers in the same order as a stable sort of ``contributions``)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from painpath.engine import compile_kb, default_compiled, evidence_weights, posterior, triage_arrays
from painpath.engine.explain import contributions
from painpath.engine.single import _pick, assess_one, top_answers
from painpath.kb import load_kb
from tests.conftest import TINY_KB

CKB = default_compiled()


def _random_evidence(ckb, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # sparse and dense answer patterns, so that implications, clusters and floors all get exercised
    p_answer = rng.choice([0.05, 0.3, 0.9], size=(n, 1))
    answered = rng.random((n, len(ckb.findings))) < p_answer
    sign = np.where(rng.random((n, len(ckb.findings))) < 0.25, 1, -1)
    ev = (answered * sign).astype(np.int8)
    return ev, rng.integers(0, 121, size=n), rng.random(n) < 0.5


def _reference_top(contrib_col: np.ndarray, top: int, beyond: float) -> tuple[list[int], list[int]]:
    """What assess listed before the one-case path: a stable sort of the whole column."""
    order = np.argsort(contrib_col, kind="stable")
    hi = [int(f) for f in order[::-1][:top] if contrib_col[f] > beyond]
    lo = [int(f) for f in order[:top] if contrib_col[f] < -beyond]
    return hi, lo


@pytest.mark.parametrize("ckb", [CKB, compile_kb(load_kb(TINY_KB))], ids=["default", "tiny"])
@pytest.mark.parametrize("setting", ["self", "clinic"])
def test_one_case_equals_the_batch_reference(ckb, setting: str) -> None:
    ev, age, female = _random_evidence(ckb, 400, seed=11)
    w_ref = evidence_weights(ckb, ev)
    post_ref = posterior(ckb, ev, age, female, setting, w_ref)
    tri_ref = triage_arrays(ckb, ev, post_ref, age)
    for i in range(len(ev)):
        one = assess_one(ckb, ev[i], int(age[i]), bool(female[i]), setting)
        assert_allclose(one.w, w_ref[i], rtol=0, atol=1e-15)
        assert_allclose(one.post, post_ref[i], rtol=1e-12, atol=1e-15)
        t = one.triage
        assert int(t.level_rank[0]) == int(tri_ref.level_rank[i])
        assert int(t.floor_rank[0]) == int(tri_ref.floor_rank[i])
        assert int(t.condition_rank[0]) == int(tri_ref.condition_rank[i])
        assert_array_equal(t.floors_fired[0], tri_ref.floors_fired[i])
        assert_array_equal(t.escalations_fired[0], tri_ref.escalations_fired[i])
        assert_array_equal(t.other_fired[0], tri_ref.other_fired[i])
        assert_array_equal(t.effective_ranks[0], tri_ref.effective_ranks[i])


def test_the_cases_cover_every_kind_of_rule() -> None:
    # the comparison above means something only if floors, escalations and the age rule of
    # "other" fire in some of the cases and not in others
    ev, age, female = _random_evidence(CKB, 400, seed=11)
    tri = triage_arrays(CKB, ev, posterior(CKB, ev, age, female, "self"), age)
    for fired in (tri.floors_fired, tri.escalations_fired, tri.other_fired):
        assert 0 < fired.any(axis=1).mean() < 1
    assert len(set(tri.level_rank.tolist())) == 4


@pytest.mark.parametrize("top", [1, 3, 5])
def test_listed_answers_are_those_of_a_stable_sort_of_the_contributions(top: int) -> None:
    ev, age, female = _random_evidence(CKB, 150, seed=5)
    for i in range(len(ev)):
        one = assess_one(CKB, ev[i], int(age[i]), bool(female[i]))
        cols = [int(c) for c in np.argsort(-one.post, kind="stable")[:7]]
        ref = contributions(CKB, ev[i], one.w, one.post)
        got = top_answers(CKB, ev[i], one.w, one.post, cols, top)
        for c, (hi, hi_w, lo, lo_w) in zip(cols, got, strict=True):
            assert (hi, lo) == _reference_top(ref[:, c], top, 0.05)
            assert_allclose(hi_w, ref[hi, c], rtol=1e-9, atol=0)  # "others" cancels when the candidate holds ~1
            assert_allclose(lo_w, ref[lo, c], rtol=1e-9, atol=0)


def test_ties_are_broken_as_a_stable_sort_does() -> None:
    # equal weights: the later finding first among the largest, the earlier among the smallest
    contrib = np.array([[0.3, 0.9, 0.3, -0.2, 0.3, -0.2, 0.01, 0.3, -0.2, -0.7]])
    rows = np.arange(10) * 3  # findings 0, 3, 6, ...: the answered ones
    for top in (1, 2, 3, 4, 6):
        (hi, hi_w, lo, lo_w), = _pick(contrib, rows, top, 0.05)
        ref_hi, ref_lo = _reference_top(contrib[0], top, 0.05)
        assert hi == [int(rows[j]) for j in ref_hi] and lo == [int(rows[j]) for j in ref_lo]
        assert hi_w == contrib[0, ref_hi].tolist() and lo_w == contrib[0, ref_lo].tolist()


def test_nothing_answered_lists_nothing() -> None:
    ev = np.zeros(len(CKB.findings), dtype=np.int8)
    one = assess_one(CKB, ev, 40, False)
    assert_allclose(one.post, posterior(CKB, ev[None, :], np.array([40]), np.array([False]))[0], rtol=1e-12)
    assert top_answers(CKB, ev, one.w, one.post, [0, 1], 5) == [([], [], [], []), ([], [], [], [])]


def test_listed_weights_are_rounded_as_round_does() -> None:
    from painpath.assessment import _round3

    rng = np.random.default_rng(3)
    # random weights, and values on or next to a half-way point at three decimals
    values = [*rng.normal(0.0, 3.0, 20000).tolist(), *[(k + 0.5) / 1000 for k in range(-3000, 3000)],
              *[np.nextafter((k + 0.5) / 1000, 9.0) for k in range(-300, 300)], 0.0625, 2.675, 1.0005]
    assert _round3(values) == [round(v, 3) for v in values]
