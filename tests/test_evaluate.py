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


# --- benchmark v2: "other" in the ranking ---------------------------------------------------------

M = len(CKB.candidates)
O = CKB.other_index  # noqa: E741 - the "other" column, named as in the engine docs


def probs_other(other: float, **p: float) -> np.ndarray:
    """A row over the candidates (conditions, then "other"): named ones get their value, the rest share."""
    assert O is not None
    row = np.zeros(M)
    for k, v in p.items():
        row[CKB.cidx[k]] = v
    row[O] = other
    rest = [i for i in range(M) if row[i] == 0]
    row[rest] = (1 - other - sum(p.values())) / len(rest)
    return row


def test_other_in_the_ranking_by_hand() -> None:
    cases = [
        mk("o1", "other", "soon"),  # "other" first: top1 hit, other_recall hit
        mk("o2", "other", "self_care", ("lumbar_radicular",)),  # a key first: top1 hit (also_acceptable), recall miss
        mk("o3", "other", "self_care"),  # "other" second: top3 hit only
        mk("i1", "lumbar_radicular", "self_care"),  # "other" first on an in-scope case: other_false, top1 miss
        mk("i2", "cellulitis", "urgent"),  # right
    ]
    post = np.stack([
        probs_other(0.6, lumbar_radicular=0.3),
        probs_other(0.3, lumbar_radicular=0.5),
        probs_other(0.3, cellulitis=0.5),
        probs_other(0.5, lumbar_radicular=0.4),
        probs_other(0.1, cellulitis=0.8),
    ])
    s = score_predictions(CKB, cases, post, ["soon", "self_care", "self_care", "self_care", "urgent"])
    assert s["top1"] == pytest.approx(3 / 5)  # o1, o2, i2
    assert s["top3"] == pytest.approx(5 / 5)
    assert s["other_recall"] == pytest.approx(1 / 3)  # o1 only: also_acceptable first does not count
    assert s["other_false"] == pytest.approx(1 / 2)  # i1
    assert s["origin"] == pytest.approx(1 / 2)  # in scope only: i1 wrong ("other" has no origin), i2 right
    # Brier: p(other) counts for gold other, and also_acceptable adds in
    expected = [(1 - 0.6) ** 2, (1 - 0.8) ** 2, (1 - 0.3) ** 2, (1 - 0.4) ** 2, (1 - 0.8) ** 2]
    assert s["brier"] == pytest.approx(sum(expected) / 5)
    assert [m["id"] for m in s["misses"]] == ["o3", "i1"]
    assert s["misses"][0]["gold"] == "other"
    assert [k for k, _p in s["misses"][0]["predicted_top3"][:2]] == ["cellulitis", "other"]
    assert s["misses"][1]["predicted_top3"][0] == ["other", 0.5]
    assert s["misses"][1]["gold"] == "lumbar_radicular"


def test_other_ties_rank_after_every_key() -> None:
    tie = probs_other(0.45, lumbar_radicular=0.45)
    s = score_predictions(CKB, [mk("t", "other", "soon")], tie[None, :], ["soon"])
    assert s["top1"] == 0.0 and s["other_recall"] == 0.0 and s["top3"] == 1.0
    assert [k for k, _p in s["misses"][0]["predicted_top3"][:2]] == ["lumbar_radicular", "other"]
    s = score_predictions(CKB, [mk("t", "lumbar_radicular", "soon")], tie[None, :], ["soon"])
    assert s["top1"] == 1.0 and s["other_false"] == 0.0


def test_other_metrics_null_without_cases_of_their_kind() -> None:
    s = score_predictions(CKB, [mk("i", "cellulitis", "urgent")], probs_other(0.1, cellulitis=0.8)[None, :], ["urgent"])
    assert s["other_recall"] is None and s["other_false"] == 0.0
    s = score_predictions(CKB, [mk("o", "other", "urgent")], probs_other(0.7)[None, :], ["urgent"])
    assert s["other_false"] is None and s["origin"] is None and s["other_recall"] == 1.0


def test_probabilities_without_other_column_score_other_as_zero() -> None:
    s = score_predictions(CKB, [mk("o", "other", "soon")], probs(cellulitis=0.8)[None, :], ["soon"])
    assert s["top1"] == 0.0 and s["brier"] == pytest.approx(1.0) and s["other_recall"] == 0.0


def _write_case(d, name: str, gold: dict, findings: dict | None = None, age: int = 40) -> None:  # type: ignore[no-untyped-def,type-arg]
    import yaml

    (d / name).write_text(yaml.safe_dump({"age": age, "sex": "male", "findings": findings or {"calf_pain": True},
                                          "gold": gold}), encoding="utf-8")


def test_gold_other_is_read_and_also_acceptable_other_is_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from painpath.cases import load_cases
    from painpath.errors import CaseError

    _write_case(tmp_path, "a.yaml", {"condition": "other", "triage": "soon", "also_acceptable": ["lumbar_radicular"]})
    cases = load_cases(tmp_path, CKB, require_gold=True)
    assert cases[0].gold is not None and cases[0].gold.right_answers == ("other", "lumbar_radicular")
    _write_case(tmp_path, "b.yaml", {"condition": "lumbar_radicular", "triage": "soon", "also_acceptable": ["other"]})
    with pytest.raises(CaseError, match=r"b\.yaml.*also_acceptable.*other"):
        load_cases(tmp_path, CKB, require_gold=True)
    (tmp_path / "b.yaml").unlink()
    _write_case(tmp_path, "c.yaml", {"condition": "others", "triage": "soon"})
    with pytest.raises(CaseError, match=r"c\.yaml.*gold\.condition.*others"):
        load_cases(tmp_path, CKB, require_gold=True)


def test_evaluate_cli_json_on_a_small_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`painpath evaluate --json`: only JSON on stdout, every v2 metric, exit 0; bad input exits 2."""
    import json

    from tests.conftest import run_cli

    _write_case(tmp_path, "in.yaml", {"condition": "cellulitis", "triage": "urgent"},
                {"calf_pain": True, "pain_below_knee": True, "redness_warmth": True, "fever_unwell": True})
    _write_case(tmp_path, "out.yaml", {"condition": "other", "triage": "self_care"}, {"calf_pain": True})
    r = run_cli("evaluate", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"self", "clinician"}
    for m in out.values():
        assert {"n", "top1", "top3", "origin", "triage_exact", "under_triage", "over_triage", "emergency_sensitivity",
                "brier", "other_recall", "other_false", "misses"} <= set(m)
        assert m["n"] == 2 and m["emergency_sensitivity"] is None
        for miss in m["misses"]:
            assert set(miss) == {"id", "gold", "gold_triage", "predicted_top3", "predicted_triage"}
    _write_case(tmp_path, "z.yaml", {"condition": "other", "triage": "soon", "also_acceptable": ["other"]})
    bad = run_cli("evaluate", str(tmp_path), "--json")
    assert bad.returncode == 2 and bad.stdout == "" and "z.yaml" in bad.stderr


def test_interview_counts_screens_and_answers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from painpath.cases import load_cases
    from painpath.interview.simulate import score_interviews, simulate

    _write_case(tmp_path, "a.yaml", {"condition": "cellulitis", "triage": "urgent"},
                {"calf_pain": True, "pain_below_knee": True, "redness_warmth": True, "fever_unwell": True})
    _write_case(tmp_path, "b.yaml", {"condition": "other", "triage": "self_care"}, {"anterior_thigh_pain": True})
    cases = load_cases(tmp_path, CKB, require_gold=True)
    s = score_interviews(cases, "self", ckb=CKB)
    sims = [simulate(c, "self", ckb=CKB) for c in cases]
    screens = np.array([x.questions for x in sims], dtype=float)
    answers = np.array([x.answers for x in sims], dtype=float)
    # each screen counts one question; each finding asked on it counts one answer (presenting excluded)
    for x in sims:
        asked = [a for a in x.state.answers if a.screen is not None
                 and CKB.kb.interview.screens[a.screen].phase != "presenting"]
        assert x.answers == len(asked) >= x.questions
    assert s["answers_median"] == float(np.percentile(answers, 50))
    assert s["answers_p90"] == float(np.percentile(answers, 90)) and s["answers_max"] == int(answers.max())
    assert s["questions_median"] == float(np.percentile(screens, 50))
    assert {"other_recall", "other_false", "agreement_top1", "agreement_triage"} <= set(s)
