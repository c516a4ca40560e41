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
from painpath.engine.compiled import CompiledKB
from painpath.engine.triage import TriageArrays, _mats

__all__ = ["OneCase", "assess_one", "contributions_for"]

_RAISED = (Level.SOON, Level.URGENT, Level.EMERGENCY)


@dataclass(frozen=True, eq=False)
class _Prepared:
    imp_targets: np.ndarray  # (I,) findings an implication can make redundant
    imp_src_p: np.ndarray  # (Ap,) findings whose presence makes one redundant
    imp_mat_p: np.ndarray  # (Ap, I) float64
    imp_src_a: np.ndarray  # (Aa,)
    imp_mat_a: np.ndarray  # (Aa, I)
    clustered: np.ndarray  # (Fc,) findings in a cluster
    cluster_of: np.ndarray  # (Fc,) their cluster
    n_clusters: int
    table: np.ndarray  # (2F, M or C + P): [log P(absent); log P(present) - log P(absent)] for the candidates
    #                    (and the profiles of "other" after the conditions, when it has them)
    prof_log_w: np.ndarray  # (P,)
    age_bounds: list[float]
    thresholds: tuple[tuple[int, float], ...]  # (rank, risk threshold) for soon, urgent, emergency
    theta_t: np.ndarray  # (F, M) P(present | candidate)
    one_minus_theta_t: np.ndarray  # (F, M)


@cache
def _prepared(ckb: CompiledKB) -> _Prepared:
    targets = sorted({int(b) for b, _ap, _aa in ckb.implications})
    src_p = sorted({int(a) for _b, ap, _aa in ckb.implications for a in ap})
    src_a = sorted({int(a) for _b, _ap, aa in ckb.implications for a in aa})
    clustered = np.flatnonzero(ckb.cluster_of >= 0)
    o, P = ckb.other_index, int(ckb.prof_log_w.size)
    if P:  # the profiles' columns replace the one of "other" (reduced by logsumexp)
        C = len(ckb.conditions)
        table = np.vstack([np.hstack([ckb.log_q_t[:, :C], ckb.prof_log_q_t]),
                           np.hstack([ckb.log_d_t[:, :C], ckb.prof_log_d_t])])
    else:
        table = np.vstack([ckb.log_q_t, ckb.log_d_t])
    assert P == 0 or o == len(ckb.conditions)  # "other" is the last candidate
    thr = ckb.kb.triage.risk_thresholds
    return _Prepared(
        imp_targets=np.array(targets, dtype=np.intp),
        imp_src_p=np.array(src_p, dtype=np.intp),
        imp_mat_p=ckb.red_if_present[np.ix_(src_p, targets)],
        imp_src_a=np.array(src_a, dtype=np.intp),
        imp_mat_a=ckb.red_if_absent[np.ix_(src_a, targets)],
        clustered=clustered,
        cluster_of=ckb.cluster_of[clustered],
        n_clusters=len(ckb.rho),
        table=np.ascontiguousarray(table),
        prof_log_w=ckb.prof_log_w,
        age_bounds=[float(b) for b in ckb.age_bounds],
        thresholds=tuple((lv.rank, float(thr[lv.value])) for lv in _RAISED),  # type: ignore[index]  # RaisedLevelName values
        theta_t=np.ascontiguousarray(ckb.theta_all.T),
        one_minus_theta_t=np.ascontiguousarray(1.0 - ckb.theta_all.T),
    )


@dataclass(frozen=True, eq=False)
class OneCase:
    w: np.ndarray  # (F,) evidence weights (0 where unknown or redundant)
    post: np.ndarray  # (M,) posterior over the candidates
    triage: TriageArrays  # one row


def _weights(ckb: CompiledKB, pr: _Prepared, ev: np.ndarray) -> np.ndarray:
    """:func:`painpath.engine.posterior.evidence_weights` for one case."""
    obs = (ev != 0).astype(np.float64)
    if pr.imp_targets.size:
        red = np.zeros(pr.imp_targets.size)
        if pr.imp_src_p.size:
            red += (ev[pr.imp_src_p] > 0) @ pr.imp_mat_p
        if pr.imp_src_a.size:
            red += (ev[pr.imp_src_a] < 0) @ pr.imp_mat_a
        obs[pr.imp_targets[red > 0]] = 0.0
    if pr.clustered.size:
        m = np.bincount(pr.cluster_of, weights=obs[pr.clustered], minlength=pr.n_clusters)
        damp = 1.0 / (1.0 + ckb.rho * np.maximum(m - 1.0, 0.0))
        obs[pr.clustered] *= damp[pr.cluster_of]
    return obs


def assess_one(ckb: CompiledKB, ev: np.ndarray, age: int, female: bool, setting: str = "self") -> OneCase:
    """Evidence weights, posterior (M,) and triage of one case (``ev``: (F,) +1/-1/0); the same
    model as :func:`painpath.engine.posterior.posterior` and :func:`painpath.engine.triage.triage_arrays`."""
    pr = _prepared(ckb)
    ev = np.asarray(ev).ravel()
    w = _weights(ckb, pr, ev)
    present = ev > 0
    x = np.concatenate([w, w * present])
    ll = x @ pr.table
    o = ckb.other_index
    P = pr.prof_log_w.size
    if P:
        assert o is not None  # profiles belong to "other"
        lp = ll[o:] + pr.prof_log_w
        top = lp.max()
        ll = ll[:o + 1]
        ll[o] = top + np.log(np.exp(lp - top).sum())
    if ckb.temperature != 1.0:
        ll /= ckb.temperature
    band = min(bisect_left(pr.age_bounds, age), len(pr.age_bounds) - 1)
    ll += ckb.log_prior[setting] + ckb.log_age[band] + ckb.log_sex[0 if female else 1]
    ll -= ll.max()
    np.exp(ll, out=ll)
    ll /= ll.sum()
    return OneCase(w, ll, _triage(ckb, ev, present, ll, age))


def _triage(ckb: CompiledKB, ev: np.ndarray, present: np.ndarray, post: np.ndarray, age: int) -> TriageArrays:
    """:func:`painpath.engine.triage.triage_arrays` for one case, as arrays of one row."""
    mt = _mats(ckb)
    pr = _prepared(ckb)
    hits = (present[mt.cols] @ mt.trig) > 0
    nf, ne = mt.nf, mt.ne
    floors = hits[:nf] & (hits[nf:2 * nf] | ~mt.has_with)
    floor_rank = int(mt.floor_level[floors].max()) if floors.any() else -1
    esc = hits[2 * nf:2 * nf + ne].copy()
    for j, cols in mt.esc_unknown:
        esc[j] &= bool((ev[cols] == 0).all())
    eff = ckb.base_rank.copy()
    if esc.any():
        np.maximum(eff, mt.esc_raise[esc].max(axis=0), out=eff)
    other = hits[2 * nf + ne:] | (age >= mt.other_min_age)
    o = ckb.other_index
    if o is not None and other.any():
        eff[o] = max(int(eff[o]), int(mt.other_target[other].max()))
    cond = 0
    for rank, threshold in pr.thresholds:
        if np.where(eff >= rank, post, 0.0).sum() >= threshold:
            cond = rank
    if o is not None and post[o] > post[:o].max():
        cond = max(cond, int(eff[o]))
    final = max(floor_rank, cond)
    return TriageArrays(np.array([final]), np.array([floor_rank]), floors[None, :], np.array([cond]),
                        eff[None, :], esc[None, :], other[None, :])


def contributions_for(ckb: CompiledKB, ev: np.ndarray, w: np.ndarray, post: np.ndarray,
                      cols: list[int]) -> np.ndarray:
    """:func:`painpath.engine.explain.contributions` for the candidates ``cols`` only: (F, M), zero
    in the other columns (and in the rows of unanswered findings)."""
    pr = _prepared(ckb)
    out = np.zeros((ev.size, post.size))
    rows = np.flatnonzero(ev)
    if rows.size == 0 or not cols:
        return out
    present = (ev[rows] > 0)[:, None]
    th, nth = pr.theta_t[rows], pr.one_minus_theta_t[rows]
    total = np.where(present[:, 0], th @ post, nth @ post)  # P(answer | the mixture of all candidates)
    like = np.where(present, th[:, cols], nth[:, cols])
    log_like = np.where(present, ckb.log_p[rows][:, cols], ckb.log_q[rows][:, cols])
    pc = post[cols]
    others = (total[:, None] - like * pc) / np.maximum(1.0 - pc, 1e-12)
    out[np.ix_(rows, cols)] = w[rows, None] * (log_like - np.log(np.maximum(others, 1e-300)))
    return out
