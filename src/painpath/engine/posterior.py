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
    """Weight of each answered finding, shape (N, F); 0 where unknown or redundant.

    Implied (redundant) findings count neither as evidence nor towards their cluster's m.
    """
    ev = np.atleast_2d(ev)
    if ev.shape[0] <= 64:  # few cases: small matrix products beat Python loops
        redundant = ((ev > 0) @ ckb.red_if_present + (ev < 0) @ ckb.red_if_absent) > 0
        obs = ((ev != 0) & ~redundant).astype(np.float64)
        damp = 1.0 / (1.0 + ckb.rho * np.maximum(obs @ ckb.cluster_member - 1.0, 0.0))
        in_cluster = ckb.cluster_of >= 0
        obs[:, in_cluster] *= damp[:, ckb.cluster_of[in_cluster]]
        return obs
    observed = ev != 0
    for b, a_present, a_absent in ckb.implications:
        if a_present.size:
            observed[:, b] &= ~(ev[:, a_present] > 0).any(axis=1)
        if a_absent.size:
            observed[:, b] &= ~(ev[:, a_absent] < 0).any(axis=1)
    w = observed.astype(np.float64)
    for k, cols in enumerate(ckb.cluster_cols):
        m = observed[:, cols].sum(axis=1, dtype=np.float64)
        w[:, cols] *= (1.0 / (1.0 + ckb.rho[k] * np.maximum(m - 1.0, 0.0)))[:, None]
    return w


def log_likelihood(ckb: CompiledKB, ev: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Weighted log P(evidence | condition), shape (N, C)."""
    if w is None:
        w = evidence_weights(ckb, ev)
    # w is zero where the answer is unknown, so w @ log_q counts every answered finding as absent;
    # the present ones are then corrected by (log_p - log_q).
    wp = w * (ev > 0)
    ll = w @ ckb.log_q_t + wp @ ckb.log_d_t
    if ckb.prof_log_w.size:  # "other" is a mixture of profiles: logsumexp over them
        lp = w @ ckb.prof_log_q_t + wp @ ckb.prof_log_d_t
        lp += ckb.prof_log_w
        top = lp.max(axis=1)
        ll[:, ckb.other_index] = top + np.log(np.exp(lp - top[:, None]).sum(axis=1))
    return ll


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
    w: np.ndarray | None = None,
) -> np.ndarray:
    """P(condition | evidence) for each case, shape (N, C); rows sum to 1."""
    ev = np.atleast_2d(ev)
    logits = log_likelihood(ckb, ev, w)
    if ckb.temperature != 1.0:
        logits /= ckb.temperature
    logits += log_prior(ckb, age, female, setting)
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits
