"""Triage on the shipped knowledge base against shared/benchmark-v2/TRIAGE.md (v1 rows and v2 additions).

The floors and escalations are written out here from TRIAGE.md (not read from
triage.yaml) so that the tests check the KB against the policy text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from painpath.assessment import assess, assess_arrays, assess_many
from painpath.cases import encode, parse_case
from painpath.engine import default_compiled, evidence_weights, posterior, triage_arrays
from painpath.engine.compiled import LEVEL_RANK

CKB = default_compiled()
RANK = {"self_care": 0, "soon": 1, "urgent": 2, "emergency": 3}

LOCATION = [
    "low_back_pain", "buttock_pain", "posterior_thigh_pain", "anterior_thigh_pain", "knee_back_pain", "calf_pain",
    "shin_pain", "achilles_pain", "foot_pain", "pain_below_knee", "pain_both_legs", "leg_pain_worse_than_back",
    # v2
    "groin_pain", "outer_hip_pain", "outer_thigh_pain", "knee_front_pain", "knee_joint_pain", "ankle_pain", "heel_pain",
    "big_toe_joint_pain",
]
CES = ["bladder_problem_new", "bowel_incontinence_new", "saddle_numbness", "sexual_dysfunction_new"]
CLOT_RISK = ["recent_immobility_surgery_travel", "leg_recently_in_cast", "previous_dvt", "active_cancer", "hormones_or_pregnancy"]
BACK_FLAGS = ["history_of_cancer", "unexplained_weight_loss", "pain_at_rest_night", "onset_after_trauma"]

# TRIAGE.md section 1, row by row, and PainPath's own two floors: (any of, with any of (empty = none needed), level)
FLOORS: list[tuple[list[str], list[str], str]] = [
    (CES, LOCATION, "emergency"),
    (["leg_cold_pale"], [], "emergency"),
    (["leg_tense_swollen_after_injury"], [], "emergency"),
    (["chest_pain_breathless"], [], "emergency"),
    (["weakness_getting_worse"], [], "emergency"),
    (["fever_unwell"], [], "urgent"),
    (["redness_warmth"], [], "urgent"),
    (["pain_severe_out_of_proportion"], [], "urgent"),
    (["calf_swelling_one_leg"], CLOT_RISK, "urgent"),
    (["low_back_pain"], BACK_FLAGS, "urgent"),
    # v2
    (["unable_to_bear_weight"], ["onset_after_trauma"], "urgent"),
    (["joint_swelling"], ["fever_unwell"], "emergency"),
    (["hot_swollen_joint"], ["temperature_38_or_more"], "emergency"),
    (["hot_swollen_joint"], [], "urgent"),
    (["fever_unwell"], ["unable_to_bear_weight"], "emergency"),
    # PainPath's own, more cautious than TRIAGE.md (methodology.md, Triage): a necrotising infection
    (["pain_severe_out_of_proportion"], ["fever_unwell"], "emergency"),
    (["joint_swelling"], ["recent_joint_surgery_or_injection"], "urgent"),
]

# TRIAGE.md section 2
CONDITION_LEVEL = {
    "cauda_equina": "emergency", "acute_compartment_syndrome": "emergency", "acute_limb_ischaemia": "emergency",
    "deep_vein_thrombosis": "urgent", "cellulitis": "urgent", "spinal_serious_pathology": "urgent",
    "lumbar_stenosis": "soon", "peripheral_arterial_disease": "soon", "tibial_stress_fracture": "soon",
    "chronic_exertional_compartment_syndrome": "soon", "peroneal_neuropathy": "soon", "peripheral_polyneuropathy": "soon",
    "bakers_cyst": "soon", "lumbar_radicular": "self_care", "lumbar_somatic_referred": "self_care",
    "calf_muscle_strain": "self_care", "achilles_tendinopathy": "self_care", "medial_tibial_stress_syndrome": "self_care",
    "foot_mechanics_overload": "self_care",
    # v2
    "hip_fracture": "emergency", "septic_arthritis": "emergency", "achilles_rupture": "urgent",
    "meralgia_paresthetica": "soon", "knee_internal_derangement": "soon", "gout": "soon",
    "superficial_thrombophlebitis": "soon", "hip_osteoarthritis": "self_care",
    "greater_trochanteric_pain_syndrome": "self_care", "hamstring_strain": "self_care", "knee_osteoarthritis": "self_care",
    "patellofemoral_pain": "self_care", "patellar_tendinopathy": "self_care", "plantar_heel_pain": "self_care",
    "ankle_sprain": "self_care", "chronic_venous_disease": "self_care", "nocturnal_leg_cramps": "self_care",
}


def spec_floor(present: set[str]) -> int:
    """Highest TRIAGE.md floor (rank) the present findings trigger, -1 if none."""
    best = -1
    for any_of, with_any, level in FLOORS:
        if present & set(any_of) and (not with_any or present & set(with_any)):
            best = max(best, RANK[level])
    return best


def ev_present(*keys: str, base: int = 0) -> np.ndarray:
    ev = np.full(len(CKB.findings), base, dtype=np.int8)
    for k in keys:
        ev[CKB.fidx[k]] = 1
    return ev


def run(ev: np.ndarray, age: int = 45, female: bool = False, setting: str = "self"):
    ev2 = np.atleast_2d(ev)
    n = ev2.shape[0]
    p = posterior(CKB, ev2, np.full(n, age), np.full(n, female), setting)
    return p, triage_arrays(CKB, ev2, p, np.full(n, age))


def floor_rank(*keys: str) -> int:
    return int(run(ev_present(*keys))[1].floor_rank[0])


def case(findings: dict[str, Any], age: int = 45, sex: str = "male") -> dict[str, Any]:
    return {"age": age, "sex": sex, "findings": findings}


# --- the policy as data ----------------------------------------------------------------------


def test_condition_levels_match_triage_md() -> None:
    assert dict(CKB.kb.triage.condition_levels) == CONDITION_LEVEL
    assert {c: int(r) for c, r in zip(CKB.conditions, CKB.base_rank[: len(CKB.conditions)], strict=True)} == {
        c: RANK[lv] for c, lv in CONDITION_LEVEL.items()
    }
    assert LEVEL_RANK == RANK


def test_no_findings_no_floor() -> None:
    assert floor_rank() == -1


# --- floors, one by one ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["leg_cold_pale", "leg_tense_swollen_after_injury", "chest_pain_breathless",
                                 "weakness_getting_worse"])
def test_single_finding_emergency_floors(key: str) -> None:
    assert floor_rank(key) == 3
    # and the final level is emergency whatever the rest of the answers say
    p, t = run(ev_present(key, base=-1))
    assert int(t.level_rank[0]) == 3


@pytest.mark.parametrize("key", ["fever_unwell", "redness_warmth", "pain_severe_out_of_proportion"])
def test_single_finding_urgent_floors(key: str) -> None:
    assert floor_rank(key) == 2
    p, t = run(ev_present(key, base=-1))
    assert int(t.level_rank[0]) >= 2


@pytest.mark.parametrize("ces", CES)
@pytest.mark.parametrize("loc", LOCATION)
def test_ces_floor_with_any_location(ces: str, loc: str) -> None:
    assert floor_rank(ces, loc) == 3


@pytest.mark.parametrize("ces", CES)
def test_ces_floor_needs_a_location_finding(ces: str) -> None:
    # without any back or leg pain stated present, no floor at all
    assert floor_rank(ces) == -1
    assert floor_rank(*CES) == -1
    # a location stated absent or unknown does not count
    ev = ev_present(ces)
    ev[CKB.fidx["low_back_pain"]] = -1
    ev[CKB.fidx["calf_pain"]] = 0
    assert int(run(ev)[1].floor_rank[0]) == -1


@pytest.mark.parametrize("risk", CLOT_RISK)
def test_swollen_calf_with_clot_risk(risk: str) -> None:
    assert floor_rank("calf_swelling_one_leg", risk) == 2


def test_swollen_calf_needs_a_clot_risk() -> None:
    assert floor_rank("calf_swelling_one_leg") == -1
    assert floor_rank(*CLOT_RISK) == -1
    # other risk-looking findings are not clot risks in TRIAGE.md
    assert floor_rank("calf_swelling_one_leg", "smoker", "history_of_cancer", "immunosuppressed_or_iv_drugs") == -1


def test_pain_out_of_proportion_with_fever_is_an_emergency() -> None:
    """PainPath's own floor, more cautious than TRIAGE.md (two urgent floors there): severe pain far worse than
    the injury explains with a fever is a necrotising soft-tissue infection until shown otherwise, which NICE
    NG141 sends to hospital (clinical-evidence-v2 section 4: "emergency by source, floors give only urgent")."""
    assert floor_rank("pain_severe_out_of_proportion", "fever_unwell") == 3
    assert floor_rank("pain_severe_out_of_proportion") == 2 and floor_rank("fever_unwell") == 2
    ids = {r.id for r in assess(case({"shin_pain": True, "redness_warmth": True, "fever_unwell": True,
                                      "pain_severe_out_of_proportion": True})).triage.reasons}
    assert "pain_out_of_proportion_with_fever" in ids


@pytest.mark.parametrize("flag", BACK_FLAGS)
def test_back_pain_with_serious_flag(flag: str) -> None:
    assert floor_rank("low_back_pain", flag) == 2


@pytest.mark.parametrize("flag", BACK_FLAGS)
def test_back_flag_without_back_pain(flag: str) -> None:
    assert floor_rank(flag) == -1
    # leg pain is not back pain
    assert floor_rank(flag, "calf_pain", "posterior_thigh_pain") == -1


def test_back_pain_alone_no_floor() -> None:
    assert floor_rank("low_back_pain") == -1


def test_highest_floor_wins() -> None:
    assert floor_rank("fever_unwell", "leg_cold_pale") == 3
    assert floor_rank("fever_unwell", "redness_warmth") == 2


def test_floors_fire_on_present_only() -> None:
    ev = ev_present()
    ev[CKB.fidx["leg_cold_pale"]] = 0  # unknown
    ev[CKB.fidx["fever_unwell"]] = -1  # absent
    assert int(run(ev)[1].floor_rank[0]) == -1


def test_floor_reasons_in_assessment() -> None:
    a = assess(case({"calf_pain": True, "pain_below_knee": True, "leg_cold_pale": True}))
    assert a.triage.level == "emergency"
    assert a.triage.floor_level == "emergency"
    assert any(r.kind == "floor" and r.level == "emergency" for r in a.triage.reasons)


# --- escalations -------------------------------------------------------------------------------


def effective(keys: list[str]) -> dict[str, str]:
    _p, t = run(ev_present(*keys))
    inv = {v: k for k, v in RANK.items()}
    return {c: inv[int(r)] for c, r in zip(CKB.conditions, t.effective_ranks[0][: len(CKB.conditions)], strict=True)}


@pytest.mark.parametrize("motor", ["leg_weakness", "foot_drop"])
def test_radicular_motor_loss_escalates_to_urgent(motor: str) -> None:
    assert effective([])["lumbar_radicular"] == "self_care"
    eff = effective([motor])
    assert eff["lumbar_radicular"] == "urgent"
    # a peroneal palsy stays soon; nothing else moves
    assert eff["peroneal_neuropathy"] == "soon"
    assert {c: lv for c, lv in eff.items() if c != "lumbar_radicular"} == {
        c: lv for c, lv in CONDITION_LEVEL.items() if c != "lumbar_radicular"
    }


def test_bakers_cyst_with_swollen_calf_escalates_to_urgent() -> None:
    eff = effective(["calf_swelling_one_leg"])
    assert eff["bakers_cyst"] == "urgent"
    assert eff["calf_muscle_strain"] == "self_care"  # a swollen calf from a strain stays self-care
    assert effective([])["bakers_cyst"] == "soon"


def test_self_care_over_six_weeks_becomes_soon() -> None:
    eff = effective(["symptoms_over_6_weeks"])
    for c, lv in CONDITION_LEVEL.items():
        expected = "soon" if lv == "self_care" else lv
        assert eff[c] == expected, c


def test_escalations_combine_to_the_highest() -> None:
    eff = effective(["symptoms_over_6_weeks", "leg_weakness"])
    assert eff["lumbar_radicular"] == "urgent"
    assert eff["lumbar_somatic_referred"] == "soon"


def _radicular() -> dict[str, Any]:
    # a clear sciatica presentation (compare benchmark dev-001): gold self_care
    return {
        "low_back_pain": True, "buttock_pain": True, "posterior_thigh_pain": True, "calf_pain": True,
        "pain_below_knee": True, "leg_pain_worse_than_back": True, "pain_follows_band": True,
        "pain_shooting_electric": True, "tingling_pins_needles": True, "onset_after_lifting_bending": True,
        "worse_sitting_bending": True, "worse_cough_sneeze_strain": True, "worse_back_movement": True,
    }


def test_radicular_case_levels_end_to_end() -> None:
    base = assess(case(_radicular(), age=38))
    assert base.top.key == "lumbar_radicular"
    assert base.triage.level == "self_care"
    weak = assess(case({**_radicular(), "leg_weakness": True}, age=38))
    assert weak.top.key == "lumbar_radicular"
    assert weak.triage.floor_level is None
    assert weak.triage.level == "urgent"
    drop = assess(case({**_radicular(), "leg_weakness": True, "foot_drop": True}, age=38))
    assert drop.triage.level == "urgent"
    assert any(r.kind == "escalation" and r.id == "radicular_motor_loss" for r in drop.triage.reasons)
    chronic = assess(case({**_radicular(), "symptoms_over_6_weeks": True}, age=38))
    assert chronic.top.key == "lumbar_radicular"
    assert chronic.triage.level == "soon"


def test_peroneal_foot_drop_stays_soon() -> None:
    # a peroneal palsy (compare benchmark dev-023): leg-only, numb outer shin, pressure at the knee
    findings = {
        "pain_below_knee": True, "leg_pain_worse_than_back": True, "pain_dull_ache": True,
        "tingling_pins_needles": True, "numbness_leg_or_foot": True, "numbness_outer_shin_top_foot": True,
        "leg_weakness": True, "foot_drop": True, "onset_gradual": True, "pressure_outer_knee": True,
        "tinel_fibular_head": True,
    }
    for mode in ("self", "clinician"):
        a = assess(case(findings), mode=mode)  # type: ignore[arg-type]
        assert a.top.key == "peroneal_neuropathy", mode
        by = {c.key: c for c in a.conditions}
        assert by["lumbar_radicular"].level == "urgent"  # escalated, but unlikely
        assert by["peroneal_neuropathy"].level == "soon"
        assert a.triage.floor_level is None
        assert a.triage.level == "soon", mode


def test_bakers_cyst_rupture_is_urgent() -> None:
    # compare benchmark dev-022
    findings = {
        "knee_back_pain": True, "lump_behind_knee": True, "calf_pain": True, "pain_below_knee": True,
        "leg_pain_worse_than_back": True, "pain_cramping_tightness": True, "calf_swelling_one_leg": True,
        "onset_sudden_during_activity": True, "knee_arthritis_or_injury": True,
    }
    a = assess(case(findings, age=59))
    assert a.triage.floor_level is None  # no clot risk stated
    assert {c.key: c.level for c in a.conditions}["bakers_cyst"] == "urgent"
    assert a.triage.level == "urgent"
    unswollen = assess(case({**findings, "calf_swelling_one_leg": False}, age=59))
    assert {c.key: c.level for c in unswollen.conditions}["bakers_cyst"] == "soon"


# --- properties over random answers ----------------------------------------------------------

F = len(CKB.findings)
SIGN = CKB.is_sign


@st.composite
def random_cases(draw: st.DrawFn) -> tuple[np.ndarray, int, bool, str]:
    # a biased draw: mostly unknown/absent with some present, like real answers
    values = draw(st.lists(st.sampled_from([-1, -1, 0, 0, 0, 1]), min_size=F, max_size=F))
    ev = np.array(values, dtype=np.int8)
    age = draw(st.integers(0, 120))
    female = draw(st.booleans())
    mode = draw(st.sampled_from(["self", "clinician"]))
    if mode == "self":
        ev[SIGN] = 0
    return ev, age, female, mode


PROP = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _setting(mode: str) -> str:
    return "self" if mode == "self" else "clinic"


@PROP
@given(random_cases())
def test_final_level_never_below_the_highest_floor(c: tuple[np.ndarray, int, bool, str]) -> None:
    ev, age, female, mode = c
    p, t = run(ev, age, female, _setting(mode))
    present = {k for k, v in zip(CKB.findings, ev, strict=True) if v > 0}
    expected_floor = spec_floor(present)
    assert int(t.floor_rank[0]) == expected_floor
    assert int(t.level_rank[0]) >= expected_floor
    assert int(t.level_rank[0]) == max(int(t.floor_rank[0]), int(t.condition_rank[0]))


@PROP
@given(random_cases(), st.integers(0, F - 1))
def test_adding_a_present_finding_never_lowers_the_floor(c: tuple[np.ndarray, int, bool, str], j: int) -> None:
    ev, age, female, mode = c
    more = ev.copy()
    more[j] = 1
    _p, t0 = run(ev, age, female, _setting(mode))
    _p, t1 = run(more, age, female, _setting(mode))
    assert int(t1.floor_rank[0]) >= int(t0.floor_rank[0])
    assert bool(np.all(t1.floors_fired[0] >= t0.floors_fired[0]))  # no fired floor switches off
    # escalations are monotone too: no condition's own level drops
    assert bool(np.all(t1.effective_ranks[0] >= t0.effective_ranks[0]))


@PROP
@given(random_cases())
def test_posteriors_are_probabilities(c: tuple[np.ndarray, int, bool, str]) -> None:
    ev, age, female, mode = c
    p, _t = run(ev, age, female, _setting(mode))
    assert p.shape == (1, len(CKB.candidates))  # the conditions and "other"
    assert np.all(np.isfinite(p))
    assert np.all(p >= 0.0) and np.all(p <= 1.0)
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-9)


def _as_case(ev: np.ndarray, age: int, female: bool) -> dict[str, Any]:
    # every finding stated explicitly, so the answer rules leave the vector unchanged
    findings = {k: (None if v == 0 else bool(v > 0)) for k, v in zip(CKB.findings, ev, strict=True)}
    return {"age": age, "sex": "female" if female else "male", "findings": findings}


# The batch entry points (assess_arrays, assess_many) compute in float32 (engine/fast.py), the
# one-case path (assess, posterior) in float64: the same case must agree to float32 rounding
# (probabilities within 2e-5) and get the same triage level.
BATCH_ATOL = 2e-5


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(random_cases(), min_size=1, max_size=6), st.sampled_from(["self", "clinician"]))
def test_batch_equals_per_case(cs: list[tuple[np.ndarray, int, bool, str]], mode: str) -> None:
    cases = [_as_case(ev, age, female) for ev, age, female, _m in cs]
    batch = assess_many(cases, mode=mode)  # type: ignore[arg-type]
    assert batch.probabilities.shape == (len(cases), len(CKB.conditions))
    assert batch.conditions == list(CKB.conditions)
    for i, cs_i in enumerate(cases):
        one = assess(cs_i, mode=mode)  # type: ignore[arg-type]
        probs = {c.key: c.probability for c in one.conditions}
        assert_allclose(batch.probabilities[i], [probs[k] for k in CKB.conditions], rtol=0, atol=BATCH_ATOL)
        assert batch.triage_levels[i] == one.triage.level
        assert_allclose(batch.origin[i], [one.origin[o] for o in CKB.origin_names], rtol=0, atol=BATCH_ATOL)
    # and the array entry point agrees with the encoded batch
    ev = np.stack([encode(parse_case(c, CKB), CKB, mode) for c in cases])  # type: ignore[arg-type]
    age = np.array([c["age"] for c in cases])
    female = np.array([c["sex"] == "female" for c in cases])
    post, ranks = assess_arrays(ev, age, female, setting=_setting(mode))
    C = len(CKB.conditions)
    assert_allclose(post[:, :C], batch.probabilities, rtol=1e-9, atol=1e-15)  # same batch, same path
    assert_allclose(post[:, C], batch.other, rtol=1e-9, atol=1e-15)
    assert [RANK_INV[int(r)] for r in ranks] == batch.triage_levels


RANK_INV = {v: k for k, v in RANK.items()}


@pytest.mark.parametrize("mode", ["self", "clinician"])
def test_large_batch_equals_per_case(mode: str) -> None:
    # many rows (large batches may take a different code path from small ones)
    rng = np.random.default_rng(20240601)
    n = 300
    ev = rng.choice(np.array([-1, -1, 0, 0, 0, 1], dtype=np.int8), size=(n, F))
    if mode == "self":
        ev[:, SIGN] = 0
    age = rng.integers(0, 121, size=n)
    female = rng.random(n) < 0.5
    setting = _setting(mode)
    w_batch = evidence_weights(CKB, ev)
    post, ranks = assess_arrays(ev, age, female, setting=setting)
    for i in range(n):
        w_one = evidence_weights(CKB, ev[i : i + 1])
        assert_allclose(w_batch[i], w_one[0], rtol=1e-12, atol=0)
        p_one, t_one = run(ev[i], int(age[i]), bool(female[i]), setting)
        assert_allclose(post[i], p_one[0], rtol=0, atol=BATCH_ATOL)
        assert int(ranks[i]) == int(t_one.level_rank[0])


def test_posterior_does_not_depend_on_batch_composition() -> None:
    ev = np.full(F, -1, dtype=np.int8)
    ev[SIGN] = 0
    one = posterior(CKB, ev[None, :], np.array([0]), np.array([False]), "self")[0]
    two = posterior(CKB, np.stack([ev, ev]), np.array([0, 0]), np.array([False, False]), "self")
    assert_allclose(two[0], one, rtol=1e-9)


def test_assessment_lists_every_condition_most_probable_first() -> None:
    a = assess(case(_radicular(), age=38))
    keys = [c.key for c in a.conditions]
    assert sorted(keys) == sorted(CKB.conditions)
    probs = [c.probability for c in a.conditions]
    assert probs == sorted(probs, reverse=True)
    assert sum(probs) == pytest.approx(1.0)
    assert sum(a.origin.values()) == pytest.approx(1.0)
    assert a.origin["back"] == pytest.approx(sum(c.probability for c in a.conditions if c.origin == "back"))


def test_unknown_setting_is_a_painpath_error() -> None:
    from painpath.errors import PainPathError

    with pytest.raises(PainPathError, match="hospital"):
        assess(case({"calf_pain": True}), setting="hospital")
    ev = ev_present("calf_pain")[None, :]
    with pytest.raises(PainPathError, match="hospital"):
        assess_arrays(ev, np.array([40]), np.array([False]), setting="hospital")
    # the known settings work and differ
    a = assess(case({"calf_pain": True}), setting="self")
    b = assess(case({"calf_pain": True}), setting="clinic")
    assert a.setting == "self" and b.setting == "clinic"
    assert [c.probability for c in a.conditions] != [c.probability for c in b.conditions]


# --- PainPath's added caution: the Ottawa bone-tenderness sign unknown (triage.yaml) ---------------


def _sprain(**extra: Any) -> dict[str, Any]:
    # an inversion sprain (compare benchmark dev-055 / dev-056), walking on it
    return {
        "ankle_pain": True, "pain_below_knee": True, "leg_pain_worse_than_back": True, "onset_twisting_injury": True,
        "joint_swelling": True, "bruising": True, "unable_to_bear_weight": False, **extra,
    }


def test_unexamined_sprain_after_a_fall_is_urgent_in_self_mode() -> None:
    a = assess(case(_sprain(onset_after_trauma=True), age=40), mode="self")
    assert a.top.key == "ankle_sprain"
    assert a.triage.floor_level is None
    assert a.triage.level == "urgent"
    assert any(r.kind == "escalation" and r.id == "ankle_sprain_ottawa_not_examined" for r in a.triage.reasons)


def test_twisting_sprain_without_a_fall_stays_self_care() -> None:
    # not every sprain: a twist while walking, bearing weight, no fall or blow
    a = assess(case(_sprain(onset_after_trauma=False), age=19), mode="self")
    assert a.top.key == "ankle_sprain"
    assert a.triage.level == "self_care"


@pytest.mark.parametrize(("tender", "level"), [(False, "self_care"), (True, "urgent")])
def test_examined_sprain_follows_the_ottawa_sign(tender: bool, level: str) -> None:
    # a clinician who examined the bones decides: the unknown-sign rule no longer applies
    a = assess(case(_sprain(onset_after_trauma=True, ottawa_ankle_bone_tenderness=tender,
                            ankle_ligament_tenderness=True), age=40), mode="clinician")
    assert a.triage.level == level
    assert not any(r.id == "ankle_sprain_ottawa_not_examined" for r in a.triage.reasons)


def test_while_unknown_escalation_needs_the_sign_unknown() -> None:
    # generic engine behaviour: the same evidence with the sign answered "don't know" (0) fires, absent (-1) does not
    j = [e.id for e in CKB.kb.triage.escalations].index("ankle_sprain_ottawa_not_examined")
    ev = np.zeros((2, len(CKB.findings)))
    ev[:, CKB.fidx["onset_after_trauma"]] = 1
    ev[1, CKB.fidx["ottawa_ankle_bone_tenderness"]] = -1
    post = np.zeros((2, len(CKB.candidates)))
    post[:, CKB.cidx["ankle_sprain"]] = 1.0
    tri = triage_arrays(CKB, ev, post, np.array([40, 40]))
    assert tri.escalations_fired[:, j].tolist() == [True, False]
    assert tri.level_rank.tolist() == [LEVEL_RANK["urgent"], LEVEL_RANK["self_care"]]
