"""build_care_plan: level handling, no exercises when acute, seed cases, tailoring, closeness."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from painpath.careplan import build_care_plan, load_care_content, score_startback
from painpath.careplan.checks import required_levels
from painpath.services import care_plan

CONTENT = load_care_content()
ALL_CONDITIONS = sorted(CONTENT.condition_levels)
ACUTE_CASES = [
    (c, lvl)
    for c in ALL_CONDITIONS
    for lvl in required_levels(CONTENT.condition_levels[c])
    if lvl in ("emergency", "urgent")
]

# dev-013-like: runner's calf strain after a quick rise in mileage
RUNNER_CALF = {
    "calf_pain": True,
    "pain_localised_point": True,
    "onset_sudden_during_activity": True,
    "recent_training_increase": True,
    "runner_or_jumping_sport": True,
    "worse_running_jumping": True,
    "pain_rising_on_toes": True,
    "calf_swelling_one_leg": True,
    "recent_immobility_surgery_travel": False,
    "previous_dvt": False,
    "low_back_pain": False,
}
# dev-020-like: flat-footed factory worker
FACTORY_FEET = {
    "calf_pain": True,
    "foot_pain": True,
    "pain_both_legs": True,
    "pain_dull_ache": True,
    "worse_prolonged_standing": True,
    "flat_feet": True,
    "works_standing_hard_floor": True,
    "poor_footwear": True,
    "diabetes": False,
    "symptoms_over_6_weeks": False,
}
# dev-001-like: acute sciatica after lifting
SCIATICA = {
    "low_back_pain": True,
    "pain_below_knee": True,
    "leg_pain_worse_than_back": True,
    "pain_follows_band": True,
    "pain_shooting_electric": True,
    "tingling_pins_needles": True,
    "onset_after_lifting_bending": True,
    "worse_cough_sneeze_strain": True,
    "leg_weakness": False,
    "bladder_problem_new": False,
    "saddle_numbness": False,
}


def _ids(items):
    return [i.id for i in items]


def _text(plan) -> str:
    return json.dumps(plan.model_dump(mode="json")).lower()


@pytest.mark.parametrize(("condition", "level"), ACUTE_CASES)
def test_emergency_and_urgent_plans_carry_no_exercises_self_care_or_treatments(condition, level):
    plan = build_care_plan(
        [(condition, 0.9)], level, {"calf_swelling_one_leg": True, "runner_or_jumping_sport": True}
    )
    assert plan.level == level
    assert plan.exercises == [] and plan.self_care == [] and plan.treatments == [] and plan.tailoring == []
    assert plan.headline and plan.why.text and plan.safety_net


@pytest.mark.parametrize("condition", ALL_CONDITIONS)
def test_every_condition_builds_a_json_serialisable_plan_at_every_level(condition):
    for level in required_levels(CONTENT.condition_levels[condition]):
        plan = build_care_plan([(condition, 0.8)], level, {})
        json.dumps(plan.model_dump(mode="json"))
        assert {s.id for s in plan.sources_used} <= set(CONTENT.sources)
        assert plan.sources_used


def test_runner_calf_strain_gets_rest_ice_less_mileage_stretch_strength_and_return_to_run():
    plan = build_care_plan(
        [("calf_muscle_strain", 0.7), ("deep_vein_thrombosis", 0.1)], "self_care", RUNNER_CALF
    )
    self_care, exercises = _ids(plan.self_care), _ids(plan.exercises)
    assert "relative_rest" in self_care
    assert "ice_or_heat" in self_care
    assert "activity_modification_load" in self_care  # reduced mileage
    assert "reduced mileage" in _text(plan)
    assert "calf_stretch_wall" in exercises
    assert {"calf_strain_early_loading", "calf_raise_progressive"} <= set(exercises)
    assert "graded_return_to_run" in exercises
    rules = {n.rule: n.findings for n in plan.tailoring}
    assert set(rules["runner_load"]) == {"runner_or_jumping_sport", "recent_training_increase"}
    assert plan.shared_advice is None


def test_flat_footed_standing_worker_gets_footwear_strength_and_standing_ergonomics_with_grades():
    plan = build_care_plan([("foot_mechanics_overload", 0.6)], "self_care", FACTORY_FEET)
    self_care = {i.id: i for i in plan.self_care}
    exercises = {i.id: i for i in plan.exercises}
    treatments = {t.id: t for t in plan.treatments}
    assert "footwear_orthotics" in self_care and "standing_ergonomics" in self_care
    assert {"foot_intrinsic_short_foot", "calf_raise_progressive"} <= set(exercises)
    assert {"foot_orthoses_leg", "supportive_footwear"} <= set(treatments)
    for item in [
        self_care["footwear_orthotics"],
        self_care["standing_ergonomics"],
        exercises["foot_intrinsic_short_foot"],
    ]:
        assert item.grade in ("recommended", "may_help", "limited_evidence", "not_recommended")
        assert item.grade_note
    triggered = {n.rule: set(n.findings) for n in plan.tailoring}
    assert triggered["flat_feet_footwear"] == {"flat_feet", "poor_footwear"}
    assert triggered["standing_work"] == {"works_standing_hard_floor"}


def test_self_care_sciatica_gets_no_routine_imaging_manual_therapy_package_strength_sliders_keep_active():
    plan = build_care_plan([("lumbar_radicular", 0.8)], "self_care", SCIATICA)
    treatments = {t.id: t for t in plan.treatments}
    assert treatments["routine_imaging_back"].grade == "not_recommended"
    assert treatments["manual_therapy_package"].grade == "may_help"
    assert "exercise" in treatments["manual_therapy_package"].name.lower()
    assert any("no imaging" in s.text.lower() for s in plan.clinician_next_steps)
    assert {"core_back_strength", "nerve_slider_sciatic"} <= set(_ids(plan.exercises))
    assert "keep_active_back" in _ids(plan.self_care)
    assert treatments["traction_decompression_machines"].grade == "not_recommended"
    assert "nerve_pain" in {n.rule for n in plan.tailoring}


def test_startback_stratum_changes_the_back_plan():
    base = {f"item{i}": False for i in range(1, 9)}
    high = score_startback({**base, "item1": True, "item5": True, "item6": True, "item7": True, "item9": 5})
    plan = build_care_plan([("lumbar_radicular", 0.8)], "self_care", SCIATICA, startback=high)
    assert plan.startback is not None and plan.startback.stratum == "high"
    assert "psychologically informed" in plan.clinician_next_steps[0].text
    assert any(item.text == high.advice for item in plan.do_now)
    low = score_startback({**base, "item9": 1})
    plan_low = build_care_plan([("lumbar_radicular", 0.8)], "self_care", SCIATICA, startback=low)
    assert "low risk" in plan_low.clinician_next_steps[0].text


def test_startback_is_ignored_for_leg_conditions():
    low = score_startback({**{f"item{i}": False for i in range(1, 9)}, "item9": 1})
    plan = build_care_plan([("calf_muscle_strain", 0.8)], "self_care", RUNNER_CALF, startback=low)
    assert plan.startback is None
    assert any("back-related pain only" in n for n in plan.notes)


def test_close_second_condition_adds_shared_advice_and_its_safety_net():
    plan = build_care_plan(
        [("foot_mechanics_overload", 0.45), ("medial_tibial_stress_syndrome", 0.35)], "self_care", {}
    )
    assert plan.shared_advice is not None
    assert plan.shared_advice.conditions == ["foot_mechanics_overload", "medial_tibial_stress_syndrome"]
    assert "calf_raise_progressive" in plan.shared_advice.exercises
    assert any(item.condition == "medial_tibial_stress_syndrome" for item in plan.safety_net)
    assert [c.key for c in plan.conditions] == ["foot_mechanics_overload", "medial_tibial_stress_syndrome"]


def test_second_condition_beyond_margin_is_not_shared():
    plan = build_care_plan(
        [("foot_mechanics_overload", 0.60), ("medial_tibial_stress_syndrome", 0.44)], "self_care", {}
    )
    assert plan.shared_advice is None and len(plan.conditions) == 1


def test_close_dangerous_second_condition_brings_its_warning_signs():
    plan = build_care_plan(
        [("calf_muscle_strain", 0.5), ("deep_vein_thrombosis", 0.4)], "self_care", RUNNER_CALF, region="GB"
    )
    assert plan.shared_advice is not None
    assert "urgent" in plan.shared_advice.note
    assert any("999" in item.text and item.condition == "deep_vein_thrombosis" for item in plan.safety_net)


def test_level_below_condition_base_is_raised_with_a_note():
    # the raise is decided by services.final_level; the plan is built at the level it is given
    plan = care_plan([("deep_vein_thrombosis", 0.7)], "self_care", {})
    assert plan.level == "urgent" and plan.exercises == []
    assert any("raised" in n for n in plan.notes)
    assert build_care_plan([("deep_vein_thrombosis", 0.7)], "self_care", {}, level="urgent") == plan


def test_the_plan_does_not_decide_its_level_it_refuses_one_below_the_condition_or_the_triage():
    with pytest.raises(ValueError, match=r"^level: deep_vein_thrombosis has no care below urgent, got self_care; "
                                         r"decide the plan's level with painpath.services.final_level"):
        build_care_plan([("deep_vein_thrombosis", 0.7)], "self_care", {})
    with pytest.raises(ValueError, match=r"^level: soon is below the triage level urgent"):
        build_care_plan([("lumbar_radicular", 0.7)], "urgent", {}, level="soon")
    with pytest.raises(ValueError, match=r"^level: nothing raises the plan from self_care to urgent"):
        build_care_plan([("lumbar_radicular", 0.7)], "self_care", {}, level="urgent")  # no reason given for it
    with pytest.raises(ValueError, match=r"^level: the follow-up calls for at least urgent, got soon"):
        build_care_plan([("lumbar_radicular", 0.7)], "self_care", {}, level="soon", followup_level="urgent")
    plan = build_care_plan([("lumbar_radicular", 0.7)], "self_care", {}, level="urgent", followup_level="urgent")
    assert plan.level == "urgent" and plan.exercises == []
    assert [m.id for m in plan.note_messages if m.id.startswith("plan.note.level")] == ["plan.note.level_raised_followup"]


def test_warning_floor_plan_lists_triage_reasons_and_triggered_clinician_steps():
    findings = {**SCIATICA, "saddle_numbness": True}
    plan = build_care_plan(
        [("lumbar_radicular", 0.8)], "emergency", findings, triage_reasons=["saddle numbness"]
    )
    assert plan.triage_reasons == ["saddle numbness"]
    texts = [s.text for s in plan.clinician_next_steps]
    assert any("Emergency MRI" in t for t in texts)
    assert not any("No imaging" in t for t in texts)


def test_unknown_conditions_are_skipped_and_unknown_level_raises():
    plan = build_care_plan([("piriformis_syndrome", 0.9), ("lumbar_somatic_referred", 0.5)], "self_care", {})
    assert plan.conditions[0].key == "lumbar_somatic_referred"
    assert any("piriformis_syndrome" in n for n in plan.notes)
    with pytest.raises(ValueError):
        build_care_plan([("lumbar_somatic_referred", 0.5)], "whenever", {})
    with pytest.raises(ValueError):
        build_care_plan([], "self_care", {})


def test_only_unknown_keys_fall_back_to_the_plan_for_an_unexplained_pattern():
    plan = build_care_plan([("piriformis_syndrome", 0.9)], "self_care", {})
    assert plan.conditions[0].key == "other"
    assert plan.level == "self_care"  # the plan keeps the engine's level (the engine raises "other" when persistent)
    assert any("{primary_care}" not in s.text and "2 weeks" in s.text or "two weeks" in s.text for s in plan.safety_net)
    assert any("piriformis_syndrome" in n for n in plan.notes)


FINDINGS = sorted(CONTENT.finding_keys)


@settings(max_examples=60, deadline=None)
@given(
    condition=st.sampled_from(ALL_CONDITIONS),
    level=st.sampled_from(["self_care", "soon", "urgent", "emergency"]),
    findings=st.dictionaries(st.sampled_from(FINDINGS), st.one_of(st.none(), st.booleans()), max_size=15),
)
def test_any_plan_is_never_below_the_triage_level_and_acute_plans_have_no_exercise(
    condition, level, findings
):
    plan = care_plan([(condition, 0.6)], level, findings)
    order = ["self_care", "soon", "urgent", "emergency"]
    assert order.index(plan.level) >= order.index(level)
    if plan.level in ("urgent", "emergency"):
        assert plan.exercises == [] and plan.self_care == [] and plan.treatments == []
    for note in plan.tailoring:
        assert all(findings.get(f) is True for f in note.findings)
