"""Triage: the level of care from warning floors and the condition ranking.

    level = max(highest warning floor fired by the findings,
                condition-driven level)

Warning floors depend on findings stated present only, so they hold whatever
the probabilities say and adding a finding can never lower one. The
condition-driven level is the most urgent level L for which the conditions at
level L or above (after escalations) together hold at least
``risk_thresholds[L]`` of the probability: when the ranking is uncertain
between conditions of different urgency, the more urgent one wins early.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from painpath.engine.compiled import LEVEL_RANK, CompiledKB

__all__ = ["TriageArrays", "condition_ranks", "floor_matrix", "triage_arrays"]


@dataclass(frozen=True)
class TriageArrays:
    level_rank: np.ndarray  # (N,) final level rank (3 = emergency ... 0 = self_care)
    floor_rank: np.ndarray  # (N,) highest floor rank, -1 if none
    floors_fired: np.ndarray  # (N, n_floors) bool
    condition_rank: np.ndarray  # (N,) condition-driven rank
    effective_ranks: np.ndarray  # (N, C) each condition's level after escalations
    escalations_fired: np.ndarray  # (N, n_escalations) bool


def _any_present(ckb: CompiledKB, present: np.ndarray, keys: list[str]) -> np.ndarray:
    idx = [ckb.fidx[k] for k in keys]
    return present[:, idx].any(axis=1)


def floor_matrix(ckb: CompiledKB, present: np.ndarray) -> np.ndarray:
    """(N, n_floors) bool: which warning floors each case triggers."""
    floors = ckb.kb.triage.floors
    out = np.zeros((present.shape[0], len(floors)), dtype=bool)
    for j, fl in enumerate(floors):
        fired = _any_present(ckb, present, fl.any)
        if fl.with_any:
            fired &= _any_present(ckb, present, fl.with_any)
        out[:, j] = fired
    return out


def condition_ranks(ckb: CompiledKB, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each condition's level rank after escalations (N, C), and which escalations fired."""
    n = present.shape[0]
    ranks = np.broadcast_to(ckb.base_rank, (n, len(ckb.conditions))).copy()
    escs = ckb.kb.triage.escalations
    fired_all = np.zeros((n, len(escs)), dtype=bool)
    for j, esc in enumerate(escs):
        fired = _any_present(ckb, present, esc.any)
        fired_all[:, j] = fired
        if esc.conditions:
            cols = [ckb.cidx[c] for c in esc.conditions]
        else:
            cols = [i for i, r in enumerate(ckb.base_rank) if r == LEVEL_RANK[esc.from_level or "self_care"]]
        target = LEVEL_RANK[esc.level]
        sub = ranks[:, cols]
        ranks[:, cols] = np.where(fired[:, None], np.maximum(sub, target), sub)
    return ranks, fired_all


def triage_arrays(ckb: CompiledKB, ev: np.ndarray, post: np.ndarray) -> TriageArrays:
    present = np.atleast_2d(ev) > 0
    floors = floor_matrix(ckb, present)
    floor_levels = np.array([LEVEL_RANK[f.level] for f in ckb.kb.triage.floors])
    floor_rank = np.where(floors, floor_levels[None, :], -1).max(axis=1, initial=-1)
    eff, esc_fired = condition_ranks(ckb, present)
    cond_rank = np.zeros(present.shape[0], dtype=int)
    thresholds = ckb.kb.triage.risk_thresholds
    for level in ("soon", "urgent", "emergency"):
        r = LEVEL_RANK[level]
        mass = np.where(eff >= r, post, 0.0).sum(axis=1)
        cond_rank = np.where(mass >= thresholds[level], r, cond_rank)  # type: ignore[index]
    final = np.maximum(floor_rank, cond_rank)
    return TriageArrays(final, floor_rank, floors, cond_rank, eff, esc_fired)
