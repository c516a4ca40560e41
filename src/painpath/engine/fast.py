"""The batch path: posterior and triage for many cases in one fused float32 pass.

Same model as :mod:`painpath.engine.posterior` and :mod:`painpath.engine.triage`
(the float64 reference, used for one case, interviews and explanations), arranged
for throughput:

* every matrix is precomputed once per compiled knowledge base and setting, in
  float32 (:func:`fast_arrays`, cached): one table stacking
  ``(log P(present) + log P(absent)) / 2T``, ``(log P(present) - log P(absent)) / 2T``
  and the prior of every (age band, sex), the cluster membership, and the warning
  floors and escalations as 0/1 trigger matrices;
* cases are processed in row blocks that stay in the CPU cache, and each block
  is one matrix product ``[w |e|, w e, one-hot(band, sex)] @ table`` (e = +1, -1, 0
  per finding, w its weight) plus a softmax;
* the triage of a block is three small matrix products (floors, escalations,
  the mass at each level) instead of a Python loop per floor.

float32 keeps 6-7 significant digits, which is ample for probabilities that are
shown to the nearest percent; the tests check that this path and the float64
reference agree to ``1e-5`` and give the same level.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from painpath.domain import Level
from painpath.engine.compiled import LEVEL_RANK, CompiledKB

__all__ = ["BLOCK", "FastArrays", "assess_fast", "fast_arrays"]

BLOCK = 2048  # rows per block: the block's arrays (about 2 MB) stay in a core's L2 cache
_RAISED = (Level.SOON, Level.URGENT, Level.EMERGENCY)
LEVELS = tuple(lv.rank for lv in _RAISED)  # the ranks of soon, urgent, emergency


@dataclass(frozen=True, eq=False)
class FastArrays:
    table: np.ndarray  # (2F + 2B, M) float32: (log p + log q) / 2T, (log p - log q) / 2T, prior per (band, sex)
    n_prior: int  # 2B
    age_bounds: np.ndarray  # (B,)
    perm: np.ndarray  # (F,) the order of the findings inside a block: the clusters' findings first
    n_clustered: int  # Fc, how many findings are in a cluster (the first Fc in ``perm`` order)
    member: np.ndarray  # (Fc, K) float32 cluster membership, in ``perm`` order
    member_t: np.ndarray  # (K, Fc)
    rho: np.ndarray  # (K,) float32
    implications: tuple[tuple[int, np.ndarray, np.ndarray], ...]  # (b's position in perm, a's present, a's absent)
    trig_cols: np.ndarray  # findings any floor or escalation looks at
    trig: np.ndarray  # (T, n_any + n_with + n_esc + n_other) float32
    n_floor: int
    floor_has_with: np.ndarray  # (n_floor,) bool
    floor_level: np.ndarray  # (n_floor,) int
    n_esc: int
    esc_extra: np.ndarray  # (n_esc, 3 * M) float32: column raised to >= level L by the escalation (L = 1, 2, 3)
    base_ge: np.ndarray  # (M, 3) float32: base level >= L
    thresholds: np.ndarray  # (3,) float32 risk thresholds for soon, urgent, emergency
    level_values: np.ndarray  # (3,) 1, 2, 3
    other: int | None
    other_targets: np.ndarray  # (n_other,) rank each escalation of "other" raises it to
    other_min_age: np.ndarray  # (n_other,) min age, or 1000 when none
    other_base: int
    n_prof: int = 0  # columns of the unlisted-cause profiles after the M candidates' columns
    esc_unknown: tuple[tuple[int, np.ndarray], ...] = ()  # escalations that fire only while these findings are unknown


@cache
def fast_arrays(ckb: CompiledKB, setting: str) -> FastArrays:
    """Precompute (once per compiled knowledge base and setting) everything the batch path needs, in float32."""
    M = len(ckb.candidates)
    T = ckb.temperature
    lp = ckb.log_prior[setting]
    prior = [lp + ckb.log_age[b] + ckb.log_sex[s] for b in range(len(ckb.age_bounds)) for s in (0, 1)]
    # the clusters' findings first, side by side: the cluster sums are then a small product over a
    # contiguous slice instead of one over every finding
    perm_list = [int(c) for cols in ckb.cluster_cols for c in cols]
    n_clustered = len(perm_list)
    perm_list.extend(f for f in range(len(ckb.findings)) if ckb.cluster_of[f] < 0)
    perm = np.array(perm_list, dtype=np.intp)
    member = ckb.cluster_member[perm[:n_clustered]].astype(np.float32)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size)
    lq, ld, prior_rows = ckb.log_q_t, ckb.log_d_t, np.asarray(prior)
    if ckb.prof_log_w.size:  # "other" as a mixture: one extra column per profile, reduced by logsumexp per block
        o = ckb.other_index
        assert o is not None  # profiles belong to the "other" class
        lq = np.hstack([lq, ckb.prof_log_q_t])
        ld = np.hstack([ld, ckb.prof_log_d_t])
        prior_rows = np.hstack([prior_rows, prior_rows[:, [o]] + ckb.prof_log_w[None, :]])
    table = np.vstack([((2 * lq + ld) / (2 * T))[perm], (ld / (2 * T))[perm], prior_rows])
    # a constant added to one row adds the same to every candidate's logit, which the softmax ignores:
    # centring each row keeps the logits small, so float32 loses little to rounding
    table -= table.mean(axis=1, keepdims=True)

    tri = ckb.kb.triage
    any_cols = [[ckb.fidx[k] for k in fl.any] for fl in tri.floors]
    with_cols = [[ckb.fidx[k] for k in fl.with_any] for fl in tri.floors]
    esc_cols = [[ckb.fidx[k] for k in esc.any] for esc in tri.escalations]
    other_cols = [list(cols) for _t, cols, _a in ckb.other_escalations]
    used = sorted({c for group in (*any_cols, *with_cols, *esc_cols, *other_cols) for c in group})
    pos = {c: i for i, c in enumerate(used)}
    groups = [*any_cols, *with_cols, *esc_cols, *other_cols]
    trig = np.zeros((len(used), len(groups)), dtype=np.float32)
    for j, cols in enumerate(groups):
        for c in cols:
            trig[pos[c], j] = 1.0

    C = len(ckb.conditions)
    esc_extra = np.zeros((len(tri.escalations), 3 * M), dtype=np.float32)
    for j, esc in enumerate(tri.escalations):
        if esc.conditions:
            cols = [ckb.cidx[c] for c in esc.conditions]
        else:
            cols = [i for i in range(C) if ckb.base_rank[i] == LEVEL_RANK[esc.from_level or Level.SELF_CARE]]
        target = LEVEL_RANK[esc.level]
        for li, level in enumerate(LEVELS):
            for c in cols:
                if ckb.base_rank[c] < level <= target:
                    esc_extra[j, li * M + c] = 1.0
    base_ge = np.stack([(ckb.base_rank >= level) for level in LEVELS], axis=1).astype(np.float32)
    o = ckb.other_index
    return FastArrays(
        table=np.ascontiguousarray(table, dtype=np.float32),
        n_prior=len(prior),
        age_bounds=ckb.age_bounds,
        perm=perm,
        n_clustered=n_clustered,
        member=member,
        member_t=np.ascontiguousarray(member.T),
        rho=ckb.rho.astype(np.float32),
        implications=tuple((int(inv[b]), ap, aa) for b, ap, aa in ckb.implications),
        trig_cols=np.array(used, dtype=np.intp),
        trig=trig,
        n_floor=len(tri.floors),
        floor_has_with=np.array([bool(c) for c in with_cols]),
        floor_level=np.array([LEVEL_RANK[fl.level] for fl in tri.floors]),
        n_esc=len(tri.escalations),
        esc_extra=esc_extra,
        base_ge=base_ge,
        thresholds=np.array([tri.risk_thresholds[k.value] for k in _RAISED],  # type: ignore[index]  # RaisedLevelName values
                            dtype=np.float32),
        level_values=np.array(LEVELS, dtype=np.int64),
        other=o,
        other_targets=np.array([t for t, _c, _a in ckb.other_escalations], dtype=np.int64),
        other_min_age=np.array([1000 if a is None else a for _t, _c, a in ckb.other_escalations], dtype=np.int64),
        other_base=int(ckb.base_rank[o]) if o is not None else 0,
        n_prof=int(ckb.prof_log_w.size),
        esc_unknown=tuple((j, np.array([ckb.fidx[k] for k in esc.while_unknown], dtype=np.intp))
                          for j, esc in enumerate(tri.escalations) if esc.while_unknown),
    )


def _block(fa: FastArrays, ev: np.ndarray, prior_idx: np.ndarray, age: np.ndarray, out: np.ndarray,
           ranks: np.ndarray, xbuf: np.ndarray, lbuf: np.ndarray) -> None:
    """One block of rows; ``xbuf`` and ``lbuf`` are work buffers reused from block to block (a fresh
    multi-megabyte array per block costs page faults)."""
    n, F = ev.shape
    # x = [w * |e|, w * e, one-hot prior] with e in {-1, 0, +1}; the table's first two blocks are
    # (log P(present) + log P(absent)) / 2 and (log P(present) - log P(absent)) / 2
    x = xbuf[:n]
    x[:, 2 * F:] = 0.0
    e = x[:, F:2 * F]  # the findings in ``fa.perm`` order
    np.copyto(e, np.take(ev, fa.perm, axis=1), casting="unsafe")
    # implied findings add no evidence (and do not count in their cluster) once the finding that
    # implies them is known: as if unanswered
    for b, a_present, a_absent in fa.implications:
        if a_present.size:
            e[(ev[:, a_present] > 0).any(axis=1), b] = 0.0
        if a_absent.size:
            e[(ev[:, a_absent] < 0).any(axis=1), b] = 0.0
    # correlated clusters: each of m answered findings counts 1 / (1 + rho (m - 1))
    nc = fa.n_clustered
    m = np.abs(e[:, :nc]) @ fa.member
    m -= 1.0
    np.maximum(m, 0.0, out=m)
    m *= fa.rho
    m += 1.0
    np.reciprocal(m, out=m)
    e[:, :nc] *= m @ fa.member_t
    np.abs(e, out=x[:, :F])  # the weights w = |w e|
    # the prior of the case's (age band, sex) as a one-hot column: the product adds it
    x[np.arange(n), 2 * F + prior_idx] = 1.0
    logits = np.matmul(x, fa.table, out=lbuf[:n])
    o = fa.other
    if fa.n_prof:  # the profiles' columns: "other" = logsumexp over them (exact at temperature 1)
        M = logits.shape[1] - fa.n_prof
        prof = logits[:, M:]
        pmax = prof.max(axis=1)
        logits[:, o] = pmax + np.log(np.exp(prof - pmax[:, None]).sum(axis=1))
        logits = logits[:, :M]
    if o is not None:  # "other" leads when its logit is strictly above every condition's
        top = logits[:, :o].max(axis=1)
        leads = logits[:, o] > top
        np.maximum(top, logits[:, o], out=top)
    else:
        top = logits.max(axis=1)
    logits -= top[:, None]
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    out[:] = logits

    # triage: warning floors and escalations from the findings present
    M = logits.shape[1]
    hits = (ev[:, fa.trig_cols] > 0).astype(np.float32) @ fa.trig > 0  # (n, groups)
    nf, ne = fa.n_floor, fa.n_esc
    fired = hits[:, :nf] & (hits[:, nf:2 * nf] | ~fa.floor_has_with)
    floor_rank = np.where(fired, fa.floor_level, -1).max(axis=1, initial=-1)
    # the probability held by candidates at each level or above (after escalations)
    mass = logits @ fa.base_ge  # (n, 3)
    esc = hits[:, 2 * nf:2 * nf + ne]
    for j, cols in fa.esc_unknown:
        esc[:, j] &= (ev[:, cols] == 0).all(axis=1)
    rows = np.flatnonzero(esc.any(axis=1))
    if rows.size:  # only the cases where an escalation fired
        extra = (esc[rows].astype(np.float32) @ fa.esc_extra > 0).astype(np.float32).reshape(rows.size, 3, M)
        mass[rows] += np.einsum("nlm,nm->nl", extra, logits[rows])
    if o is not None:
        ofired = hits[:, 2 * nf + ne:] | (age[:, None] >= fa.other_min_age)
        other_rank = np.where(ofired, fa.other_targets, fa.other_base).max(axis=1, initial=fa.other_base)
        # the share of "other" counts at its own level (base_ge holds only its base level)
        above_base = (other_rank[:, None] >= fa.level_values) & (fa.level_values > fa.other_base)
        mass += above_base * logits[:, o:o + 1]
        cond = ((mass >= fa.thresholds) * fa.level_values).max(axis=1)
        cond = np.where(leads, np.maximum(cond, other_rank), cond)
    else:
        cond = ((mass >= fa.thresholds) * fa.level_values).max(axis=1)
    ranks[:] = np.maximum(floor_rank, cond)


def assess_fast(ckb: CompiledKB, ev: np.ndarray, age: np.ndarray, female: np.ndarray,
                setting: str = "self") -> tuple[np.ndarray, np.ndarray]:
    """Posteriors (N, M) and triage level ranks (N,) for many cases; see the module doc."""
    fa = fast_arrays(ckb, setting)
    ev = np.atleast_2d(ev)
    n = ev.shape[0]
    age = np.broadcast_to(np.asarray(age), (n,))
    female = np.broadcast_to(np.asarray(female, dtype=bool), (n,))
    band = np.searchsorted(fa.age_bounds, age, side="left")
    np.minimum(band, len(fa.age_bounds) - 1, out=band)
    prior_idx = band * 2 + np.where(female, 0, 1)
    post = np.empty((n, len(ckb.candidates)), dtype=np.float64)  # computed in float32, returned as float64
    ranks = np.empty(n, dtype=np.int64)
    rows = min(n, BLOCK)
    xbuf = np.empty((rows, 2 * len(ckb.findings) + fa.n_prior), dtype=np.float32)
    lbuf = np.empty((rows, len(ckb.candidates) + fa.n_prof), dtype=np.float32)
    for s in range(0, n, BLOCK):
        e = slice(s, min(s + BLOCK, n))
        _block(fa, ev[e], prior_idx[e], age[e], post[e], ranks[e], xbuf, lbuf)
    return post, ranks
