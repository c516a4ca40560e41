"""Benchmark v2 content of the knowledge base: the hip origin, the v2 triage policy as data, and
one case per new region (issue 13), each checked for the region and the level it must give.

The v2 floors and escalations are written out here from shared/benchmark-v2/TRIAGE.md, not read
from triage.yaml, so that the tests hold the data to the policy text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from painpath import assess
from painpath.engine import default_compiled, posterior, triage_arrays
from painpath.kb import default_kb, evidence_stats

CKB = default_compiled()
KB = default_kb()
RANK = {"self_care": 0, "soon": 1, "urgent": 2, "emergency": 3}

V2_CONDITIONS = {
    "hip_osteoarthritis", "greater_trochanteric_pain_syndrome", "hip_fracture", "hamstring_strain",
    "meralgia_paresthetica", "achilles_rupture", "ankle_sprain", "plantar_heel_pain", "knee_osteoarthritis",
    "patellofemoral_pain", "patellar_tendinopathy", "knee_internal_derangement", "nocturnal_leg_cramps",
    "superficial_thrombophlebitis", "chronic_venous_disease", "septic_arthritis", "gout",
}


def run(*present: str, base: int = 0, age: int = 45) -> Any:
    ev = np.full(len(CKB.findings), base, dtype=np.int8)
    for k in present:
        ev[CKB.fidx[k]] = 1
    p = posterior(CKB, ev[None, :], np.array([age]), np.array([False]), "self")
    return triage_arrays(CKB, ev[None, :], p)


def floor(*present: str) -> int:
    return int(run(*present).floor_rank[0])


def effective(*present: str) -> dict[str, int]:
    t = run(*present)
    return {c: int(r) for c, r in zip(CKB.conditions, t.effective_ranks[0][: len(CKB.conditions)], strict=True)}


# --- the new origin -------------------------------------------------------------------------------


def test_hip_origin_everywhere() -> None:
    hip = {k for k, c in KB.conditions.conditions.items() if c.origin == "hip"}
    assert hip == {"hip_osteoarthritis", "greater_trochanteric_pain_syndrome", "hip_fracture"}
    assert "hip" in CKB.origin_names
    col = CKB.origin_names.index("hip")
    rows = {CKB.conditions[i] for i in np.flatnonzero(CKB.origin_matrix[:, col])}
    assert rows == hip
    assert (CKB.origin_matrix[: len(CKB.conditions)].sum(axis=1) == 1).all()  # "other" (last row) has no origin


def test_every_v2_condition_has_sourced_strengths_and_a_prior() -> None:
    for c in V2_CONDITIONS:
        table = KB.strengths.strengths[c]
        assert sum(1 for s in table.values() if s.src) >= 5, c
        assert c in KB.priors.priors
    assert evidence_stats(KB)["literature_share"] >= 0.50


# --- v2 warning floors (TRIAGE.md section 1, v2 rows) --------------------------------------------------


def test_cannot_bear_weight_after_injury_is_urgent() -> None:
    assert floor("unable_to_bear_weight", "onset_after_trauma") == RANK["urgent"]
    assert floor("unable_to_bear_weight") == -1
    assert floor("onset_after_trauma") == -1


def test_swollen_joint_with_fever_is_an_emergency() -> None:
    assert floor("joint_swelling", "fever_unwell") == RANK["emergency"]
    assert floor("joint_swelling") == -1
    assert floor("fever_unwell") == RANK["urgent"]  # the v1 fever floor still holds alone


def test_hot_swollen_joint_floors() -> None:
    assert floor("hot_swollen_joint") == RANK["urgent"]
    assert floor("hot_swollen_joint", "temperature_38_or_more") == RANK["emergency"]
    assert floor("temperature_38_or_more") == -1


def test_fever_with_inability_to_bear_weight_is_an_emergency() -> None:
    assert floor("fever_unwell", "unable_to_bear_weight") == RANK["emergency"]


@pytest.mark.parametrize("loc", ["groin_pain", "outer_hip_pain", "outer_thigh_pain", "knee_front_pain", "knee_joint_pain",
                                 "ankle_pain", "heel_pain", "big_toe_joint_pain"])
def test_cauda_equina_floor_with_new_locations(loc: str) -> None:
    assert floor("saddle_numbness", loc) == RANK["emergency"]


def test_v2_floors_fire_on_present_only() -> None:
    t = run(base=-1)
    assert int(t.floor_rank[0]) == -1
    # unknown (never asked) is not present
    assert floor() == -1


# --- condition levels and v2 escalations (TRIAGE.md section 2) ----------------------------------------


def test_ankle_sprain_ottawa_escalation() -> None:
    assert effective()["ankle_sprain"] == RANK["self_care"]
    assert effective("ottawa_ankle_bone_tenderness")["ankle_sprain"] == RANK["urgent"]
    assert effective("unable_to_bear_weight")["ankle_sprain"] == RANK["urgent"]
    # the Ottawa rule is about the ankle: it does not raise other conditions
    assert effective("ottawa_ankle_bone_tenderness")["plantar_heel_pain"] == RANK["self_care"]


def test_locked_knee_escalation() -> None:
    assert effective()["knee_internal_derangement"] == RANK["soon"]
    assert effective("knee_locking")["knee_internal_derangement"] == RANK["urgent"]
    assert effective("knee_locking")["knee_osteoarthritis"] == RANK["self_care"]


def test_arterial_rest_pain_escalation() -> None:
    assert effective()["peripheral_arterial_disease"] == RANK["soon"]
    assert effective("pain_at_rest_night")["peripheral_arterial_disease"] == RANK["urgent"]


@pytest.mark.parametrize("cond", sorted(c for c in V2_CONDITIONS if KB.triage.condition_levels[c] == "self_care"))
def test_six_week_rule_applies_to_v2_self_care_conditions(cond: str) -> None:
    assert effective()[cond] == RANK["self_care"]
    assert effective("symptoms_over_6_weeks")[cond] == RANK["soon"]


# --- cases: the two from the issue, and one per new region ------------------------------------------


def result(findings: dict[str, bool | None], age: int, sex: str = "male", mode: str = "self") -> Any:
    return assess({"age": age, "sex": sex, "findings": findings}, mode=mode)


def test_sprinter_with_back_of_thigh_pain_is_not_a_calf_strain() -> None:
    # issue 13: a 24-year-old sprinter, sudden pain in the back of the thigh, bruising, pain on stretching
    r = result({"posterior_thigh_pain": True, "leg_pain_worse_than_back": True, "onset_sudden_during_activity": True,
                "bruising": True, "pain_on_stretching_muscle": True, "runner_or_jumping_sport": True}, 24)
    assert r.conditions[0].key == "hamstring_strain"
    assert r.conditions[0].origin == "leg"
    assert r.triage.level == "self_care"
    calf = next(c for c in r.conditions if c.key == "calf_muscle_strain")
    assert calf.probability < 0.05


def test_gradual_front_of_thigh_ache_without_back_pain_is_not_back_pain() -> None:
    # issue 13: a 67-year-old, gradual ache in the front of the thigh, no back pain
    r = result({"anterior_thigh_pain": True, "leg_pain_worse_than_back": True, "onset_gradual": True,
                "pain_dull_ache": True, "low_back_pain": False}, 67, "female")
    back = sum(c.probability for c in r.conditions if c.origin == "back")
    assert back < 0.5
    assert r.conditions[0].origin != "back"


REGION_CASES = [
    # (what, findings, age, sex, expected top condition, expected level)
    ("outer hip", {"outer_hip_pain": True, "outer_thigh_pain": True, "leg_pain_worse_than_back": True,
                   "pain_lying_on_side": True, "onset_gradual": True, "pain_dull_ache": True}, 55, "female",
     "greater_trochanteric_pain_syndrome", "self_care"),
    ("fall, groin, cannot walk", {"groin_pain": True, "leg_pain_worse_than_back": True, "onset_after_trauma": True,
                                  "unable_to_bear_weight": True}, 82, "female", "hip_fracture", "emergency"),
    ("outer thigh burning", {"outer_thigh_pain": True, "outer_thigh_numbness_burning": True, "pain_burning": True,
                             "numbness_leg_or_foot": True, "leg_pain_worse_than_back": True, "waist_compression": True,
                             "onset_gradual": True}, 40, "male", "meralgia_paresthetica", "soon"),
    ("twisted knee", {"knee_joint_pain": True, "leg_pain_worse_than_back": True, "onset_twisting_injury": True,
                      "onset_sudden_during_activity": True, "joint_swelling": True, "knee_giving_way": True,
                      "runner_or_jumping_sport": True}, 28, "male", "knee_internal_derangement", "soon"),
    ("older stiff knee", {"knee_joint_pain": True, "leg_pain_worse_than_back": True, "onset_gradual": True,
                          "morning_stiffness_short": True, "pain_stairs_squat_sitting": True, "pain_dull_ache": True},
     66, "female", "knee_osteoarthritis", "self_care"),
    ("rolled ankle", {"ankle_pain": True, "pain_below_knee": True, "leg_pain_worse_than_back": True,
                      "onset_twisting_injury": True, "onset_sudden_during_activity": True, "joint_swelling": True,
                      "bruising": True}, 22, "female", "ankle_sprain", "self_care"),
    ("first-step heel pain", {"heel_pain": True, "foot_pain": True, "pain_below_knee": True,
                              "leg_pain_worse_than_back": True, "pain_first_steps_after_rest": True,
                              "worse_prolonged_standing": True, "onset_gradual": True}, 50, "female",
     "plantar_heel_pain", "self_care"),
    ("push-off snap", {"achilles_pain": True, "pain_below_knee": True, "leg_pain_worse_than_back": True,
                       "onset_sudden_during_activity": True, "cannot_stand_on_tiptoe": True, "leg_weakness": True},
     40, "male", "achilles_rupture", "urgent"),
    ("red hot big toe", {"big_toe_joint_pain": True, "foot_pain": True, "pain_below_knee": True,
                         "leg_pain_worse_than_back": True, "joint_swelling": True, "redness_warmth": True,
                         "previous_gout": True}, 55, "male", "gout", "urgent"),
    ("tender cord in a varicose vein", {"calf_pain": True, "pain_below_knee": True, "leg_pain_worse_than_back": True,
                                        "tender_cord_vein": True, "varicose_veins": True, "redness_warmth": True},
     60, "female", "superficial_thrombophlebitis", "urgent"),
    ("heavy legs by evening", {"calf_pain": True, "pain_below_knee": True, "pain_both_legs": True,
                               "leg_pain_worse_than_back": True, "legs_heavy_evening": True, "varicose_veins": True,
                               "worse_prolonged_standing": True, "pain_dull_ache": True, "onset_gradual": True},
     58, "female", "chronic_venous_disease", "self_care"),
    ("night cramps", {"calf_pain": True, "pain_below_knee": True, "leg_pain_worse_than_back": True,
                      "night_cramps": True, "pain_cramping_tightness": True}, 70, "female", "nocturnal_leg_cramps",
     "self_care"),
]


@pytest.mark.parametrize(("what", "findings", "age", "sex", "top", "level"), REGION_CASES, ids=[c[0] for c in REGION_CASES])
def test_one_case_per_new_region(what: str, findings: dict[str, bool], age: int, sex: str, top: str, level: str) -> None:
    r = result(findings, age, sex)
    assert r.conditions[0].key == top, [(c.key, round(c.probability, 3)) for c in r.conditions[:3]]
    assert r.conditions[0].origin == KB.conditions.conditions[top].origin
    assert r.triage.level == level
