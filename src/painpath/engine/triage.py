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

__all__ = ["TriageArrays", "condition_ranks", "floor_matrix", "other_leads", "triage_arrays"]


@dataclass(frozen=True)
class TriageArrays:
    level_rank: np.ndarray  # (N,) final level rank (3 = emergency ... 0 = self_care)
    floor_rank: np.ndarray  # (N,) highest floor rank, -1 if none
    floors_fired: np.ndarray  # (N, n_floors) bool
    condition_rank: np.ndarray  # (N,) condition-driven rank
    effective_ranks: np.ndarray  # (N, M) each candidate's level after escalations
    escalations_fired: np.ndarray  # (N, n_escalations) bool
    other_fired: np.ndarray  # (N, n_other_escalations) bool: escalations of "other" (model.yaml)


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


def condition_ranks(ckb: CompiledKB, present: np.ndarray, age: np.ndarray | None = None,
                    unknown: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's level rank after escalations (N, M), and which escalations fired.

    An escalation with ``while_unknown`` fires only while all of those findings are unknown
    (``unknown``: (N, F) bool, evidence 0; without it such escalations do not fire).

    The escalations of ``triage.yaml`` apply to the conditions; the unlisted-cause column
    ("other", when defined) has its own escalations (``model.yaml: other.escalations``), whose
    ``min_age`` rules need ``age`` (without it they do not fire).
    """
    n = present.shape[0]
    C = len(ckb.conditions)
    ranks = np.broadcast_to(ckb.base_rank, (n, len(ckb.base_rank))).copy()
    escs = ckb.kb.triage.escalations
    fired_all = np.zeros((n, len(escs)), dtype=bool)
    for j, esc in enumerate(escs):
        fired = _any_present(ckb, present, esc.any)
        if esc.while_unknown:
            idx = [ckb.fidx[k] for k in esc.while_unknown]
            fired &= unknown[:, idx].all(axis=1) if unknown is not None else False
        fired_all[:, j] = fired
        if esc.conditions:
            cols = [ckb.cidx[c] for c in esc.conditions]
        else:
            cols = [i for i, r in enumerate(ckb.base_rank[:C]) if r == LEVEL_RANK[esc.from_level or "self_care"]]
        target = LEVEL_RANK[esc.level]
        sub = ranks[:, cols]
        ranks[:, cols] = np.where(fired[:, None], np.maximum(sub, target), sub)
    if ckb.other_index is not None:
        o = ckb.other_index
        for (target, _cols, _age), fired in zip(ckb.other_escalations, other_fired(ckb, present, age).T, strict=True):
            ranks[:, o] = np.where(fired, np.maximum(ranks[:, o], target), ranks[:, o])
    return ranks, fired_all


def other_fired(ckb: CompiledKB, present: np.ndarray, age: np.ndarray | None = None) -> np.ndarray:
    """(N, n) bool: which escalations of "other" fire (a finding present, or age >= min_age when ages are given)."""
    n = present.shape[0]
    out = np.zeros((n, len(ckb.other_escalations)), dtype=bool)
    for j, (_target, cols, min_age) in enumerate(ckb.other_escalations):
        if cols.size:
            out[:, j] = present[:, cols].any(axis=1)
        if min_age is not None and age is not None:
            out[:, j] |= np.asarray(age).reshape(-1) >= min_age
    return out


def other_leads(ckb: CompiledKB, post: np.ndarray) -> np.ndarray:
    """(N,) bool: "other" ranks first, i.e. its probability is strictly above every condition's."""
    post = np.atleast_2d(post)
    if ckb.other_index is None:
        return np.zeros(post.shape[0], dtype=bool)
    o = ckb.other_index
    return post[:, o] > post[:, :o].max(axis=1)


def triage_arrays(ckb: CompiledKB, ev: np.ndarray, post: np.ndarray, age: np.ndarray | None = None) -> TriageArrays:
    """Triage of N cases from their evidence (N, F), posteriors (N, M) and ages (for "other").

    When "other" ranks first, the condition-driven level is at least its own level (after its
    escalations): an unexplained pattern never gets self-care from the conditions it does not fit.
    """
    ev = np.atleast_2d(ev)
    present = ev > 0
    floors = floor_matrix(ckb, present)
    floor_levels = np.array([LEVEL_RANK[f.level] for f in ckb.kb.triage.floors])
    floor_rank = np.where(floors, floor_levels[None, :], -1).max(axis=1, initial=-1)
    eff, esc_fired = condition_ranks(ckb, present, age, ev == 0)
    cond_rank = np.zeros(present.shape[0], dtype=int)
    thresholds = ckb.kb.triage.risk_thresholds
    for level in ("soon", "urgent", "emergency"):
        r = LEVEL_RANK[level]
        mass = np.where(eff >= r, post, 0.0).sum(axis=1)
        cond_rank = np.where(mass >= thresholds[level], r, cond_rank)  # type: ignore[index]
    if ckb.other_index is not None:
        cond_rank = np.where(other_leads(ckb, post), np.maximum(cond_rank, eff[:, ckb.other_index]), cond_rank)
    final = np.maximum(floor_rank, cond_rank)
    return TriageArrays(final, floor_rank, floors, cond_rank, eff, esc_fired, other_fired(ckb, present, age))
