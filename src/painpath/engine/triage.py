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
from functools import cache

import numpy as np

from painpath.domain import Level
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


@dataclass(frozen=True, eq=False)
class _Mats:
    """The floors and escalations as 0/1 matrices over the findings they look at (built once per KB)."""

    cols: np.ndarray  # (T,) finding columns any floor or escalation looks at
    trig: np.ndarray  # (T, G) groups: floors' any (nf), floors' with_any (nf), escalations (ne), "other" (no)
    nf: int
    ne: int
    has_with: np.ndarray  # (nf,) bool
    floor_level: np.ndarray  # (nf,) rank
    esc_raise: np.ndarray  # (ne, M) the rank an escalation raises each candidate to, -1 where it does not apply
    other_target: np.ndarray  # (no,) rank
    other_no_any: np.ndarray  # (no,) bool: the escalation lists no findings (its age rule alone decides)
    other_min_age: np.ndarray  # (no,) years (0 = no lower bound)
    other_max_age: np.ndarray  # (no,) years (1000 = no upper bound)
    other_age_rule: np.ndarray  # (no,) bool: the escalation has an age bound
    esc_unknown: tuple[tuple[int, np.ndarray], ...] = ()  # (escalation, finding cols) that must all be unknown


@cache
def _mats(ckb: CompiledKB) -> _Mats:
    tri = ckb.kb.triage
    C, M = len(ckb.conditions), len(ckb.base_rank)
    groups = ([[ckb.fidx[k] for k in fl.any] for fl in tri.floors]
              + [[ckb.fidx[k] for k in fl.with_any] for fl in tri.floors]
              + [[ckb.fidx[k] for k in esc.any] for esc in tri.escalations]
              + [list(cols) for _t, cols, *_ in ckb.other_escalations])
    cols = sorted({c for g in groups for c in g})
    pos = {c: i for i, c in enumerate(cols)}
    trig = np.zeros((len(cols), len(groups)))
    for j, g in enumerate(groups):
        for c in g:
            trig[pos[c], j] = 1.0
    esc_raise = np.full((len(tri.escalations), M), -1, dtype=np.int64)
    for j, esc in enumerate(tri.escalations):
        if esc.conditions:
            targets = [ckb.cidx[c] for c in esc.conditions]
        else:
            targets = [i for i in range(C) if ckb.base_rank[i] == LEVEL_RANK[esc.from_level or Level.SELF_CARE]]
        esc_raise[j, targets] = LEVEL_RANK[esc.level]
    return _Mats(
        cols=np.array(cols, dtype=np.intp),
        trig=trig,
        nf=len(tri.floors),
        ne=len(tri.escalations),
        has_with=np.array([bool(fl.with_any) for fl in tri.floors]),
        floor_level=np.array([LEVEL_RANK[fl.level] for fl in tri.floors], dtype=np.int64),
        esc_raise=esc_raise,
        other_target=np.array([t for t, *_ in ckb.other_escalations], dtype=np.int64),
        other_no_any=np.array([len(c) == 0 for _t, c, *_ in ckb.other_escalations], dtype=bool),
        other_min_age=np.array([e[2] for e in ckb.other_escalations], dtype=np.int64),
        other_max_age=np.array([e[3] for e in ckb.other_escalations], dtype=np.int64),
        other_age_rule=np.array([e[4] for e in ckb.other_escalations], dtype=bool),
        esc_unknown=tuple((j, np.array([ckb.fidx[k] for k in esc.while_unknown], dtype=np.intp))
                          for j, esc in enumerate(tri.escalations) if esc.while_unknown),
    )


def _hits(ckb: CompiledKB, present: np.ndarray) -> np.ndarray:
    """(N, G) bool: which trigger groups (see :class:`_Mats`) have a finding present."""
    mt = _mats(ckb)
    return (present[:, mt.cols].astype(np.float64) @ mt.trig) > 0


def floor_matrix(ckb: CompiledKB, present: np.ndarray, hits: np.ndarray | None = None) -> np.ndarray:
    """(N, n_floors) bool: which warning floors each case triggers (``any`` present, and ``with_any`` if given)."""
    mt = _mats(ckb)
    h = _hits(ckb, present) if hits is None else hits
    return h[:, :mt.nf] & (h[:, mt.nf:2 * mt.nf] | ~mt.has_with)


def condition_ranks(ckb: CompiledKB, present: np.ndarray, age: np.ndarray | None = None,
                    hits: np.ndarray | None = None,
                    unknown: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's level rank after escalations (N, M), and which escalations fired.

    An escalation with ``while_unknown`` fires only while all of those findings are unknown
    (``unknown``: (N, F) bool, evidence 0; without it such escalations do not fire).

    The escalations of ``triage.yaml`` apply to the conditions; the unlisted-cause column
    ("other", when defined) has its own escalations (``model.yaml: other.escalations``), whose
    age rules (``min_age``, ``max_age``) need ``age`` (without it those escalations do not fire).
    """
    mt = _mats(ckb)
    h = _hits(ckb, present) if hits is None else hits
    n = present.shape[0]
    fired_all = h[:, 2 * mt.nf:2 * mt.nf + mt.ne].copy()
    for j, cols in mt.esc_unknown:
        fired_all[:, j] &= unknown[:, cols].all(axis=1) if unknown is not None else False
    ranks = np.broadcast_to(ckb.base_rank, (n, len(ckb.base_rank))).copy()
    if mt.ne:
        raised = np.where(fired_all[:, :, None], mt.esc_raise[None, :, :], -1).max(axis=1)
        np.maximum(ranks, raised, out=ranks)
    if ckb.other_index is not None and len(mt.other_target):
        o = ckb.other_index
        of = other_fired(ckb, present, age, h)
        ranks[:, o] = np.maximum(ranks[:, o], np.where(of, mt.other_target, -1).max(axis=1))
    return ranks, fired_all


def other_fired(ckb: CompiledKB, present: np.ndarray, age: np.ndarray | None = None,
                hits: np.ndarray | None = None) -> np.ndarray:
    """(N, n) bool: which escalations of "other" fire: a finding of its ``any`` present (when it lists any) and
    its age bounds hold (when it has any; without ``age`` an escalation with an age bound does not fire)."""
    mt = _mats(ckb)
    h = _hits(ckb, present) if hits is None else hits
    out = h[:, 2 * mt.nf + mt.ne:] | mt.other_no_any
    if age is None:
        return out & ~mt.other_age_rule
    a = np.asarray(age).reshape(-1, 1)
    return out & (a >= mt.other_min_age) & (a <= mt.other_max_age)


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
    hits = _hits(ckb, present)
    floors = floor_matrix(ckb, present, hits)
    floor_rank = np.where(floors, _mats(ckb).floor_level[None, :], -1).max(axis=1, initial=-1)
    eff, esc_fired = condition_ranks(ckb, present, age, hits, ev == 0)
    cond_rank = np.zeros(present.shape[0], dtype=int)
    thresholds = ckb.kb.triage.risk_thresholds
    for level in (Level.SOON, Level.URGENT, Level.EMERGENCY):
        r = level.rank
        mass = np.where(eff >= r, post, 0.0).sum(axis=1)
        cond_rank = np.where(mass >= thresholds[level.value], r, cond_rank)  # type: ignore[index]  # a RaisedLevelName
    if ckb.other_index is not None:
        cond_rank = np.where(other_leads(ckb, post), np.maximum(cond_rank, eff[:, ckb.other_index]), cond_rank)
    final = np.maximum(floor_rank, cond_rank)
    return TriageArrays(final, floor_rank, floors, cond_rank, eff, esc_fired, other_fired(ckb, present, age, hits))
