"""One case at a time: the float64 model of :mod:`posterior`, :mod:`triage` and :mod:`explain`
arranged for latency.

The batch functions take (N, F) arrays and pay NumPy's per-call overhead on every small
2-D operation; for one case (``painpath.assess``, the API, the web pages) that overhead is
most of the time. :func:`assess_one` computes the same quantities on 1-D arrays with the
knowledge base's index lists prepared once (:func:`_prepared`, cached per compiled KB):
the evidence weights, the posterior (one matrix-vector product for the conditions and the
unlisted-cause profiles together), the triage (returned as :class:`TriageArrays` of one row,
so callers read it as they read the batch result), and the weight of evidence for just the
candidates whose explanations are shown. The tests check it against the batch reference.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from functools import cache

import numpy as np

from painpath.domain import Level
from painpath.engine.compiled import LEVEL_RANK, CompiledKB
from painpath.engine.triage import TriageArrays, _mats

__all__ = ["OneCase", "assess_one", "top_answers"]

_RAISED = (Level.SOON, Level.URGENT, Level.EMERGENCY)


@dataclass(frozen=True, eq=False)
class _Prepared:
    implications: tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...]  # (b, a's present, a's absent)
    member: np.ndarray  # (F, K) cluster membership
    damp: np.ndarray  # (K * S,) the weight 1 / (1 + rho (m - 1)) of cluster k with m answered: [k * S + m]
    damp_stride: np.ndarray  # (K,) k * S
    clustered: np.ndarray  # (Fc,) findings in a cluster
    cluster_of: np.ndarray  # (Fc,) their cluster
    table: np.ndarray  # (2F, M or C + P): [log P(absent); log P(present) - log P(absent)] for the candidates
    #                    (and the profiles of "other" after the conditions, when it has them)
    prof_log_w: np.ndarray  # (P,)
    age_bounds: list[float]
    # triage, as plain Python data (a few small sets: cheaper than NumPy calls for one case)
    floors: tuple[tuple[frozenset[int], frozenset[int] | None, int], ...]  # (any, with_any or None, rank)
    escalations: tuple[tuple[frozenset[int], tuple[int, ...], tuple[tuple[int, int], ...]], ...]
    #              (any, while_unknown, (candidate, rank it is raised to) ...)
    other_escalations: tuple[tuple[frozenset[int], int, int, int], ...]  # (any, min age, max age, rank)
    base_rank: tuple[int, ...]
    thresholds: tuple[tuple[int, float], ...]  # (rank, risk threshold) for soon, urgent, emergency
    ranks: np.ndarray  # (3, 1) the ranks of soon, urgent, emergency
    like: np.ndarray  # (2F, M) P(absent | candidate) for each finding, then P(present | candidate)
    like_t: np.ndarray  # (M, 2F) the same, transposed
    log_like_t: np.ndarray  # (M, 2F) their logs, as the batch path has them (log_q, log_p)


@cache
def _prepared(ckb: CompiledKB) -> _Prepared:
    o, P = ckb.other_index, int(ckb.prof_log_w.size)
    if P:  # the profiles' columns replace the one of "other" (reduced by logsumexp)
        C = len(ckb.conditions)
        table = np.vstack([np.hstack([ckb.log_q_t[:, :C], ckb.prof_log_q_t]),
                           np.hstack([ckb.log_d_t[:, :C], ckb.prof_log_d_t])])
    else:
        table = np.vstack([ckb.log_q_t, ckb.log_d_t])
    assert P == 0 or o == len(ckb.conditions)  # "other" is the last candidate
    clustered = np.flatnonzero(ckb.cluster_of >= 0)
    K = len(ckb.rho)
    S = int(ckb.cluster_member.sum(axis=0).max(initial=0)) + 1  # counts 0 .. the largest cluster
    m = np.arange(S, dtype=np.float64)
    damp = 1.0 / (1.0 + ckb.rho[:, None] * np.maximum(m[None, :] - 1.0, 0.0))  # the batch path's formula
    mt = _mats(ckb)
    tri = ckb.kb.triage
    fidx = ckb.fidx
    floors = tuple((frozenset(fidx[k] for k in fl.any), frozenset(fidx[k] for k in fl.with_any) if fl.with_any else None,
                    LEVEL_RANK[fl.level]) for fl in tri.floors)
    unknown = dict(mt.esc_unknown)
    escalations = tuple(
        (frozenset(fidx[k] for k in esc.any), tuple(int(c) for c in unknown.get(j, ())),
         tuple((int(c), int(r)) for c, r in enumerate(mt.esc_raise[j]) if r >= 0))
        for j, esc in enumerate(tri.escalations))
    thr = tri.risk_thresholds
    return _Prepared(
        implications=tuple((int(b), tuple(int(a) for a in ap), tuple(int(a) for a in aa))
                           for b, ap, aa in ckb.implications),
        member=ckb.cluster_member,
        damp=damp.ravel(),
        damp_stride=np.arange(K, dtype=np.intp) * S,
        clustered=clustered,
        cluster_of=ckb.cluster_of[clustered],
        table=np.ascontiguousarray(table),
        prof_log_w=ckb.prof_log_w,
        age_bounds=[float(b) for b in ckb.age_bounds],
        floors=floors,
        escalations=escalations,
        other_escalations=tuple((frozenset(int(c) for c in cols), lo, hi, int(t))
                                for t, cols, lo, hi, _aged in ckb.other_escalations),
        base_rank=tuple(int(r) for r in ckb.base_rank),
        thresholds=tuple((lv.rank, float(thr[lv.value])) for lv in _RAISED),  # type: ignore[index]  # RaisedLevelName values
        ranks=np.array([lv.rank for lv in _RAISED]).reshape(-1, 1),
        like=np.vstack([1.0 - ckb.theta_all.T, ckb.theta_all.T]),
        like_t=np.hstack([1.0 - ckb.theta_all, ckb.theta_all]),
        log_like_t=np.ascontiguousarray(np.vstack([ckb.log_q, ckb.log_p]).T),
    )


@dataclass(frozen=True, eq=False)
class OneCase:
    w: np.ndarray  # (F,) evidence weights (0 where unknown or redundant)
    post: np.ndarray  # (M,) posterior over the candidates
    triage: TriageArrays  # one row


def _weights(pr: _Prepared, ev: np.ndarray, evl: list[int]) -> np.ndarray:
    """:func:`painpath.engine.posterior.evidence_weights` for one case (``evl``: ``ev`` as a list)."""
    obs = (ev != 0).astype(np.float64)
    for b, a_present, a_absent in pr.implications:  # a few, each looking at one or two findings
        if evl[b]:
            for a in a_present:
                if evl[a] > 0:
                    obs[b] = 0.0
            for a in a_absent:
                if evl[a] < 0:
                    obs[b] = 0.0
    if pr.clustered.size:  # the damping of each cluster's answered count, looked up
        m = (obs @ pr.member).astype(np.intp)
        obs[pr.clustered] *= pr.damp[m + pr.damp_stride][pr.cluster_of]
    return obs


def assess_one(ckb: CompiledKB, ev: np.ndarray, age: int, female: bool, setting: str = "self") -> OneCase:
    """Evidence weights, posterior (M,) and triage of one case (``ev``: (F,) +1/-1/0); the same
    model as :func:`painpath.engine.posterior.posterior` and :func:`painpath.engine.triage.triage_arrays`.

    The log-likelihoods come from one matrix-vector product; what follows works on a few dozen
    numbers, in plain Python (each NumPy call costs more than the arithmetic it would do here)."""
    pr = _prepared(ckb)
    ev = np.asarray(ev).ravel()
    evl = ev.tolist()
    w = _weights(pr, ev, evl)
    present = ev > 0
    ll = np.concatenate([w, w * present]) @ pr.table
    o = ckb.other_index
    if pr.prof_log_w.size:  # "other" is a mixture of profiles: logsumexp over them
        assert o is not None  # profiles belong to "other"
        lp = ll[o:] + pr.prof_log_w
        top = lp.max()
        ll = ll[:o + 1]
        ll[o] = top + np.log(np.exp(lp - top).sum())
    if ckb.temperature != 1.0:
        ll /= ckb.temperature
    ll += _log_prior(ckb, setting, min(bisect_left(pr.age_bounds, age), len(pr.age_bounds) - 1), 0 if female else 1)
    ll -= ll.max()
    np.exp(ll, out=ll)
    ll /= ll.sum()
    return OneCase(w, ll, _triage(ckb, pr, evl, present, ll, age))


@cache
def _log_prior(ckb: CompiledKB, setting: str, band: int, sex_row: int) -> np.ndarray:
    """:func:`painpath.engine.posterior.log_prior` of one (setting, age band, sex), summed as there."""
    return ckb.log_prior[setting] + ckb.log_age[band] + ckb.log_sex[sex_row]


def _triage(ckb: CompiledKB, pr: _Prepared, evl: list[int], is_present: np.ndarray, post: np.ndarray,
            age: int) -> TriageArrays:
    """:func:`painpath.engine.triage.triage_arrays` for one case, as arrays of one row."""
    present = set(np.flatnonzero(is_present).tolist())
    floors = []
    floor_rank = -1
    for a, with_any, r in pr.floors:
        on = not present.isdisjoint(a) and (with_any is None or not present.isdisjoint(with_any))
        floors.append(on)
        if on and r > floor_rank:
            floor_rank = r
    eff = list(pr.base_rank)
    esc = []
    for a, unknown, raises in pr.escalations:
        on = not present.isdisjoint(a)
        for c in unknown:  # while_unknown: fires only while all of these are unknown
            if evl[c]:
                on = False
        esc.append(on)
        if on:
            for c, r in raises:
                if r > eff[c]:
                    eff[c] = r
    o = ckb.other_index
    other = []
    for a, min_age, max_age, r in pr.other_escalations:  # a finding of ``a`` (if any) and the age bounds
        on = (not a or not present.isdisjoint(a)) and min_age <= age <= max_age
        other.append(on)
        if on and o is not None and r > eff[o]:
            eff[o] = r
    eff_a = np.array([eff])
    cond = 0
    held = np.where(eff_a >= pr.ranks, post, 0.0).sum(axis=1).tolist()  # at or above soon, urgent, emergency
    for (rank, threshold), mass in zip(pr.thresholds, held, strict=True):
        if mass >= threshold:
            cond = rank
    if o is not None and post[o] > post[:o].max():  # "other" leads
        cond = max(cond, eff[o])
    ranks = np.array([[max(floor_rank, cond), floor_rank, cond]])
    fired = np.array([floors + esc + other], dtype=bool)
    nf, ne = len(floors), len(esc)
    return TriageArrays(ranks[:, 0], ranks[:, 1], fired[:, :nf], ranks[:, 2], eff_a, fired[:, nf:nf + ne],
                        fired[:, nf + ne:])


def top_answers(ckb: CompiledKB, ev: np.ndarray, w: np.ndarray, post: np.ndarray, cols: list[int], top: int,
                beyond: float = 0.05) -> list[tuple[list[int], list[float], list[int], list[float]]]:
    """For each candidate in ``cols``: the ``top`` answers that raised it most (weight of evidence
    above ``beyond``) and lowered it most (below ``-beyond``), as (findings, weights, findings,
    weights): the same answers, in the same order, as a stable sort of the candidate's column of
    :func:`painpath.engine.explain.contributions` (largest first, ties to the later finding;
    smallest first, ties to the earlier), cut to ``top`` and then to ``beyond``. Only the answered
    findings are weighed (the others weigh 0, which never passes ``beyond``), and only the few
    weights at or past the ``top``-th largest and smallest are sorted."""
    pr = _prepared(ckb)
    F = ev.size
    rows = np.flatnonzero(ev)
    if rows.size == 0 or top <= 0 or not cols:
        return [([], [], [], []) for _ in cols]
    answer_rows = rows + F * (ev[rows] > 0)  # columns of the [absent | present] tables
    total = (pr.like @ post)[answer_rows]  # P(answer | the mixture of all the candidates)
    ci = np.array(cols)
    pc = post[ci][:, None]
    like = pr.like_t.take(ci, 0).take(answer_rows, 1)  # (len(cols), k)
    others = (total - like * pc) / np.maximum(1.0 - pc, 1e-12)
    contrib = w[rows] * (pr.log_like_t.take(ci, 0).take(answer_rows, 1) - np.log(np.maximum(others, 1e-300)))
    return _pick(contrib, rows, top, beyond)


_Listed = tuple[list[int], list[float], list[int], list[float]]  # raised most (findings, weights), lowered most


def _pick(contrib: np.ndarray, rows: np.ndarray, n: int, beyond: float) -> list[_Listed]:
    """Per row of ``contrib`` (candidates x answered findings ``rows``): the findings and weights of
    the n largest weights above ``beyond`` and the n smallest below ``-beyond``, ordered as a stable
    sort orders them. One stable sort of each row: its first n are the smallest (ties to the earlier
    finding), its last n reversed the largest (ties to the later finding)."""
    k = contrib.shape[1]
    n = min(n, k)
    order = np.argsort(contrib, axis=1, kind="stable")
    idx = np.concatenate([order[:, ::-1][:, :n], order[:, :n]], axis=1)  # the n largest, then the n smallest
    vals = np.take_along_axis(contrib, idx, 1)
    n_hi = (vals[:, :n] > beyond).sum(axis=1).tolist()  # sorted: the ones past ``beyond`` come first
    n_lo = (vals[:, n:] < -beyond).sum(axis=1).tolist()
    return [(f[:h], v[:h], f[n:n + m], v[n:n + m])
            for f, v, h, m in zip(rows[idx].tolist(), vals.tolist(), n_hi, n_lo, strict=True)]
