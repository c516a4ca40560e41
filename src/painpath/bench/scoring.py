"""Benchmark scoring, exactly as defined in shared/benchmark-v2/README.md ("What is scored, exactly").

The *candidates* are the condition keys and "other" (a cause outside them). The
engine's probabilities over ``ckb.candidates`` are normalised to sum to 1 (a
knowledge base without the unlisted-cause class gives "other" 0). The ranking
orders the candidates by probability, highest first; ties go to the order of the
conditions, with "other" after every key (a stable sort with "other" last).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from painpath.cases import Case, Mode, encode_many
from painpath.domain import Level, setting_for
from painpath.engine import CompiledKB, default_compiled
from painpath.engine.compiled import LEVEL_RANK, OTHER, RANK_LEVEL

__all__ = ["METRICS", "candidate_probabilities", "score_cases", "score_predictions"]

#: The metrics of one mode, in the README's order.
METRICS = ("n", "top1", "top3", "origin", "triage_exact", "under_triage", "over_triage",
           "emergency_sensitivity", "brier", "other_recall", "other_false")


def candidate_probabilities(ckb: CompiledKB, post: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The candidates (condition keys, then "other") and their probabilities (N, C + 1), rows summing to 1."""
    post = np.atleast_2d(np.asarray(post, dtype=np.float64))
    C = len(ckb.conditions)
    if post.shape[1] == C:  # no unlisted-cause class: "other" gets nothing
        post = np.hstack([post, np.zeros((post.shape[0], 1))])
    elif post.shape[1] != C + 1:
        raise ValueError(f"probabilities have {post.shape[1]} columns; expected {C} or {C + 1}")
    total = post.sum(axis=1, keepdims=True)
    return [*ckb.conditions, OTHER], post / np.where(total > 0, total, 1.0)


def _mean(hits: int, total: int) -> float | None:
    return hits / total if total else None


def score_predictions(
    ckb: CompiledKB,
    cases: Sequence[Case],
    post: np.ndarray,
    levels: Sequence[str],
) -> dict[str, Any]:
    """Metrics for per-case probabilities (N, C or C + 1 columns in ``ckb.candidates`` order) and levels."""
    n = len(cases)
    if n == 0:
        return {"n": 0, "misses": []}
    cands, prob = candidate_probabilities(ckb, post)
    conds = ckb.kb.conditions.conditions
    top1 = top3 = exact = under = over = 0
    origin_ok = in_scope = 0
    other_total = other_hit = other_false = 0
    brier = 0.0
    emerg_total = emerg_hit = 0
    misses = []
    order_all = np.argsort(-prob, axis=1, kind="stable")  # "other" is the last column: ties rank it last
    for i, case in enumerate(cases):
        assert case.gold is not None
        p = prob[i]
        order = order_all[i]
        ranked = [cands[j] for j in order]
        right = set(case.gold.right_answers)
        t1 = ranked[0] in right
        top1 += t1
        top3 += bool(right & set(ranked[:3]))
        brier += (1.0 - float(sum(p[cands.index(c)] for c in right))) ** 2
        if case.gold.condition == OTHER:
            other_total += 1
            other_hit += ranked[0] == OTHER
        else:
            in_scope += 1
            other_false += ranked[0] == OTHER
            right_origins = {conds[c].origin for c in right}
            origin_ok += ranked[0] != OTHER and conds[ranked[0]].origin in right_origins
        pred, gold = levels[i], case.gold.triage
        exact += pred == gold
        under += LEVEL_RANK[pred] < LEVEL_RANK[gold]
        over += LEVEL_RANK[pred] > LEVEL_RANK[gold]
        if gold == Level.EMERGENCY:
            emerg_total += 1
            emerg_hit += pred == Level.EMERGENCY
        if not t1 or pred != gold:
            misses.append(
                {
                    "id": case.id,
                    "gold": case.gold.condition,
                    "gold_triage": gold,
                    "predicted_top3": [[cands[j], round(float(p[j]), 4)] for j in order[:3]],
                    "predicted_triage": pred,
                }
            )
    return {
        "n": n,
        "top1": top1 / n,
        "top3": top3 / n,
        "origin": _mean(origin_ok, in_scope),
        "triage_exact": exact / n,
        "under_triage": under / n,
        "over_triage": over / n,
        "emergency_sensitivity": _mean(emerg_hit, emerg_total),
        "brier": brier / n,
        "other_recall": _mean(other_hit, other_total),
        "other_false": _mean(other_false, in_scope),
        "misses": misses,
    }


def score_cases(cases: Sequence[Case], mode: Mode, *, ckb: CompiledKB | None = None) -> dict[str, Any]:
    """Assess every case with all its findings in the given mode and score against gold."""
    from painpath.assessment import assess_arrays

    ckb = ckb or default_compiled()
    ev, age, female = encode_many(list(cases), ckb, mode)
    post, ranks = assess_arrays(ev, age, female, setting=setting_for(mode), ckb=ckb)
    return score_predictions(ckb, cases, post, [RANK_LEVEL[int(r)] for r in ranks])
