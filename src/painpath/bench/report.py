"""`painpath evaluate --report DIR`: an HTML page with pictures of an evaluation.

The page holds, for each mode evaluated:

* a **reliability (calibration) diagram**: the cases are binned by the probability of their top-ranked
  candidate; each bin's mean confidence is plotted against how often that top candidate was a right answer
  (Guo et al. 2017, "On Calibration of Modern Neural Networks", ICML), with the expected calibration error
  (ECE, the count-weighted mean gap) and a histogram of how many cases fall in each bin;
* a **confusion matrix over conditions**: gold condition (rows) against top-ranked candidate (columns);
* the **triage confusion table**: gold level against predicted level, under-triage cells marked.

It consumes :class:`Predictions`, which any scorer can fill: the candidates are named by ``labels`` (the
columns of ``probs``), so a candidate that is not a knowledge-base condition, such as benchmark v2's
``other``, is simply one more label, and a gold condition no candidate names gets its own row. Pictures are
drawn with matplotlib's Agg backend (no display needed) and written as PNG files beside ``index.html``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from painpath.domain import LEVELS_DESCENDING, Level, setting_for

__all__ = ["LEVELS", "Predictions", "calibration_bins", "predictions_for", "write_report"]

LEVELS = LEVELS_DESCENDING
LEVEL_RANK: dict[str, int] = {lv.value: lv.rank for lv in Level}  # self_care 0 ... emergency 3


@dataclass(frozen=True)
class Predictions:
    """Per-case results of one evaluation run, in the form the report draws from."""

    mode: str
    ids: list[str]
    labels: list[str]  # candidate names, the columns of probs (may include "other")
    probs: np.ndarray  # (N, K) probabilities over the candidates
    gold: list[str]  # the gold condition of each case (may be a label not in `labels`, e.g. "other")
    right: list[frozenset[str]]  # every acceptable answer of each case (gold and also_acceptable)
    gold_level: list[str]
    pred_level: list[str]

    @property
    def top(self) -> list[str]:
        return [self.labels[int(j)] for j in np.argmax(self.probs, axis=1)] if len(self.ids) else []


def predictions_for(cases: Sequence[Any], mode: str, *, ckb: Any = None) -> Predictions:
    """Assess every case with all its findings (as ``painpath.evaluate.score_cases`` does) and keep the
    per-case results. Gold is read only here, to score."""
    from painpath.assessment import assess_arrays
    from painpath.cases import encode_many
    from painpath.engine import default_compiled
    from painpath.engine.compiled import RANK_LEVEL

    ckb = ckb or default_compiled()
    ev, age, female = encode_many(list(cases), ckb, mode)  # type: ignore[arg-type]  # mode is 'self' or 'clinician' (the caller's --mode)
    post, ranks = assess_arrays(ev, age, female, setting=setting_for(mode), ckb=ckb)
    return Predictions(
        mode=mode, ids=[c.id for c in cases], labels=list(ckb.conditions), probs=np.asarray(post, dtype=float),
        gold=[c.gold.condition for c in cases], right=[frozenset(c.gold.right_answers) for c in cases],
        gold_level=[c.gold.triage for c in cases], pred_level=[RANK_LEVEL[int(r)] for r in ranks])


# --- numbers ------------------------------------------------------------------------------------------------

def calibration_bins(pred: Predictions, n_bins: int = 10) -> dict[str, Any]:
    """Top-1 confidence against top-1 accuracy in ``n_bins`` equal-width bins of confidence; the ECE."""
    conf = pred.probs.max(axis=1) if len(pred.ids) else np.zeros(0)
    hit = np.array([t in r for t, r in zip(pred.top, pred.right, strict=True)], dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=hit, minlength=n_bins) / count
    n = max(len(conf), 1)
    ece = float(np.nansum(count / n * np.abs(accuracy - mean_conf)))
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": accuracy, "ece": ece,
            "top1": float(hit.mean()) if len(hit) else float("nan")}


def condition_confusion(pred: Predictions) -> tuple[list[str], list[str], np.ndarray]:
    """Counts of (gold condition, top-ranked candidate); rows: gold labels seen, columns: candidates predicted
    or gold, both in the candidates' order with any gold label outside them (e.g. "other") last."""
    seen = set(pred.gold) | set(pred.top)
    cols = [lb for lb in pred.labels if lb in seen] + sorted(seen - set(pred.labels))
    rows = [lb for lb in cols if lb in set(pred.gold)]
    m = np.zeros((len(rows), len(cols)), dtype=int)
    ri, ci = {lb: i for i, lb in enumerate(rows)}, {lb: i for i, lb in enumerate(cols)}
    for g, t in zip(pred.gold, pred.top, strict=True):
        m[ri[g], ci[t]] += 1
    return rows, cols, m


def triage_confusion(pred: Predictions) -> np.ndarray:
    """(4, 4) counts: rows gold level, columns predicted level, in LEVELS order (emergency first)."""
    idx = {lv: i for i, lv in enumerate(LEVELS)}
    m = np.zeros((len(LEVELS), len(LEVELS)), dtype=int)
    for g, p in zip(pred.gold_level, pred.pred_level, strict=True):
        m[idx[g], idx[p]] += 1
    return m


# --- pictures -----------------------------------------------------------------------------------------------

def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _reliability_png(pred: Predictions, path: Path) -> dict[str, Any]:
    plt = _plt()
    cal = calibration_bins(pred)
    fig, (ax, hx) = plt.subplots(2, 1, figsize=(5.5, 6.5), height_ratios=[3, 1], sharex=True)
    width = cal["edges"][1] - cal["edges"][0]
    centres = cal["edges"][:-1] + width / 2
    ok = cal["count"] > 0
    ax.plot([0, 1], [0, 1], linestyle="--", color="#777", label="perfect calibration")
    ax.bar(centres[ok], cal["accuracy"][ok], width=width * 0.9, color="#2b6cb0", alpha=0.8, label="top-1 accuracy per bin")
    ax.plot(cal["confidence"][ok], cal["accuracy"][ok], marker="o", color="#c05621",
            label="accuracy at the bin's mean confidence")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction whose top candidate is right")
    ax.set_title(f"Reliability diagram ({pred.mode}): ECE {cal['ece']:.3f}")
    ax.legend(loc="upper left", fontsize=8)
    hx.bar(centres, cal["count"], width=width * 0.9, color="#718096")
    hx.set_xlabel("probability of the top-ranked candidate")
    hx.set_ylabel("cases")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return cal


def _confusion_png(pred: Predictions, path: Path) -> None:
    plt = _plt()
    rows, cols, m = condition_confusion(pred)
    size = max(5.0, 0.38 * len(cols) + 2.5)
    fig, ax = plt.subplots(figsize=(size, max(4.0, 0.38 * len(rows) + 2.0)))
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("top-ranked candidate")
    ax.set_ylabel("gold condition")
    ax.set_title(f"Confusion matrix over conditions ({pred.mode}; shading: share of the row)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the page -----------------------------------------------------------------------------------------------

CSS = """body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1a202c}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #cbd5e0;padding:.3rem .6rem;text-align:right}
th{background:#edf2f7}td.under{background:#fed7d7}td.exact{background:#c6f6d5}img{max-width:100%;height:auto}
.small{color:#4a5568;font-size:.9rem}"""


def _triage_table(pred: Predictions) -> str:
    m = triage_confusion(pred)
    head = "".join(f"<th scope='col'>{lv}</th>" for lv in LEVELS)
    body = []
    for i, g in enumerate(LEVELS):
        cells = []
        for j, p in enumerate(LEVELS):
            cls = "exact" if i == j else ("under" if LEVEL_RANK[p] < LEVEL_RANK[g] else "")
            cells.append(f"<td class='{cls}'>{m[i, j]}</td>")
        body.append(f"<tr><th scope='row'>{g}</th>{''.join(cells)}<td>{m[i].sum()}</td></tr>")
    return (f"<table class='triage'><caption>Triage ({pred.mode}): gold level (rows) against predicted level "
            f"(columns); red = under-triage</caption><tr><th>gold \\ predicted</th>{head}<th>total</th></tr>"
            + "".join(body) + "</table>")


def write_report(out_dir: str | Path, runs: Sequence[Predictions], *, title: str,
                 metrics: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write ``index.html`` and its PNG pictures into ``out_dir`` (created if needed); return the page's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    for pred in runs:
        rel, conf = f"reliability-{pred.mode}.png", f"confusion-{pred.mode}.png"
        cal = _reliability_png(pred, out / rel)
        _confusion_png(pred, out / conf)
        parts.append(f"<section id='{pred.mode}'><h2>Mode: {html.escape(pred.mode)} ({len(pred.ids)} cases)</h2>")
        shown = {k: v for k, v in (metrics or {}).get(pred.mode, {}).items() if isinstance(v, (int, float))}
        if shown:
            rows = "".join(f"<tr><th scope='row'>{html.escape(k)}</th><td>{v:.3f}</td></tr>" if isinstance(v, float)
                           else f"<tr><th scope='row'>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in shown.items())
            parts.append(f"<table class='metrics'><caption>Metrics</caption>{rows}</table>")
        parts.append(
            f"<h3>Reliability diagram</h3><figure><img src='{rel}' alt='Reliability diagram for {pred.mode} mode: "
            f"top-1 accuracy against confidence in ten bins, expected calibration error {cal['ece']:.3f}'>"
            f"<figcaption class='small'>Cases binned by the probability of their top-ranked candidate; bars: how "
            f"often that candidate was a right answer. ECE {cal['ece']:.3f}; top-1 {cal['top1']:.3f}.</figcaption>"
            f"</figure><h3>Confusion matrix over conditions</h3><figure><img src='{conf}' alt='Confusion matrix "
            f"for {pred.mode} mode: gold condition against top-ranked candidate'></figure>"
            f"<h3>Triage</h3>{_triage_table(pred)}</section>")
    parts.append("<p class='small'>Written by <code>painpath evaluate --report</code>.</p></body></html>")
    page = out / "index.html"
    page.write_text("".join(parts), encoding="utf-8")
    return page
