"""Per-condition explanations: which answers raised or lowered a condition most."""

from __future__ import annotations

import numpy as np

from painpath.engine.compiled import CompiledKB

__all__ = ["contributions"]


def contributions(ckb: CompiledKB, ev: np.ndarray, w: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Weight of evidence (natural log units) of each answer for each candidate, shape (F, M).

    For condition c and answered finding f: w_f * [log P(answer | c) - log P(answer | others)],
    where "others" is the mixture of the other conditions weighted by their posterior.
    Positive values raised c against its competitors, negative values lowered it.
    """
    ev = np.asarray(ev).ravel()
    w = np.asarray(w).ravel()
    like = np.where(ev[:, None] > 0, ckb.theta_all.T, 1.0 - ckb.theta_all.T)  # (F, M)
    post = np.asarray(post).ravel()
    total = like @ post  # (F,)
    others = (total[:, None] - like * post[None, :]) / np.maximum(1.0 - post[None, :], 1e-12)
    out = w[:, None] * (np.log(like) - np.log(np.maximum(others, 1e-300)))
    out[ev == 0] = 0.0
    return out
