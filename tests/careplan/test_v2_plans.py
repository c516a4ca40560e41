"""Benchmark v2: the plan for each dev case of a new condition starts with what its guideline says.

Two routes, both on the v2 dev cases (``../shared/benchmark-v2/dev``, skipped when absent):

* the care plan built for the case's gold condition at its gold triage level, with the case's findings
  (this checks the care content, whatever the engine ranks first);
* ``painpath assess CASE --mode clinician --json`` (in-process), where the plan follows the engine's
  leading condition and level; its first steps are checked against the guideline of that condition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from painpath.careplan import CarePlan, build_care_plan
from tests.conftest import DEV_V2, SKIP_NO_BENCH_V2

NEW = {
    "hip_osteoarthritis", "greater_trochanteric_pain_syndrome", "hip_fracture", "hamstring_strain",
    "meralgia_paresthetica", "achilles_rupture", "knee_osteoarthritis", "patellofemoral_pain",
    "patellar_tendinopathy", "knee_internal_derangement", "ankle_sprain", "plantar_heel_pain",
    "septic_arthritis", "gout", "superficial_thrombophlebitis", "chronic_venous_disease",
    "nocturnal_leg_cramps",
}


def _cases() -> list[tuple[str, dict[str, Any]]]:
    if not DEV_V2.is_dir():
        return []
    out = []
    for path in sorted(DEV_V2.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if raw["gold"]["condition"] in NEW | {"other"}:
            out.append((path.name, raw))
    return out


CASES = _cases()
needs_cases = pytest.mark.skipif(not CASES, reason=SKIP_NO_BENCH_V2)


def _text(items: list[Any]) -> str:
    return " ".join(i.text for i in items).lower()


def _ids(items: list[Any]) -> set[str]:
    return {i.id for i in items}


def _grade(plan: CarePlan, treatment: str) -> str | None:
    return next((t.grade for t in plan.treatments if t.id == treatment), None)


def _first_step(plan: CarePlan) -> str:
    assert plan.clinician_next_steps, "no clinician next step"
    return plan.clinician_next_steps[0].text.lower()


def _acute(plan: CarePlan) -> None:
    assert not plan.exercises and not plan.self_care and not plan.treatments


def _oa(plan: CarePlan) -> None:
    assert plan.level in ("self_care", "soon")
    first = _text(plan.do_now[:2])
    assert "exercise" in first and "weight" in first  # exercise and weight advice come first
    assert "do not need an x-ray" in _text(plan.do_now)
    assert "sit_to_stand" in _ids(plan.exercises)
    assert _grade(plan, "oa_exercise_therapy") == "recommended"
    assert _grade(plan, "oa_weight_loss") == "recommended"
    assert _grade(plan, "routine_imaging_oa") == "not_recommended"  # no routine imaging
    assert "without imaging" in _first_step(plan)


def _gtps(plan: CarePlan) -> None:
    assert "crossing your legs" in _text(plan.do_now[:1])
    assert "gluteal_isometric_abduction" in _ids(plan.exercises)
    assert _grade(plan, "gtps_education_exercise") == "recommended"
    assert _grade(plan, "steroid_injection_gtps") == "limited_evidence"
    assert "education on load" in _first_step(plan)


def _hip_fracture(plan: CarePlan) -> None:
    assert plan.level == "emergency"
    _acute(plan)
    assert "ambulance" in plan.headline.lower()
    assert "suspected hip fracture" in _first_step(plan) and "x-ray" in _first_step(plan)


def _hamstring(plan: CarePlan) -> None:
    assert {"hamstring_bridge_isometric", "hamstring_extender"} <= _ids(plan.exercises)
    assert _grade(plan, "hamstring_progressive_loading") == "recommended"
    assert "avoid running" in _text(plan.do_now[:1])


def _meralgia(plan: CarePlan) -> None:
    assert "looser belts" in _text(plan.do_now[:1])
    assert "clinical diagnosis" in _first_step(plan)


def _achilles_rupture(plan: CarePlan) -> None:
    assert plan.level in ("urgent", "emergency")
    _acute(plan)
    step = _first_step(plan)
    assert "same-day" in step and "calf-squeeze" in step  # why the squeeze test matters: walking does not exclude it
    assert "walk" in step


def _pfp(plan: CarePlan) -> None:
    assert "mini_squat_wall" in _ids(plan.exercises)
    assert _grade(plan, "pfp_exercise_therapy") == "recommended"
    assert "exercise" in _first_step(plan)


def _patellar(plan: CarePlan) -> None:
    assert {"patellar_isometric_hold", "heavy_slow_leg_press"} <= _ids(plan.exercises)
    assert _grade(plan, "steroid_injection_tendon_knee") == "not_recommended"
    assert "tendon loading" in _first_step(plan)


def _knee_derangement(plan: CarePlan) -> None:
    if plan.level == "urgent":
        _acute(plan)
        assert "today" in plan.headline.lower()
        assert "locked knee" in _first_step(plan)
    else:
        assert "ottawa knee rules" in _first_step(plan)
        assert "knee_injury_protection" in _ids(plan.self_care)


def _ankle(plan: CarePlan) -> None:
    if plan.level == "urgent":  # Ottawa positive: X-ray the same day
        _acute(plan)
        assert "x-ray" in plan.headline.lower() and "today" in plan.headline.lower()
    else:
        assert "walk on the ankle" in _text(plan.do_now[:1])
        assert {"ankle_alphabet_mobility", "ankle_balance_programme"} <= _ids(plan.exercises)
        assert _grade(plan, "ankle_balance_training") == "recommended"
    assert "ottawa" in _first_step(plan)


def _plantar(plan: CarePlan) -> None:
    assert "sole stretch" in _text(plan.do_now[:1])
    assert "plantar_fascia_stretch" in _ids(plan.exercises)
    assert _grade(plan, "plantar_stretch_strength") == "recommended"


def _septic(plan: CarePlan) -> None:
    assert plan.level == "emergency"
    _acute(plan)
    assert "aspirate" in _first_step(plan)


def _gout(plan: CarePlan) -> None:
    if plan.level in ("urgent", "emergency"):
        _acute(plan)
        assert "infected joint" in plan.why.text.lower()  # a hot joint: sepsis is ruled out first
    else:
        assert _grade(plan, "gout_flare_medicines") == "recommended"
    assert "septic arthritis" in _first_step(plan)


def _svt(plan: CarePlan) -> None:
    if plan.level == "urgent":
        _acute(plan)
        assert "scan" in plan.headline.lower()
    assert "ultrasound" in _first_step(plan) and "saphenofemoral" in _first_step(plan)


def _venous(plan: CarePlan) -> None:
    assert "raise your legs" in _text(plan.do_now[:1])
    assert _grade(plan, "compression_stockings_venous") == "may_help"
    assert "vascular service" in _first_step(plan)


def _cramps(plan: CarePlan) -> None:
    assert "straighten the leg" in _text(plan.do_now[:1])
    assert _grade(plan, "quinine_cramps") == "not_recommended"
    assert "review medicines" in _first_step(plan)


def _other(plan: CarePlan) -> None:
    if plan.level == "self_care":  # short-lived, no warning sign: pace it, and a clinician if it lasts
        assert "two weeks" in " ".join(s.text for s in plan.safety_net).lower()
        assert "unexplained_pain_diary" in _ids(plan.self_care)
    if plan.level == "soon":
        assert "tell the clinician" in _text(plan.do_now[:1])
        assert "unexplained_pain_diary" in _ids(plan.self_care)
    assert "fits none of the common causes" in " ".join(s.text for s in plan.clinician_next_steps).lower()


GUIDELINE: dict[str, Callable[[CarePlan], None]] = {
    "hip_osteoarthritis": _oa,
    "knee_osteoarthritis": _oa,
    "greater_trochanteric_pain_syndrome": _gtps,
    "hip_fracture": _hip_fracture,
    "hamstring_strain": _hamstring,
    "meralgia_paresthetica": _meralgia,
    "achilles_rupture": _achilles_rupture,
    "patellofemoral_pain": _pfp,
    "patellar_tendinopathy": _patellar,
    "knee_internal_derangement": _knee_derangement,
    "ankle_sprain": _ankle,
    "plantar_heel_pain": _plantar,
    "septic_arthritis": _septic,
    "gout": _gout,
    "superficial_thrombophlebitis": _svt,
    "chronic_venous_disease": _venous,
    "nocturnal_leg_cramps": _cramps,
    "other": _other,
}


def test_every_new_condition_and_other_has_a_guideline_check() -> None:
    assert set(GUIDELINE) == NEW | {"other"}


@needs_cases
def test_the_dev_cases_cover_every_new_condition() -> None:
    assert {raw["gold"]["condition"] for _, raw in CASES} == NEW | {"other"}


@needs_cases
@pytest.mark.parametrize(("name", "raw"), CASES, ids=[n for n, _ in CASES])
def test_plan_for_the_gold_condition_and_level_follows_its_guideline(name: str, raw: dict[str, Any]) -> None:
    gold = raw["gold"]
    findings = {k: v for k, v in raw["findings"].items()}
    plan = build_care_plan([(gold["condition"], 0.9)], gold["triage"], findings, region="US")
    assert plan.level == gold["triage"] or gold["condition"] == "other"
    GUIDELINE[gold["condition"]](plan)


def test_ankle_sprain_with_ottawa_bone_tenderness_gets_an_x_ray_today() -> None:
    plan = build_care_plan([("ankle_sprain", 0.95)], "urgent",
                           {"ankle_pain": True, "ottawa_ankle_bone_tenderness": True}, region="GB")
    assert plan.headline.startswith("Get the ankle X-rayed today")
    assert plan.clinician_next_steps[0].text.startswith("Apply the Ottawa ankle and foot rules")
    _acute(plan)


def test_a_hot_swollen_joint_adds_aspiration_to_any_acute_plan() -> None:
    plan = build_care_plan([("knee_osteoarthritis", 0.8)], "urgent", {"hot_swollen_joint": True}, region="US")
    assert any("aspirate the joint before antibiotics" in s.text for s in plan.clinician_next_steps)


# --- painpath assess CASE (the CLI, in-process) ------------------------------------------------------------

CLI_CASES = [(n, raw) for n, raw in CASES if raw["gold"]["condition"] != "other"]  # 'other' gold: engine branch


@pytest.fixture(scope="module")
def cli() -> Callable[..., Any]:
    from typer.testing import CliRunner

    from painpath.cli import app

    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, list(args), env={"PAINPATH_REGION": "US"})

    return run


@needs_cases
@pytest.mark.parametrize(("name", "raw"), CLI_CASES, ids=[n for n, _ in CLI_CASES])
def test_painpath_assess_prints_a_plan_that_follows_the_guideline(cli: Callable[..., Any], name: str,
                                                                 raw: dict[str, Any]) -> None:
    r = cli("assess", str(DEV_V2 / name), "--mode", "clinician", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    plan = CarePlan.model_validate(out["care_plan"])
    lead = out["conditions"][0]["key"]
    assert plan.conditions[0].key == lead
    assert plan.level == out["triage"]["level"] or plan.notes  # only ever raised, with a note
    if lead in GUIDELINE:
        GUIDELINE[lead](plan)
    assert not re.search(r"\b999\b|A&E|\bNHS\b|\bGP\b", json.dumps(out["care_plan"]))  # PAINPATH_REGION=US


@needs_cases
def test_painpath_assess_text_output_shows_the_plan_first_steps(cli: Callable[..., Any]) -> None:
    case = next(n for n, raw in CASES if raw["gold"]["condition"] == "knee_osteoarthritis")
    r = cli("assess", str(DEV_V2 / case), "--mode", "clinician")
    assert r.exit_code == 0, r.output
    flat = " ".join(r.stdout.split())
    assert "Start the strengthening exercises below" in flat
    assert "losing some weight" in flat
    assert "You do not need an X-ray or scan" in flat
