"""The shipped care content is complete, and broken content is reported with file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from painpath.careplan import CareContentError, check_care_content, load_care_content
from painpath.careplan.checks import required_levels
from painpath.services import care_plan

BENCHMARK_CONDITIONS = {
    "lumbar_radicular": "self_care",
    "lumbar_stenosis": "soon",
    "lumbar_somatic_referred": "self_care",
    "cauda_equina": "emergency",
    "spinal_serious_pathology": "urgent",
    "calf_muscle_strain": "self_care",
    "achilles_tendinopathy": "self_care",
    "medial_tibial_stress_syndrome": "self_care",
    "tibial_stress_fracture": "soon",
    "chronic_exertional_compartment_syndrome": "soon",
    "acute_compartment_syndrome": "emergency",
    "foot_mechanics_overload": "self_care",
    "bakers_cyst": "soon",
    "peroneal_neuropathy": "soon",
    "peripheral_polyneuropathy": "soon",
    "deep_vein_thrombosis": "urgent",
    "peripheral_arterial_disease": "soon",
    "acute_limb_ischaemia": "emergency",
    "cellulitis": "urgent",
    # benchmark v2 (TRIAGE.md section 2)
    "hip_osteoarthritis": "self_care",
    "greater_trochanteric_pain_syndrome": "self_care",
    "hip_fracture": "emergency",
    "hamstring_strain": "self_care",
    "meralgia_paresthetica": "soon",
    "achilles_rupture": "urgent",
    "knee_osteoarthritis": "self_care",
    "patellofemoral_pain": "self_care",
    "patellar_tendinopathy": "self_care",
    "knee_internal_derangement": "soon",
    "ankle_sprain": "self_care",
    "plantar_heel_pain": "self_care",
    "septic_arthritis": "emergency",
    "gout": "soon",
    "superficial_thrombophlebitis": "soon",
    "chronic_venous_disease": "self_care",
    "nocturnal_leg_cramps": "self_care",
}


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_shipped_content_passes_every_check():
    assert check_care_content() == []


def test_vocab_holds_the_36_benchmark_conditions_with_their_base_levels():
    assert len(BENCHMARK_CONDITIONS) == 36
    assert dict(load_care_content().condition_levels) == BENCHMARK_CONDITIONS


@pytest.mark.parametrize("condition", [*sorted(BENCHMARK_CONDITIONS), "other"])
def test_every_condition_has_content_for_every_level_it_can_take(condition):
    content = load_care_content()
    base = BENCHMARK_CONDITIONS.get(condition, content.other_level)
    levels = content.conditions[condition].levels
    assert set(required_levels(base)) <= set(levels)


@pytest.mark.parametrize("condition", [*sorted(BENCHMARK_CONDITIONS), "other"])
def test_no_exercise_self_care_or_treatment_at_emergency_or_urgent(condition):
    levels = load_care_content().conditions[condition].levels
    for level in ("emergency", "urgent"):
        if level in levels:
            block = levels[level]
            assert not (block.exercises or block.self_care or block.treatments), (condition, level)


@pytest.mark.parametrize("condition", [*sorted(BENCHMARK_CONDITIONS), "other"])
@pytest.mark.parametrize("level", ["emergency", "urgent"])
def test_assembled_acute_plans_carry_no_exercise_for_any_condition(condition, level):
    # every finding a tailoring rule could react to is True: still nothing may be added
    everything = {f: True for f in load_care_content().finding_keys}
    plan = care_plan([(condition, 0.9)], level, everything)  # at the level services.final_level decides
    assert plan.level in ("emergency", "urgent")
    assert not plan.exercises and not plan.self_care and not plan.treatments and not plan.tailoring


def test_other_has_content_from_the_engines_own_level_up():
    from painpath.kb import default_kb

    content = load_care_content()
    engine_level = default_kb().model.other.level  # the plan never starts above the level the engine can give
    assert content.other_level == engine_level == "self_care"
    assert set(content.conditions["other"].levels) == {"self_care", "soon", "urgent", "emergency"}


def test_hard_coded_country_services_are_reported(data_copy):
    def change(d):
        d["conditions"]["gout"]["levels"]["soon"]["do_now"][0]["text"] = "Ring NHS 111 or see your GP."

    _edit(data_copy / "content.yaml", change)
    problems = check_care_content(data_copy)
    assert any(p.startswith("content.yaml: gout.levels.soon.do_now[0].text: names a country's service") for p in problems)


def test_unknown_placeholder_is_reported(data_copy):
    def change(d):
        d["items"]["sit_to_stand"]["steps"][0] = "Call {ambulance_number} if you fall."

    _edit(data_copy / "exercises.yaml", change)
    assert "exercises.yaml: sit_to_stand.steps[0]: unknown placeholder {ambulance_number}" in check_care_content(data_copy)


def test_required_levels_are_base_and_everything_more_urgent():
    assert required_levels("self_care") == ["self_care", "soon", "urgent", "emergency"]
    assert required_levels("urgent") == ["urgent", "emergency"]


def test_every_library_item_and_treatment_cites_a_known_source():
    content = load_care_content()
    for item in [*content.library.values(), *content.treatments.values(), *content.next_steps.values()]:
        assert item.sources and all(s in content.sources for s in item.sources), item.id


def test_every_exercise_dose_is_backed_by_a_source_or_estimate():
    for item in load_care_content().library.values():
        if item.dose is not None:
            assert item.dose.sources or item.dose.estimate, item.id


def test_missing_source_raises_with_file_and_key(data_copy):
    _edit(data_copy / "exercises.yaml", lambda d: d["items"]["calf_stretch_wall"].update(sources=[]))
    with pytest.raises(CareContentError, match=r"exercises\.yaml: calf_stretch_wall\.sources"):
        load_care_content(data_copy)
    problems = check_care_content(data_copy)
    assert any(p.startswith("exercises.yaml: calf_stretch_wall.sources") for p in problems)


def test_unknown_source_id_is_reported_with_file_and_key(data_copy):
    _edit(
        data_copy / "treatments.yaml",
        lambda d: d["treatments"]["tens_back"].update(sources=["no_such_source"]),
    )
    problems = check_care_content(data_copy)
    assert "treatments.yaml: tens_back.sources: unknown source id 'no_such_source'" in problems


def test_unknown_exercise_id_is_reported_with_file_and_key(data_copy):
    def change(d):
        d["conditions"]["calf_muscle_strain"]["levels"]["self_care"]["exercises"].append("moon_walk")

    _edit(data_copy / "content.yaml", change)
    problems = check_care_content(data_copy)
    assert any(
        p.startswith("content.yaml: calf_muscle_strain.levels.self_care.exercises[") and "'moon_walk'" in p
        for p in problems
    )


def test_missing_level_is_reported(data_copy):
    _edit(data_copy / "content.yaml", lambda d: d["conditions"]["bakers_cyst"]["levels"].pop("urgent"))
    assert (
        "content.yaml: bakers_cyst.levels.urgent: missing (condition can be triaged urgent)"
        in check_care_content(data_copy)
    )


def test_missing_condition_is_reported(data_copy):
    _edit(data_copy / "content.yaml", lambda d: d["conditions"].pop("cellulitis"))
    assert "content.yaml: cellulitis: no care content for this condition" in check_care_content(data_copy)


def test_exercises_at_urgent_level_are_rejected(data_copy):
    def change(d):
        d["conditions"]["deep_vein_thrombosis"]["levels"]["urgent"]["exercises"] = ["calf_stretch_wall"]

    _edit(data_copy / "content.yaml", change)
    with pytest.raises(CareContentError, match=r"content\.yaml: deep_vein_thrombosis"):
        load_care_content(data_copy)


def test_estimate_source_without_reason_is_reported(data_copy):
    _edit(data_copy / "exercises.yaml", lambda d: d["items"]["standing_ergonomics"].pop("estimate"))
    assert any("standing_ergonomics" in p and "estimate" in p for p in check_care_content(data_copy))


def test_dose_without_source_or_estimate_is_rejected(data_copy):
    def change(d):
        dose = d["items"]["calf_raise_progressive"]["dose"]
        dose["sources"] = []
        dose.pop("estimate")

    _edit(data_copy / "exercises.yaml", change)
    with pytest.raises(CareContentError, match=r"exercises\.yaml: calf_raise_progressive\.dose"):
        load_care_content(data_copy)


def test_unknown_finding_in_tailoring_rule_is_reported(data_copy):
    _edit(data_copy / "tailoring.yaml", lambda d: d["rules"]["desk_work"].update(when_any=["sits_a_lot"]))
    assert "tailoring.yaml: desk_work.when_any: unknown finding 'sits_a_lot'" in check_care_content(data_copy)


def test_invalid_yaml_names_the_file(data_copy):
    (data_copy / "outcomes.yaml").write_text("pain: [unclosed", encoding="utf-8")
    problems = check_care_content(data_copy)
    assert problems and problems[0].startswith("outcomes.yaml: invalid YAML")
