"""Compile a KnowledgeBase into NumPy arrays the engine works on.

Shapes: C conditions, F findings, K dependence clusters, B age bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from painpath.kb.knowledge_base import KnowledgeBase, default_kb

__all__ = ["CompiledKB", "compile_kb", "default_compiled"]

LEVEL_RANK = {"self_care": 0, "soon": 1, "urgent": 2, "emergency": 3}
RANK_LEVEL = {v: k for k, v in LEVEL_RANK.items()}


@dataclass(frozen=True, eq=False)
class CompiledKB:
    kb: KnowledgeBase
    conditions: tuple[str, ...]
    findings: tuple[str, ...]
    cidx: dict[str, int]
    fidx: dict[str, int]
    theta: np.ndarray  # (C, F) P(present | condition), clipped
    log_p: np.ndarray  # (F, C) log P(present | c)
    log_q: np.ndarray  # (F, C) log P(absent | c)
    log_p_t: np.ndarray  # (F, C) copies used by log_likelihood
    log_q_t: np.ndarray
    log_d_t: np.ndarray  # log_p - log_q
    is_sign: np.ndarray  # (F,) bool
    log_prior: dict[str, np.ndarray]  # setting -> (C,)
    age_bounds: np.ndarray  # (B,) upper bound of each band
    log_age: np.ndarray  # (B, C)
    log_sex: np.ndarray  # (2, C) rows: female, male
    cluster_of: np.ndarray  # (F,) cluster index or -1
    cluster_member: np.ndarray  # (F, K) 0/1
    rho: np.ndarray  # (K,)
    red_if_present: np.ndarray  # (F, F) [a, b] = 1 when a present makes b redundant
    red_if_absent: np.ndarray  # (F, F) [a, b] = 1 when a absent makes b redundant
    implications: tuple[tuple[int, np.ndarray, np.ndarray], ...]  # (b, a's present, a's absent)
    cluster_cols: tuple[np.ndarray, ...]  # finding columns of each cluster
    origin: tuple[str, ...]
    origin_names: tuple[str, ...]
    origin_matrix: np.ndarray  # (C, O)
    base_rank: np.ndarray  # (C,) triage rank of each condition
    temperature: float


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

    log_prior = {}
    for setting in kb.priors.settings:
        raw = np.array([getattr(kb.priors.priors[c], "self_" if setting == "self" else setting) for c in conds])
        log_prior[setting] = np.log(raw / raw.sum())

    bands = kb.priors.age_bands
    log_age = np.zeros((len(bands), C))
    for c, mod in kb.priors.age_modifiers.items():
        log_age[:, cidx[c]] = np.log(mod.factors)
    log_sex = np.zeros((2, C))
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
    origin_names = ("back", "hip", "leg", "vascular", "systemic")
    origin = tuple(kb.conditions.conditions[c].origin for c in conds)
    om = np.zeros((C, len(origin_names)))
    for ci, o in enumerate(origin):
        om[ci, origin_names.index(o)] = 1.0
    base_rank = np.array([LEVEL_RANK[kb.triage.condition_levels[c]] for c in conds])
    return CompiledKB(
        kb=kb,
        conditions=conds,
        findings=finds,
        cidx=cidx,
        fidx=fidx,
        theta=theta,
        log_p=np.log(theta).T.copy(),
        log_q=np.log1p(-theta).T.copy(),
        log_p_t=np.log(theta).T.copy(),
        log_q_t=np.log1p(-theta).T.copy(),
        log_d_t=(np.log(theta) - np.log1p(-theta)).T.copy(),
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
    )


@cache
def default_compiled() -> CompiledKB:
    return compile_kb(default_kb())
