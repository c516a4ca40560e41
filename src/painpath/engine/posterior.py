"""Posterior probability over conditions, vectorised over many cases.

The model is naive Bayes over P(finding | condition) with two corrections for
dependent findings (see ``kb/data/dependence.yaml``):

* implied findings add no evidence once the finding that implies them is known;
* the m answered findings of a correlated cluster each count with weight
  ``1 / (1 + rho (m - 1))``, the design effect of correlated observations.

Evidence is coded per finding as +1 (present), -1 (absent) or 0 (unknown).
"""

from __future__ import annotations

import numpy as np

from painpath.engine.compiled import CompiledKB

__all__ = ["evidence_weights", "log_likelihood", "log_prior", "posterior"]


def evidence_weights(ckb: CompiledKB, ev: np.ndarray) -> np.ndarray:
    """Weight of each answered finding, shape (N, F); 0 where unknown or redundant."""
    present = (ev > 0).astype(np.float64)
    absent = (ev < 0).astype(np.float64)
    observed = present + absent
    m = observed @ ckb.cluster_member  # (N, K)
    damp = 1.0 / (1.0 + ckb.rho * np.maximum(m - 1.0, 0.0))  # (N, K)
    in_cluster = ckb.cluster_of >= 0
    w = np.ones_like(observed)
    if in_cluster.any():
        w[:, in_cluster] = damp[:, ckb.cluster_of[in_cluster]]
    redundant = (present @ ckb.red_if_present + absent @ ckb.red_if_absent) > 0
    w[redundant] = 0.0
    return w * observed


def log_likelihood(ckb: CompiledKB, ev: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Weighted log P(evidence | condition), shape (N, C)."""
    if w is None:
        w = evidence_weights(ckb, ev)
    wp = np.where(ev > 0, w, 0.0)
    wa = np.where(ev < 0, w, 0.0)
    return wp @ ckb.log_p + wa @ ckb.log_q


def log_prior(ckb: CompiledKB, age: np.ndarray, female: np.ndarray, setting: str = "self") -> np.ndarray:
    """Log prior per case from setting, age band and sex, shape (N, C)."""
    band = np.searchsorted(ckb.age_bounds, np.asarray(age), side="left")
    band = np.clip(band, 0, len(ckb.age_bounds) - 1)
    sex_row = np.where(np.asarray(female, dtype=bool), 0, 1)
    return ckb.log_prior[setting][None, :] + ckb.log_age[band] + ckb.log_sex[sex_row]


def posterior(
    ckb: CompiledKB,
    ev: np.ndarray,
    age: np.ndarray,
    female: np.ndarray,
    setting: str = "self",
) -> np.ndarray:
    """P(condition | evidence) for each case, shape (N, C); rows sum to 1."""
    ev = np.atleast_2d(ev)
    logits = log_likelihood(ckb, ev) / ckb.temperature + log_prior(ckb, age, female, setting)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    return p
