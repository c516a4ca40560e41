"""Benchmark scoring (README "What is scored, exactly") on hand-built predictions."""

from __future__ import annotations

import numpy as np
import pytest

from painpath.cases import Case, Gold
from painpath.engine import default_compiled
from painpath.evaluate import score_cases, score_predictions

CKB = default_compiled()
C = len(CKB.conditions)


def probs(**p: float) -> np.ndarray:
    """A probability row: the named conditions get their value, the rest share what is left equally."""
    row = np.zeros(C)
    for k, v in p.items():
        row[CKB.cidx[k]] = v
    rest = [i for i in range(C) if row[i] == 0]
    row[rest] = (1 - sum(p.values())) / len(rest)
    return row


def mk(cid: str, gold: str, triage: str, also: tuple[str, ...] = ()) -> Case:
    return Case(id=cid, age=40, sex="male", findings={}, gold=Gold(gold, triage, also))


def test_metrics_by_hand() -> None:
    cases = [
        # 1: right at top1, right triage
        mk("c1", "lumbar_radicular", "self_care"),
        # 2: gold second (top3 hit, top1 miss); same origin (back); under-triaged
        mk("c2", "lumbar_stenosis", "soon"),
        # 3: gold not in top3, other origin; emergency gold predicted emergency
        mk("c3", "acute_limb_ischaemia", "emergency"),
        # 4: an also_acceptable answer is top1; gold urgent, predicted emergency (over-triage)
        mk("c4", "bakers_cyst", "urgent", ("deep_vein_thrombosis",)),
    ]
    post = np.stack(
        [
            probs(lumbar_radicular=0.7, lumbar_stenosis=0.2),
            probs(lumbar_radicular=0.5, lumbar_stenosis=0.4),
            probs(cellulitis=0.5, deep_vein_thrombosis=0.2, peripheral_arterial_disease=0.1, acute_limb_ischaemia=0.05),
            probs(deep_vein_thrombosis=0.6, bakers_cyst=0.3),
        ]
    )
    levels = ["self_care", "self_care", "emergency", "emergency"]
    s = score_predictions(CKB, cases, post, levels)
    assert s["n"] == 4
    assert s["top1"] == pytest.approx(2 / 4)  # c1, c4 (also_acceptable)
    assert s["top3"] == pytest.approx(3 / 4)  # c1, c2, c4
    # origins: c1 back=back, c2 top radicular (back) vs stenosis (back), c3 top cellulitis (systemic)
    # vs ischaemia (vascular), c4 top DVT (vascular) in {leg, vascular}
    assert s["origin"] == pytest.approx(3 / 4)
    assert s["triage_exact"] == pytest.approx(2 / 4)  # c1, c3
    assert s["under_triage"] == pytest.approx(1 / 4)  # c2
    assert s["over_triage"] == pytest.approx(1 / 4)  # c4
    assert s["emergency_sensitivity"] == 1.0  # c3 is the only emergency gold
    # brier: (1-0.7)^2, (1-0.4)^2, (1-0.05)^2, (1-0.9)^2
    assert s["brier"] == pytest.approx((0.09 + 0.36 + 0.9025 + 0.01) / 4)
    assert [m["id"] for m in s["misses"]] == ["c2", "c3", "c4"]
    m2 = s["misses"][0]
    assert set(m2) == {"id", "gold", "gold_triage", "predicted_top3", "predicted_triage"}
    assert m2["gold"] == "lumbar_stenosis"
    assert m2["gold_triage"] == "soon"
    assert m2["predicted_triage"] == "self_care"
    assert [k for k, _p in m2["predicted_top3"]][:2] == ["lumbar_radicular", "lumbar_stenosis"]
    assert m2["predicted_top3"][0][1] == pytest.approx(0.5)


def test_emergency_sensitivity_null_without_emergency_gold() -> None:
    s = score_predictions(CKB, [mk("c", "cellulitis", "urgent")], probs(cellulitis=0.9)[None, :], ["urgent"])
    assert s["emergency_sensitivity"] is None
    assert s["misses"] == []


def test_emergency_missed() -> None:
    s = score_predictions(CKB, [mk("c", "cauda_equina", "emergency")], probs(cauda_equina=0.9)[None, :], ["urgent"])
    assert s["emergency_sensitivity"] == 0.0
    assert s["under_triage"] == 1.0


def test_ties_broken_by_taxonomy_order() -> None:
    uniform = np.full((1, C), 1 / C)
    first, second = CKB.conditions[0], CKB.conditions[1]
    s = score_predictions(CKB, [mk("c", first, "soon")], uniform, ["soon"])
    assert s["top1"] == 1.0
    s = score_predictions(CKB, [mk("c", second, "soon")], uniform, ["soon"])
    assert s["top1"] == 0.0 and s["top3"] == 1.0
    assert [k for k, _ in s["misses"][0]["predicted_top3"]] == list(CKB.conditions[:3])


def test_empty() -> None:
    assert score_predictions(CKB, [], np.zeros((0, C)), []) == {"n": 0, "misses": []}


def test_score_cases_uses_mode_and_gold(dev_dir) -> None:  # type: ignore[no-untyped-def]
    from painpath.cases import load_cases

    cases = load_cases(dev_dir, CKB, require_gold=True)
    s = score_cases(cases, "self")
    c = score_cases(cases, "clinician")
    assert s["n"] == c["n"] == len(cases)
    # self mode hides signs, so the two modes are scored on different evidence
    assert s["brier"] != c["brier"]
