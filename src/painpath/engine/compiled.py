"""Compile a KnowledgeBase into NumPy arrays the engine works on.

Shapes: C conditions, F findings, K dependence clusters, B age bands, and
M = C + 1 *candidates* when the knowledge base defines the unlisted-cause class
(``model.yaml: other``), whose column is the last one (``other_index``); M = C
otherwise. Arrays over candidates have M columns; ``theta`` keeps the C
conditions only and ``theta_all`` adds the "other" row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Final

import numpy as np

from painpath.domain import Level
from painpath.kb.knowledge_base import KnowledgeBase, default_kb

__all__ = ["OTHER", "CompiledKB", "compile_kb", "default_compiled"]

#: Level value -> rank and back, as plain strings (the order is :class:`painpath.domain.Level`'s).
LEVEL_RANK: dict[str, int] = {lv.value: lv.rank for lv in Level}
RANK_LEVEL: dict[int, str] = {lv.rank: lv.value for lv in Level}
OTHER: Final = "other"
ORIGIN_ORDER = ("back", "hip", "leg", "vascular", "systemic")  # known origins, in reporting order


@dataclass(frozen=True, eq=False)
class CompiledKB:
    kb: KnowledgeBase
    conditions: tuple[str, ...]
    findings: tuple[str, ...]
    cidx: dict[str, int]
    fidx: dict[str, int]
    theta: np.ndarray  # (C, F) P(present | condition), clipped
    log_p: np.ndarray  # (F, M) log P(present | candidate)
    log_q: np.ndarray  # (F, M) log P(absent | candidate)
    log_p_t: np.ndarray  # (F, M) copies used by log_likelihood
    log_q_t: np.ndarray
    log_d_t: np.ndarray  # log_p - log_q
    is_sign: np.ndarray  # (F,) bool
    log_prior: dict[str, np.ndarray]  # setting -> (M,)
    age_bounds: np.ndarray  # (B,) upper bound of each band
    log_age: np.ndarray  # (B, M)
    log_sex: np.ndarray  # (2, M) rows: female, male
    cluster_of: np.ndarray  # (F,) cluster index or -1
    cluster_member: np.ndarray  # (F, K) 0/1
    rho: np.ndarray  # (K,)
    red_if_present: np.ndarray  # (F, F) [a, b] = 1 when a present makes b redundant
    red_if_absent: np.ndarray  # (F, F) [a, b] = 1 when a absent makes b redundant
    implications: tuple[tuple[int, np.ndarray, np.ndarray], ...]  # (b, a's present, a's absent)
    cluster_cols: tuple[np.ndarray, ...]  # finding columns of each cluster
    origin: tuple[str, ...]
    origin_names: tuple[str, ...]
    origin_matrix: np.ndarray  # (M, O); the "other" row is zero (it has no origin)
    base_rank: np.ndarray  # (M,) triage rank of each candidate before escalations
    temperature: float
    theta_all: np.ndarray  # (M, F) theta with the "other" row
    candidates: tuple[str, ...]  # conditions, then "other" when defined
    other_index: int | None  # column of "other", None when the KB has no unlisted-cause class
    other_escalations: tuple[tuple[int, np.ndarray, int, int, bool], ...]  # rank, finding cols, min/max age (0/1000: none), aged
    # "other" as a mixture of P profiles (model.yaml: other.profiles); P = 0 when it has none. Its
    # log-likelihood is logsumexp over the profiles of (log weight + log-likelihood under the profile);
    # the "other" row of theta_all is then the mixture's marginal P(finding | other), used where one
    # finding is looked at alone (explanations, the interview's expected answers).
    other_profiles: tuple[str, ...] = ()
    prof_log_q_t: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (F, P)
    prof_log_d_t: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (F, P)
    prof_log_w: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (P,) log weights, summing to 1

    @property
    def has_other(self) -> bool:
        return self.other_index is not None


def compile_kb(kb: KnowledgeBase) -> CompiledKB:
    conds = tuple(kb.condition_keys)
    finds = tuple(kb.finding_keys)
    cidx = {k: i for i, k in enumerate(conds)}
    fidx = {k: i for i, k in enumerate(finds)}
    C, F = len(conds), len(finds)
    lo, hi = kb.model.clip
    theta = np.empty((C, F))
    for ci, c in enumerate(conds):
        for fi, f in enumerate(finds):
            theta[ci, fi] = kb.strength(c, f)[0]
    theta = np.clip(theta, lo, hi)
    is_sign = np.array([kb.findings.findings[f].kind == "sign" for f in finds])
    other = kb.model.other
    M = C + (1 if other is not None else 0)
    theta_all = np.vstack([theta, _other_theta(kb, finds, theta)[None, :]]) if other is not None else theta
    theta_all = np.clip(theta_all, lo, hi)
    prof_names: tuple[str, ...] = ()
    prof_theta = np.zeros((0, F))
    prof_w = np.zeros(0)
    if other is not None and other.profiles:
        prof_names, prof_theta, prof_w = _other_profiles(kb, finds, theta_all[C])
        prof_theta = np.clip(prof_theta, lo, hi)
        theta_all[C] = prof_w @ prof_theta  # the mixture's marginal rate of each finding

    log_prior = {}
    for setting in kb.priors.settings:
        attr = "self_" if setting == "self" else setting
        raw = np.array([getattr(kb.priors.priors[c], attr) for c in conds])
        share = np.asarray(raw / raw.sum())
        if other is not None:
            o = float(getattr(other.prior, attr, other.prior.clinic))
            share = np.append(share * (1.0 - o), o)
        log_prior[setting] = np.log(share)

    bands = kb.priors.age_bands
    log_age = np.zeros((len(bands), M))
    for c, mod in kb.priors.age_modifiers.items():
        log_age[:, cidx[c]] = np.log(mod.factors)
    if other is not None and other.age_factors is not None:
        log_age[:, C] = np.log(other.age_factors)
    log_sex = np.zeros((2, M))
    for c, smod in kb.priors.sex_modifiers.items():
        log_sex[0, cidx[c]] = np.log(smod.female)
        log_sex[1, cidx[c]] = np.log(smod.male)

    clusters = list(kb.dependence.clusters.items())
    K = max(len(clusters), 1)
    cluster_of = np.full(F, -1)
    member = np.zeros((F, K))
    rho = np.zeros(K)
    for k, (_name, cl) in enumerate(clusters):
        rho[k] = cl.rho
        for f in cl.findings:
            cluster_of[fidx[f]] = k
            member[fidx[f], k] = 1.0
    rp = np.zeros((F, F))
    ra = np.zeros((F, F))
    for imp in kb.dependence.implications:
        b = fidx[imp.finding]
        for a in imp.if_present:
            rp[fidx[a], b] = 1.0
        for a in imp.if_absent:
            ra[fidx[a], b] = 1.0

    implications = tuple(
        (
            fidx[imp.finding],
            np.array([fidx[a] for a in imp.if_present], dtype=np.intp),
            np.array([fidx[a] for a in imp.if_absent], dtype=np.intp),
        )
        for imp in kb.dependence.implications
    )
    cluster_cols = tuple(np.array([fidx[f] for f in cl.findings], dtype=np.intp) for _n, cl in clusters)
    origin = tuple(kb.conditions.conditions[c].origin for c in conds)
    used = set(origin) | {"back", "leg", "vascular", "systemic"}
    origin_names = tuple(o for o in ORIGIN_ORDER if o in used) + tuple(sorted(used - set(ORIGIN_ORDER)))
    om = np.zeros((M, len(origin_names)))
    for ci, org in enumerate(origin):
        om[ci, origin_names.index(org)] = 1.0
    base_rank = np.array([LEVEL_RANK[kb.triage.condition_levels[c]] for c in conds])
    other_escalations: tuple[tuple[int, np.ndarray, int, int, bool], ...] = ()
    if other is not None:
        base_rank = np.append(base_rank, LEVEL_RANK[other.level])
        other_escalations = tuple(
            (LEVEL_RANK[e.level], np.array([fidx[k] for k in e.any], dtype=np.intp), e.min_age or 0,
             1000 if e.max_age is None else e.max_age, e.min_age is not None or e.max_age is not None)
            for e in other.escalations
        )
    log_t = np.log(theta_all).T.copy()
    log_f = np.log1p(-theta_all).T.copy()
    return CompiledKB(
        kb=kb,
        conditions=conds,
        findings=finds,
        cidx=cidx,
        fidx=fidx,
        theta=theta,
        log_p=log_t,
        log_q=log_f,
        log_p_t=log_t.copy(),
        log_q_t=log_f.copy(),
        log_d_t=(log_t - log_f).copy(),
        is_sign=is_sign,
        log_prior=log_prior,
        age_bounds=np.array([hi for _lo, hi in bands]),
        log_age=log_age,
        log_sex=log_sex,
        cluster_of=cluster_of,
        cluster_member=member,
        rho=rho,
        red_if_present=rp,
        red_if_absent=ra,
        implications=implications,
        cluster_cols=cluster_cols,
        origin=origin,
        origin_names=origin_names,
        origin_matrix=om,
        base_rank=base_rank,
        temperature=kb.model.temperature,
        theta_all=theta_all,
        candidates=conds + ((OTHER,) if other is not None else ()),
        other_index=C if other is not None else None,
        other_escalations=other_escalations,
        other_profiles=prof_names,
        prof_log_q_t=np.log1p(-prof_theta).T.copy(),
        prof_log_d_t=(np.log(prof_theta) - np.log1p(-prof_theta)).T.copy(),
        prof_log_w=np.log(prof_w),
    )


def _other_theta(kb: KnowledgeBase, finds: tuple[str, ...], theta: np.ndarray) -> np.ndarray:
    """P(finding | unlisted cause), unless ``model.yaml: other.strengths`` gives it:

        (1 - mix) * background + mix * (mean over the conditions of P(finding | condition)),

    flattened on the logit scale, ``logit(p) = flatten * logit(p)``. The background is the
    finding's ``defaults`` entry in strengths.yaml; the mean counts every condition once (an
    unlisted cause is as likely to resemble any of them)."""
    other = kb.model.other
    assert other is not None
    mean = theta.mean(axis=0)
    out = np.empty(len(finds))
    for fi, f in enumerate(finds):
        entry = other.strengths.get(f)
        if entry is not None:
            out[fi] = entry.p if entry.p is not None else kb.strengths.grades[entry.grade]  # type: ignore[index]  # the schema requires grade when p is not given
            continue
        e = kb.strengths.defaults[f]
        d = e.p if e.p is not None else kb.strengths.grades[e.grade]  # type: ignore[index]  # the schema requires grade when p is not given
        d = (1.0 - other.mix) * d + other.mix * mean[fi]
        lo = np.log(d) - np.log1p(-d)
        out[fi] = 1.0 / (1.0 + np.exp(-other.flatten * lo))
    return out


def _other_profiles(kb: KnowledgeBase, finds: tuple[str, ...],
                    broad: np.ndarray) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Names, P(finding | profile) (P, F) and normalised weights (P,) of the unlisted-cause profiles.

    A profile's unlisted findings take the background rate (``defaults``); the profile ``generic``
    takes the broad likelihood of the class (``broad``) instead, so it stands for a cause with no
    pattern of its own."""
    other = kb.model.other
    assert other is not None
    grades = kb.strengths.grades
    background = np.array([
        (e.p if e.p is not None else grades[e.grade])  # type: ignore[index]  # a grade is checked to be known
        for e in (kb.strengths.defaults[f] for f in finds)
    ])
    names = tuple(other.profiles)
    out = np.empty((len(names), len(finds)))
    for i, name in enumerate(names):
        prof = other.profiles[name]
        out[i] = broad if name == "generic" else background
        for key, st in prof.strengths.items():
            out[i, finds.index(key)] = st.p if st.p is not None else grades[st.grade]  # type: ignore[index]  # the schema requires grade when p is not given
    w = np.array([other.profiles[n].weight for n in names])
    return names, out, w / w.sum()


@cache
def default_compiled() -> CompiledKB:
    return compile_kb(default_kb())
