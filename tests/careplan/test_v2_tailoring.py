"""Benchmark v2 care: tailoring by findings, shared advice for close conditions, the three seed stretches."""

from __future__ import annotations

import pytest

from painpath.careplan import build_care_plan, load_care_content

CONTENT = load_care_content()


def _ids(items) -> set[str]:  # type: ignore[no-untyped-def]
    return {i.id for i in items}


@pytest.mark.parametrize(
    ("condition", "finding", "exercise", "self_care", "treatment"),
    [
        ("knee_osteoarthritis", "overweight", None, "weight_management_oa", "oa_weight_loss"),
        ("hip_osteoarthritis", "overweight", None, "weight_management_oa", "oa_weight_loss"),
        ("patellar_tendinopathy", "runner_or_jumping_sport", "graded_return_to_run", "activity_modification_load", None),
        ("hamstring_strain", "runner_or_jumping_sport", "graded_return_to_run", None, "nordic_hamstring_prevention"),
        ("plantar_heel_pain", "works_standing_hard_floor", "ankle_pumps_venous", "standing_ergonomics", None),
        ("plantar_heel_pain", "flat_feet", "foot_intrinsic_short_foot", "footwear_orthotics", "foot_orthoses_leg"),
        ("superficial_thrombophlebitis", "varicose_veins", None, "leg_elevation_venous", "venous_intervention"),
        ("ankle_sprain", "recurrent_episodes", "balance_single_leg", None, "ankle_brace"),
        ("gout", "previous_gout", None, None, "urate_lowering"),
        ("meralgia_paresthetica", "waist_compression", None, "loosen_belts", "meralgia_loosen_pressure"),
    ],
)
def test_findings_tailor_the_v2_plans(condition, finding, exercise, self_care, treatment) -> None:  # type: ignore[no-untyped-def]
    level = CONTENT.conditions[condition].base_level
    plain = build_care_plan([(condition, 0.9)], level, {finding: False})
    tailored = build_care_plan([(condition, 0.9)], level, {finding: True})
    assert any(finding in note.findings for note in tailored.tailoring)
    assert not any(finding in note.findings for note in plain.tailoring)
    for wanted, field in ((exercise, "exercises"), (self_care, "self_care")):
        if wanted:
            assert wanted in _ids(getattr(tailored, field))
            if wanted not in _ids(getattr(plain, field)):
                assert any(wanted in n.items for n in tailored.tailoring)
    if treatment:
        assert treatment in _ids(tailored.treatments)


def test_tailoring_never_reaches_an_urgent_v2_plan() -> None:
    plan = build_care_plan([("ankle_sprain", 0.9)], "urgent", {"recurrent_episodes": True, "runner_or_jumping_sport": True})
    assert not plan.tailoring and not plan.exercises


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("knee_osteoarthritis", "patellofemoral_pain", {"knee_extension_seated", "quadriceps_stretch_standing"}),
        ("hip_osteoarthritis", "greater_trochanteric_pain_syndrome", {"sit_to_stand"}),
        ("plantar_heel_pain", "achilles_tendinopathy", {"calf_stretch_wall"}),
        ("ankle_sprain", "achilles_tendinopathy", {"calf_raise_progressive", "calf_stretch_wall"}),
    ],
)
def test_close_v2_conditions_share_their_common_advice(first: str, second: str, shared: set[str]) -> None:
    plan = build_care_plan([(first, 0.5), (second, 0.42)], "self_care", {})
    assert plan.shared_advice is not None and plan.shared_advice.conditions == [first, second]
    assert shared <= set(plan.shared_advice.exercises)
    assert "suit both" in plan.shared_advice.note


def test_a_close_dangerous_v2_condition_brings_its_warning_signs() -> None:
    plan = build_care_plan([("patellar_tendinopathy", 0.5), ("knee_internal_derangement", 0.45)], "self_care", {},
                           region="US")
    assert plan.shared_advice is not None
    assert "soon care" in plan.shared_advice.note
    assert any("locks and will not straighten" in i.text for i in plan.shared_advice.safety_net)


SEED_STRETCHES = ("calf_stretch_wall", "hip_flexor_stretch_kneeling", "quadriceps_stretch_standing")


@pytest.mark.parametrize("item_id", SEED_STRETCHES)
def test_the_three_seed_stretches_have_an_evidence_based_hold(item_id: str) -> None:
    item = CONTENT.library[item_id]
    assert item.kind == "exercise" and item.category == "stretch"
    assert item.dose is not None and item.dose.hold_seconds == 30  # not the seed article's 10 seconds
    assert (item.dose.reps or item.dose.sets or 0) >= 3
    assert "bandy1997_stretch" in item.dose.sources
    assert CONTENT.sources["bandy1997_stretch"].checked
    assert len(item.steps) >= 3 and item.progression and item.stop_rules and item.purpose


def test_the_seed_stretches_reach_plans() -> None:
    used = {x for cond in CONTENT.conditions.values() for block in cond.levels.values() for x in block.exercises}
    assert set(SEED_STRETCHES) <= used


@pytest.mark.parametrize(
    ("item_id", "source"),
    [
        ("sit_to_stand", "nice_ng226"),
        ("hamstring_extender", "askling2013_hamstring"),
        ("nordic_hamstring", "vanderhorst2015_nordic"),
        ("mini_squat_wall", "crossley2016_pfp"),
        ("heavy_slow_leg_press", "kongsgaard2009_hsr"),
        ("plantar_fascia_stretch", "digiovanni2003_plantar"),
        ("plantar_heel_raise_towel", "rathleff2015_plantar"),
        ("ankle_balance_programme", "hupperets2009_ankle"),
        ("gluteal_isometric_abduction", "mellor2018_leap"),
    ],
)
def test_v2_exercises_have_purpose_steps_dose_progression_stop_rules_and_sources(item_id: str, source: str) -> None:
    item = CONTENT.library[item_id]
    assert item.kind == "exercise" and item.purpose and item.steps and item.progression and item.stop_rules
    assert item.dose is not None and (item.dose.sources or item.dose.estimate)
    assert source in item.sources + item.dose.sources
