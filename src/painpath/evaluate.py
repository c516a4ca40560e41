"""Benchmark scoring, exactly as defined in shared/benchmark/README.md."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from painpath.cases import Case, Mode, encode_many
from painpath.engine import CompiledKB, default_compiled
from painpath.engine.compiled import LEVEL_RANK, RANK_LEVEL

__all__ = ["score_cases", "score_predictions"]


def score_predictions(
    ckb: CompiledKB,
    cases: Sequence[Case],
    post: np.ndarray,
    levels: Sequence[str],
) -> dict[str, Any]:
    """Metrics for given per-case probabilities (N, C, in ckb.conditions order) and levels."""
    n = len(cases)
    if n == 0:
        return {"n": 0}
    conds = ckb.conditions
    top1 = top3 = origin_ok = exact = under = over = 0
    brier = 0.0
    emerg_total = emerg_hit = 0
    misses = []
    for i, case in enumerate(cases):
        assert case.gold is not None
        p = post[i]
        order = np.argsort(-p, kind="stable")  # ties broken by taxonomy order
        ranked = [conds[j] for j in order]
        right = set(case.gold.right_answers)
        t1 = ranked[0] in right
        top1 += t1
        top3 += bool(right & set(ranked[:3]))
        right_origins = {ckb.kb.conditions.conditions[c].origin for c in right}
        origin_ok += ckb.kb.conditions.conditions[ranked[0]].origin in right_origins
        pr = float(sum(p[ckb.cidx[c]] for c in right))
        brier += (1.0 - pr) ** 2
        pred, gold = levels[i], case.gold.triage
        exact += pred == gold
        under += LEVEL_RANK[pred] < LEVEL_RANK[gold]
        over += LEVEL_RANK[pred] > LEVEL_RANK[gold]
        if gold == "emergency":
            emerg_total += 1
            emerg_hit += pred == "emergency"
        if not t1 or pred != gold:
            misses.append(
                {
                    "id": case.id,
                    "gold": case.gold.condition,
                    "gold_triage": gold,
                    "predicted_top3": [[conds[j], round(float(p[j]), 4)] for j in order[:3]],
                    "predicted_triage": pred,
                }
            )
    return {
        "n": n,
        "top1": top1 / n,
        "top3": top3 / n,
        "origin": origin_ok / n,
        "triage_exact": exact / n,
        "under_triage": under / n,
        "over_triage": over / n,
        "emergency_sensitivity": (emerg_hit / emerg_total) if emerg_total else None,
        "brier": brier / n,
        "misses": misses,
    }


def score_cases(cases: Sequence[Case], mode: Mode, *, ckb: CompiledKB | None = None) -> dict[str, Any]:
    """Assess every case with all its findings in the given mode and score against gold."""
    from painpath.assessment import assess_arrays

    ckb = ckb or default_compiled()
    ev, age, female = encode_many(list(cases), ckb, mode)
    post, ranks = assess_arrays(ev, age, female, setting="self" if mode == "self" else "clinic", ckb=ckb)
    return score_predictions(ckb, cases, post, [RANK_LEVEL[int(r)] for r in ranks])
