"""The batch path: posterior and triage for many cases in one fused float32 pass.

Same model as :mod:`painpath.engine.posterior` and :mod:`painpath.engine.triage`
(the float64 reference, used for one case, interviews and explanations), arranged
for throughput:

* every matrix is precomputed once per compiled knowledge base and setting, in
  float32 (:func:`fast_arrays`, cached): one table stacking
  ``(log P(present) + log P(absent)) / 2T``, ``(log P(present) - log P(absent)) / 2T``
  and the prior of every (age band, sex), the cluster layout, and the warning
  floors and escalations as 0/1 trigger matrices;
* cases are processed in blocks of rows that stay in the CPU cache, laid out
  *transposed* (one row per finding or candidate, one column per case): every
  reduction over the findings or candidates (cluster counts, logsumexp, softmax,
  triage masses) is then an element-wise operation between contiguous rows, which
  NumPy vectorises, instead of a reduction over a short axis, which it does not;
* each block is one matrix product ``table @ [w |e|; w e; one-hot(band, sex)]``
  (e = +1, -1, 0 per finding, w its weight) plus a softmax;
* the triage of a block is a few small matrix products (floors, escalations,
  the mass at each level) instead of a Python loop per floor.

float32 keeps 6-7 significant digits, which is ample for probabilities that are
shown to the nearest percent; the tests check that this path and the float64
reference agree to ``2e-5`` and give the same level.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from painpath.domain import Level
from painpath.engine.compiled import LEVEL_RANK, CompiledKB

__all__ = ["BLOCK", "FastArrays", "assess_fast", "fast_arrays"]

BLOCK = 2064  # cases per block: its arrays (about 3 MB) stay in the CPU's cache; not a power of two, whose row
# strides map to the same cache sets (2048 measured 6% slower)
_TSTEP = 128  # cases per slice when transposing a block
_RAISED = (Level.SOON, Level.URGENT, Level.EMERGENCY)
LEVELS = tuple(lv.rank for lv in _RAISED)  # the ranks of soon, urgent, emergency


@dataclass(frozen=True, eq=False)
class FastArrays:
    """Everything the batch path needs, precomputed in float32 (rows of a block are findings, columns cases)."""

    table: np.ndarray  # (M + P - 1 or M, 2F + 2B): the logits' rows, see fast_arrays
    n_cand: int  # M, the candidates (conditions, then "other")
    n_prior: int  # 2B
    age_bounds: np.ndarray  # (B,)
    perm: np.ndarray  # (F,) the order of the findings inside a block: the clusters' findings first, cluster by cluster
    n_clustered: int  # Fc, how many findings are in a cluster (the first Fc in ``perm`` order)
    cluster_sizes: tuple[tuple[int, int, int, int], ...]  # (first row, size, first cluster, clusters) per size
    cluster_row: np.ndarray  # (Fc,) the cluster of each of the first Fc rows
    rho: np.ndarray  # (K, 1) float32
    imp_rows: np.ndarray  # (I,) rows (``perm`` order) of the findings made redundant by an implication
    imp_present: np.ndarray  # (Ap,) findings whose presence makes another redundant
    imp_present_mat: np.ndarray  # (I, Ap) float32: [i, a] = 1 when a present makes imp_rows[i] redundant
    imp_absent: np.ndarray  # (Aa,)
    imp_absent_mat: np.ndarray  # (I, Aa)
    # the trigger groups (floors' any, floors' with_any, escalations, "other"'s escalations), each "one
    # of these findings present": groups of one finding are that finding's row, larger ones a product
    trig_cols: np.ndarray  # (T,) findings any group looks at
    n_groups: int
    trig_single: np.ndarray  # (G1,) groups of one finding
    trig_single_src: np.ndarray  # (G1,) that finding's position in trig_cols
    trig_multi: np.ndarray  # (G2,) groups of several findings
    trig_multi_src: np.ndarray  # (T2,) positions in trig_cols of the findings they look at
    trig_mat: np.ndarray  # (G2, T2) float32
    n_floor: int
    floor_no_with: np.ndarray  # (n_floor, 1) bool: the floor has no ``with_any``
    floor_level1: np.ndarray  # (n_floor, 1) int8: the floor's rank + 1
    n_esc: int
    esc_groups: np.ndarray  # (G, n_esc) float32: escalations raising the same (candidate, level) cells
    esc_cand: np.ndarray  # (E,) the candidates some escalation raises
    esc_extra: np.ndarray  # (3G, E) float32: rows 3g..3g+2: the cells group g raises to >= soon, urgent, emergency
    base_ge: np.ndarray  # (3, M) float32: base level >= soon, urgent, emergency
    thresholds: np.ndarray  # (3, 1) float32 risk thresholds for soon, urgent, emergency
    level_values: np.ndarray  # (3, 1) int8: 1, 2, 3
    other: int | None
    other_targets: np.ndarray  # (n_other, 1) rank each escalation of "other" raises it to
    other_min_age: np.ndarray  # (n_other, 1) min age, or 0 when none
    other_max_age: np.ndarray  # (n_other, 1) max age, or 1000 when none
    other_no_any: np.ndarray  # (n_other, 1) bool: lists no findings (its age bounds alone decide)
    other_base: int
    n_prof: int = 0  # rows of the unlisted-cause profiles, from row ``other`` on
    esc_unknown: tuple[tuple[int, np.ndarray], ...] = ()  # escalations that fire only while these findings are unknown


def _escalation_groups(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group the escalations by the (level, candidate) cells they raise, so that a cell raised by
    several fired escalations counts once: ``cells`` (n_esc, 3, M) 0/1 -> (G, n_esc) membership of
    each group (the set of escalations that raise a cell) and (3G, M) the cells of each group."""
    ne = cells.shape[0]
    sets: dict[tuple[int, ...], np.ndarray] = {}
    for li in range(cells.shape[1]):
        for c in range(cells.shape[2]):
            who = tuple(int(j) for j in np.flatnonzero(cells[:, li, c]))
            if who:
                sets.setdefault(who, np.zeros(cells.shape[1:], dtype=np.float32))[li, c] = 1.0
    groups = np.zeros((len(sets), ne), dtype=np.float32)
    extra = np.zeros((3 * len(sets), cells.shape[2]), dtype=np.float32)
    for g, (who, mask) in enumerate(sets.items()):
        groups[g, list(who)] = 1.0
        extra[3 * g:3 * g + 3] = mask
    return groups, extra


@cache
def fast_arrays(ckb: CompiledKB, setting: str) -> FastArrays:
    """Precompute (once per compiled knowledge base and setting) everything the batch path needs, in float32."""
    M = len(ckb.candidates)
    T = ckb.temperature
    lp = ckb.log_prior[setting]
    prior = [lp + ckb.log_age[b] + ckb.log_sex[s] for b in range(len(ckb.age_bounds)) for s in (0, 1)]
    # the clusters' findings first, cluster by cluster, the clusters of one size side by side: the
    # counts of all the clusters of a size are then one sum over a (clusters, size, cases) view
    clusters = sorted((k for k, cols in enumerate(ckb.cluster_cols) if len(cols)), key=lambda k: len(ckb.cluster_cols[k]))
    perm_list = [int(c) for k in clusters for c in ckb.cluster_cols[k]]
    n_clustered = len(perm_list)
    perm_list.extend(f for f in range(len(ckb.findings)) if ckb.cluster_of[f] < 0)
    perm = np.array(perm_list, dtype=np.intp)
    sizes = [len(ckb.cluster_cols[k]) for k in clusters]
    size_classes = []  # (first row, size, first cluster, clusters)
    row = 0
    for size in sorted(set(sizes)):
        first, count = sizes.index(size), sizes.count(size)
        size_classes.append((row, size, first, count))
        row += size * count
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size)
    lq, ld, prior_rows = ckb.log_q_t, ckb.log_d_t, np.asarray(prior)
    o = ckb.other_index
    n_prof = int(ckb.prof_log_w.size)
    if n_prof:  # "other" as a mixture: the profiles' rows replace its own, reduced by logsumexp per block
        assert o is not None and o == M - 1  # profiles belong to the "other" class, the last candidate
        lq = np.hstack([lq[:, :o], ckb.prof_log_q_t])
        ld = np.hstack([ld[:, :o], ckb.prof_log_d_t])
        prior_rows = np.hstack([prior_rows[:, :o], prior_rows[:, [o]] + ckb.prof_log_w[None, :]])
    table = np.vstack([((2 * lq + ld) / (2 * T))[perm], (ld / (2 * T))[perm], prior_rows])
    # a constant added to one row adds the same to every candidate's logit, which the softmax ignores:
    # centring each row keeps the logits small, so float32 loses little to rounding
    table -= table.mean(axis=1, keepdims=True)

    # implications: which findings (rows in perm order) a present / absent finding makes redundant
    targets = sorted({int(inv[b]) for b, _ap, _aa in ckb.implications})
    tpos = {r: i for i, r in enumerate(targets)}
    src_p = sorted({int(a) for _b, ap, _aa in ckb.implications for a in ap})
    src_a = sorted({int(a) for _b, _ap, aa in ckb.implications for a in aa})
    imp_p = np.zeros((len(targets), len(src_p)), dtype=np.float32)
    imp_a = np.zeros((len(targets), len(src_a)), dtype=np.float32)
    for b, ap, aa in ckb.implications:
        for a in ap:
            imp_p[tpos[int(inv[b])], src_p.index(int(a))] = 1.0
        for a in aa:
            imp_a[tpos[int(inv[b])], src_a.index(int(a))] = 1.0

    tri = ckb.kb.triage
    any_cols = [[ckb.fidx[k] for k in fl.any] for fl in tri.floors]
    with_cols = [[ckb.fidx[k] for k in fl.with_any] for fl in tri.floors]
    esc_cols = [[ckb.fidx[k] for k in esc.any] for esc in tri.escalations]
    other_cols = [list(cols) for _t, cols, *_ in ckb.other_escalations]
    used = sorted({c for group in (*any_cols, *with_cols, *esc_cols, *other_cols) for c in group})
    pos = {c: i for i, c in enumerate(used)}
    groups = [*any_cols, *with_cols, *esc_cols, *other_cols]
    single = [j for j, cols in enumerate(groups) if len(set(cols)) == 1]
    multi = [j for j, cols in enumerate(groups) if len(set(cols)) > 1]
    multi_src = sorted({pos[c] for j in multi for c in groups[j]})
    trig_mat = np.zeros((len(multi), len(multi_src)), dtype=np.float32)
    for i, j in enumerate(multi):
        for c in groups[j]:
            trig_mat[i, multi_src.index(pos[c])] = 1.0

    C = len(ckb.conditions)
    cells = np.zeros((len(tri.escalations), 3, M), dtype=np.float32)
    for j, esc in enumerate(tri.escalations):
        if esc.conditions:
            cols = [ckb.cidx[c] for c in esc.conditions]
        else:
            cols = [i for i in range(C) if ckb.base_rank[i] == LEVEL_RANK[esc.from_level or Level.SELF_CARE]]
        target = LEVEL_RANK[esc.level]
        for li, level in enumerate(LEVELS):
            for c in cols:
                if ckb.base_rank[c] < level <= target:
                    cells[j, li, c] = 1.0
    esc_groups, esc_extra = _escalation_groups(cells)
    esc_cand = np.flatnonzero(esc_extra.any(axis=0))
    base_ge = np.stack([(ckb.base_rank >= level) for level in LEVELS]).astype(np.float32)
    thresholds = tuple(float(tri.risk_thresholds[k.value]) for k in _RAISED)  # type: ignore[index]  # RaisedLevelName values
    return FastArrays(
        # rows padded with zeros to a multiple of 8, which OpenBLAS's float32 kernels handle faster
        table=np.ascontiguousarray(np.vstack([table.T, np.zeros((-table.shape[1] % 8, table.shape[0]))]), dtype=np.float32),
        n_cand=M,
        n_prior=len(prior),
        age_bounds=ckb.age_bounds,
        perm=perm,
        n_clustered=n_clustered,
        cluster_sizes=tuple(size_classes),
        cluster_row=np.repeat(np.arange(len(clusters)), sizes).astype(np.intp),
        rho=ckb.rho[clusters].astype(np.float32)[:, None],
        imp_rows=np.array(targets, dtype=np.intp),
        imp_present=np.array(src_p, dtype=np.intp),
        imp_present_mat=imp_p,
        imp_absent=np.array(src_a, dtype=np.intp),
        imp_absent_mat=imp_a,
        trig_cols=np.array(used, dtype=np.intp),
        n_groups=len(groups),
        trig_single=np.array(single, dtype=np.intp),
        trig_single_src=np.array([pos[groups[j][0]] for j in single], dtype=np.intp),
        trig_multi=np.array(multi, dtype=np.intp),
        trig_multi_src=np.array(multi_src, dtype=np.intp),
        trig_mat=trig_mat,
        n_floor=len(tri.floors),
        floor_no_with=np.array([not c for c in with_cols], dtype=bool).reshape(-1, 1),
        floor_level1=np.array([LEVEL_RANK[fl.level] + 1 for fl in tri.floors], dtype=np.int8).reshape(-1, 1),
        n_esc=len(tri.escalations),
        esc_groups=esc_groups,
        esc_cand=esc_cand,
        esc_extra=np.ascontiguousarray(esc_extra[:, esc_cand]),
        base_ge=base_ge,
        thresholds=np.array(thresholds, dtype=np.float32).reshape(-1, 1),
        level_values=np.array(LEVELS, dtype=np.int8).reshape(-1, 1),
        other=o,
        other_targets=np.array([t for t, *_ in ckb.other_escalations], dtype=np.int8).reshape(-1, 1),
        other_no_any=np.array([len(c) == 0 for _t, c, *_ in ckb.other_escalations], dtype=bool).reshape(-1, 1),
        other_max_age=np.array([e[3] for e in ckb.other_escalations], dtype=np.int64).reshape(-1, 1),
        other_min_age=np.array([e[2] for e in ckb.other_escalations],
                               dtype=np.int64).reshape(-1, 1),
        other_base=int(ckb.base_rank[o]) if o is not None else 0,
        n_prof=n_prof,
        esc_unknown=tuple((j, np.array([ckb.fidx[k] for k in esc.while_unknown], dtype=np.intp))
                          for j, esc in enumerate(tri.escalations) if esc.while_unknown),
    )


def _block(fa: FastArrays, ev: np.ndarray, prior_idx: np.ndarray, age: np.ndarray, out: np.ndarray,
           ranks: np.ndarray, xbuf: np.ndarray, lbuf: np.ndarray) -> None:
    """One block of n <= BLOCK cases; ``xbuf`` and ``lbuf`` are flat work buffers for up to BLOCK
    cases, reused from block to block (a fresh multi-megabyte array per block costs page faults).
    Inside, rows are findings or candidates and columns are cases."""
    n, F = ev.shape
    evt = np.empty((F, n), dtype=np.int8)  # the block transposed, in ckb.findings order
    for j in range(0, n, _TSTEP):  # in slices that stay in the L1 cache: 2x faster than in one go
        evt[:, j:j + _TSTEP] = ev[j:j + _TSTEP].T
    # x = [w |e|; w e; one-hot prior] with e in {-1, 0, +1}; the table's first two blocks are
    # (log P(present) + log P(absent)) / 2 and (log P(present) - log P(absent)) / 2
    x = xbuf[:fa.table.shape[1] * n].reshape(-1, n)  # contiguous whatever n
    e = x[F:2 * F]  # the findings in ``fa.perm`` order
    np.copyto(e, evt[fa.perm], casting="unsafe")
    # implied findings add no evidence (and do not count in their cluster) once the finding that
    # implies them is known: as if unanswered
    if fa.imp_rows.size:
        red = np.zeros((fa.imp_rows.size, n), dtype=np.float32)
        if fa.imp_present.size:
            red += fa.imp_present_mat @ (evt[fa.imp_present] > 0).astype(np.float32)
        if fa.imp_absent.size:
            red += fa.imp_absent_mat @ (evt[fa.imp_absent] < 0).astype(np.float32)
        e[fa.imp_rows] *= red == 0.0
    # correlated clusters: each of m answered findings counts 1 / (1 + rho (m - 1))
    nc = fa.n_clustered
    a = x[:F]
    np.abs(e, out=a)
    if nc:
        m = np.empty((fa.rho.shape[0], n), dtype=np.float32)  # (K, n) answered findings per cluster
        for lo, size, k, count in fa.cluster_sizes:
            np.add.reduce(a[lo:lo + size * count].reshape(count, size, n), axis=1, out=m[k:k + count])
        m -= 1.0
        np.maximum(m, 0.0, out=m)
        m *= fa.rho
        m += 1.0
        np.reciprocal(m, out=m)
        for lo, size, k, count in fa.cluster_sizes:
            d = m[k:k + count, None, :]
            e[lo:lo + size * count].reshape(count, size, n)[:] *= d
            a[lo:lo + size * count].reshape(count, size, n)[:] *= d  # the weights w = |w e|
    # the prior of the case's (age band, sex) as a one-hot row: the product adds it
    p = x[2 * F:]
    p.fill(0.0)
    p[prior_idx, np.arange(n)] = 1.0
    logits = np.matmul(fa.table, x, out=lbuf[:fa.table.shape[0] * n].reshape(-1, n))
    o = fa.other
    M = fa.n_cand
    if fa.n_prof:  # the profiles' rows (from row o on): "other" = logsumexp over them (exact at temperature 1)
        assert o is not None  # profiles belong to the "other" class
        prof = logits[o:o + fa.n_prof]
        pmax = prof.max(axis=0)
        prof -= pmax
        np.exp(prof, out=prof)
        s = prof.sum(axis=0)
        np.log(s, out=s)
        s += pmax
        logits[o] = s
    logits = logits[:M]
    if o is not None:  # "other" leads when its logit is strictly above every condition's
        top = logits[:o].max(axis=0)
        leads = logits[o] > top
        np.maximum(top, logits[o], out=top)
    else:
        top = logits.max(axis=0)
    logits -= top
    np.exp(logits, out=logits)
    s = logits.sum(axis=0)
    np.reciprocal(s, out=s)
    logits *= s
    out[:] = logits.T

    # triage: warning floors and escalations from the findings present
    present = evt[fa.trig_cols] > 0
    hits = np.zeros((fa.n_groups, n), dtype=bool)  # (groups, n): a finding of the group present
    hits[fa.trig_single] = present[fa.trig_single_src]
    if fa.trig_multi.size:
        hits[fa.trig_multi] = (fa.trig_mat @ present[fa.trig_multi_src].astype(np.float32)) > 0.0
    nf, ne = fa.n_floor, fa.n_esc
    fired = hits[:nf] & (hits[nf:2 * nf] | fa.floor_no_with)
    floor_rank = (fired * fa.floor_level1).max(axis=0, initial=0).astype(np.int64)
    floor_rank -= 1
    # the probability held by candidates at each level or above (after escalations)
    mass = fa.base_ge @ logits  # (3, n)
    if ne:
        esc = hits[2 * nf:2 * nf + ne]
        for j, cols in fa.esc_unknown:
            esc[j] &= (evt[cols] == 0).all(axis=0)
        if esc.any():
            raised = (fa.esc_groups @ esc.astype(np.float32)) > 0.0  # (G, n) the groups that fired
            extra = (fa.esc_extra @ logits[fa.esc_cand]).reshape(-1, 3, n)  # (G, 3, n) the mass each group raises
            extra *= raised[:, None, :]
            mass += extra.sum(axis=0)
    if o is not None:
        ofired = (hits[2 * nf + ne:] | fa.other_no_any) & (age >= fa.other_min_age) & (age <= fa.other_max_age)
        other_rank = (ofired * fa.other_targets).max(axis=0, initial=fa.other_base).astype(np.int64)
        # the share of "other" counts at its own level (base_ge holds only its base level)
        for li, level in enumerate(LEVELS):
            if level > fa.other_base:
                mass[li] += (other_rank >= level) * logits[o]
    cond = ((mass >= fa.thresholds) * fa.level_values).max(axis=0).astype(np.int64)
    if o is not None:
        cond = np.where(leads, np.maximum(cond, other_rank), cond)
    np.maximum(floor_rank, cond, out=ranks)


def assess_fast(ckb: CompiledKB, ev: np.ndarray, age: np.ndarray, female: np.ndarray,
                setting: str = "self") -> tuple[np.ndarray, np.ndarray]:
    """Posteriors (N, M) and triage level ranks (N,) for many cases; see the module doc."""
    fa = fast_arrays(ckb, setting)
    ev = np.atleast_2d(ev)
    if ev.dtype != np.int8:
        ev = ev.astype(np.int8)  # +1, -1, 0
    n = ev.shape[0]
    age = np.broadcast_to(np.asarray(age), (n,))
    female = np.broadcast_to(np.asarray(female, dtype=bool), (n,))
    band = np.searchsorted(fa.age_bounds, age, side="left")
    np.minimum(band, len(fa.age_bounds) - 1, out=band)
    prior_idx = band * 2 + np.where(female, 0, 1)
    post = np.empty((n, fa.n_cand), dtype=np.float64)  # computed in float32, returned as float64
    ranks = np.empty(n, dtype=np.int64)
    cols = min(n, BLOCK)
    xbuf = np.empty(fa.table.shape[1] * cols, dtype=np.float32)
    lbuf = np.empty(fa.table.shape[0] * cols, dtype=np.float32)
    for s in range(0, n, BLOCK):
        e = slice(s, min(s + BLOCK, n))
        _block(fa, ev[e], prior_idx[e], age[e], post[e], ranks[e], xbuf, lbuf)
    return post, ranks
