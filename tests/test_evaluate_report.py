"""`painpath evaluate --report DIR`: the HTML page with a reliability diagram, a confusion matrix over conditions
and the triage table; and its numbers on hand-made cases (including a gold `other`, as in benchmark v2)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from painpath.evaluate_report import (
    Predictions,
    calibration_bins,
    condition_confusion,
    triage_confusion,
    write_report,
)
from tests.conftest import run_cli

PNG = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.cells: list[str] = []
        self._in_td = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append({k: v or "" for k, v in attrs})
        self._in_td = tag == "td"

    def handle_data(self, data: str) -> None:
        if self._in_td:
            self.cells.append(data)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG, f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_evaluate_report_writes_the_page_with_both_plots(dev_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_cli("evaluate", str(dev_dir), "--mode", "self", "--report", str(out), timeout=180)
    assert r.returncode == 0, r.stderr
    page = out / "index.html"
    assert f"report: {page}" in r.stderr
    html = page.read_text(encoding="utf-8")
    parsed = _Page()
    parsed.feed(html)
    srcs = [img["src"] for img in parsed.images]
    assert srcs == ["reliability-self.png", "confusion-self.png"]
    for img in parsed.images:
        w, h = _png_size(out / img["src"])
        assert w > 300 and h > 300 and img["alt"]
    assert "Reliability diagram" in html and "Confusion matrix over conditions" in html
    n_cases = len(list(dev_dir.glob("*.yaml")))
    assert f"({n_cases} cases)" in html
    # the triage table's counts add up to the number of cases (4 x 4 cells plus a total per row)
    table = html.split("<table class='triage'>")[1].split("</table>")[0]
    cells = [int(x) for x in re.findall(r"<td class='[a-z]*'>(\d+)</td>", table)]
    assert len(cells) == 16 and sum(cells) == n_cases


def test_no_report_without_the_option(dev_dir: Path, tmp_path: Path) -> None:
    r = run_cli("evaluate", str(dev_dir), "--mode", "self", "--json", cwd=tmp_path, timeout=180)
    assert r.returncode == 0 and list(tmp_path.iterdir()) == []
    assert r.stderr == ""  # --json: no progress display, nothing but the JSON


def _hand_made() -> Predictions:
    """Four cases over candidates a, b and other (benchmark v2's gold `other` as one more candidate); a fifth
    whose gold (`zeta`) no candidate names."""
    labels = ["a", "b", "other"]
    probs = np.array([[0.95, 0.04, 0.01],   # gold a, right, confident
                      [0.95, 0.03, 0.02],   # gold b, wrong, confident
                      [0.30, 0.25, 0.45],   # gold other, right
                      [0.55, 0.45, 0.00],   # gold a, right
                      [0.10, 0.85, 0.05]])  # gold zeta, wrong
    gold = ["a", "b", "other", "a", "zeta"]
    return Predictions(mode="self", ids=[f"c{i}" for i in range(5)], labels=labels, probs=probs, gold=gold,
                       right=[frozenset({g}) for g in gold],
                       gold_level=["soon", "emergency", "self_care", "soon", "urgent"],
                       pred_level=["soon", "urgent", "self_care", "emergency", "urgent"])


def test_calibration_bins_by_hand() -> None:
    cal = calibration_bins(_hand_made())
    assert cal["count"].sum() == 5
    assert cal["count"][9] == 2 and cal["accuracy"][9] == pytest.approx(0.5)  # 0.95, 0.95: one right
    assert cal["count"][4] == 1 and cal["accuracy"][4] == 1.0  # 0.45 (other): right
    assert cal["count"][5] == 1 and cal["count"][8] == 1 and cal["accuracy"][8] == 0.0  # 0.85: wrong
    expected_ece = (2 * abs(0.5 - 0.95) + abs(1 - 0.45) + abs(1 - 0.55) + abs(0 - 0.85)) / 5
    assert cal["ece"] == pytest.approx(expected_ece)
    assert cal["top1"] == pytest.approx(3 / 5)


def test_confusion_tables_by_hand() -> None:
    pred = _hand_made()
    rows, cols, m = condition_confusion(pred)
    assert cols == ["a", "b", "other", "zeta"] and rows == ["a", "b", "other", "zeta"]
    assert m[rows.index("a"), cols.index("a")] == 2
    assert m[rows.index("b"), cols.index("a")] == 1
    assert m[rows.index("other"), cols.index("other")] == 1
    assert m[rows.index("zeta"), cols.index("b")] == 1 and m.sum() == 5
    t = triage_confusion(pred)  # rows gold, columns predicted: emergency, urgent, soon, self_care
    assert t[0, 1] == 1 and t[1, 1] == 1 and t[2, 2] == 1 and t[2, 0] == 1 and t[3, 3] == 1 and t.sum() == 5


def test_report_from_hand_made_cases_with_other(tmp_path: Path) -> None:
    page = write_report(tmp_path / "r", [_hand_made()], title="hand-made", metrics={"self": {"n": 5, "top1": 0.6}})
    html = page.read_text(encoding="utf-8")
    assert "under'>1<" in html  # the emergency case triaged urgent is marked as under-triage
    for name in ("reliability-self.png", "confusion-self.png"):
        assert _png_size(page.parent / name)[0] > 300
    assert "<th scope='row'>top1</th><td>0.600</td>" in html
