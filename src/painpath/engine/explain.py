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
    post = np.asarray(post).ravel()
    out = np.zeros((ev.size, post.size))
    rows = np.flatnonzero(ev)  # only answered findings carry weight
    if rows.size == 0:
        return out
    present = (ev[rows] > 0)[:, None]
    like = np.where(present, ckb.theta_all.T[rows], 1.0 - ckb.theta_all.T[rows])  # (k, M)
    log_like = np.where(present, ckb.log_p[rows], ckb.log_q[rows])
    total = like @ post  # (k,)
    others = (total[:, None] - like * post[None, :]) / np.maximum(1.0 - post[None, :], 1e-12)
    out[rows] = w[rows, None] * (log_like - np.log(np.maximum(others, 1e-300)))
    return out
