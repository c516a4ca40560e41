"""The level is decided in one place, services.final_level: one final level, the triage level raised to the
lowest level of the condition the care plan is for and to what a follow-up calls for. The plan and the
follow-up comparison are built at it and it is the level stored (tests/test_architecture.py checks that nothing
else raises a level)."""

from __future__ import annotations

import importlib
import itertools
from dataclasses import replace
from typing import Any

import pytest

from painpath.careplan import OutcomeSnapshot, load_care_content, plan_lead
from painpath.domain import Level
from painpath.engine import default_compiled
from painpath.services import FollowUpInput, Levels, answer, conclude, conclude_case, final_level, start

CKB = default_compiled()
conclude_module = importlib.import_module("painpath.services.conclude")  # the module (the package re-exports the function)
CALF = {"calf_pain": "present", "pain_below_knee": "present", "leg_pain_worse_than_back": "present",
        "onset_sudden_during_activity": "present"}
DVT = {"calf_pain": "present", "calf_swelling_one_leg": "present", "recent_immobility_surgery_travel": "present"}
WORSE = FollowUpInput(OutcomeSnapshot(pain=3), OutcomeSnapshot(pain=8), weeks_since_first=2)
NAMES = [lvl.value for lvl in Level]


@pytest.mark.parametrize(("triage", "base", "needs"),
                         list(itertools.product(NAMES, [None, *NAMES], [None, *NAMES])))
def test_final_level_raises_each_level_to_its_inputs_and_never_lowers(triage: str, base: str | None,
                                                                      needs: str | None) -> None:
    got = final_level(triage, lead_base_level=base, followup_min_level=needs)
    assert (got.triage, got.condition, got.followup) == (triage, base, needs)
    assert got.final == max(Level(triage), Level(base or triage), Level(needs or triage)).value
    assert Level(got.final) >= Level(triage)
    raised = {"condition": base, "followup": needs}
    assert got.raised_by == tuple(k for k, v in raised.items() if got.final != triage and v == got.final)
    assert bool(got.raised_by) == (got.final != triage)


def test_final_level_names_an_unknown_level() -> None:
    with pytest.raises(ValueError, match="later"):
        final_level("later")
    with pytest.raises(ValueError, match="whenever"):
        final_level("soon", lead_base_level="whenever")


def _spy(monkeypatch: pytest.MonkeyPatch, decide: Any = None) -> list[Levels]:
    """Record (and optionally replace) every decision conclude() takes from final_level."""
    seen: list[Levels] = []
    real = conclude_module.final_level

    def spy(*args: Any, **kwargs: Any) -> Levels:
        got = decide(*args, **kwargs) if decide else real(*args, **kwargs)
        seen.append(got)
        return got

    monkeypatch.setattr(conclude_module, "final_level", spy)
    return seen


FOLLOWUP_NOTE = "level raised from self_care to soon, what the follow-up calls for (worse, or not improving)"


def test_the_plan_the_follow_up_and_the_stored_level_are_the_one_final_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worse follow-up on a self-care assessment: the plan is at soon (no self-care content) with the note
    saying the follow-up raised it, the follow-up is at soon, and soon is the level stored."""
    st = answer(start(35, "male", "self"), CALF, CKB)
    seen = _spy(monkeypatch)
    done = conclude(st, CKB, followup=WORSE)
    assert len(seen) == 1 and done.levels == seen[0] and seen[0].raised_by == ("followup",)
    assert done.assessment.triage.level == "self_care"
    assert done.level == done.plan.level == seen[0].final == "soon"
    assert done.followup is not None and done.followup.level == "soon" and done.followup.escalated
    assert FOLLOWUP_NOTE in done.plan.notes
    assert not any("the lowest level for" in n for n in done.plan.notes)
    plain = conclude(st, CKB)
    assert plain.plan.level == "self_care" and plain.plan.model_dump() != done.plan.model_dump()
    assert done.plan.headline != plain.plan.headline  # the soon content, not the self-care one


def test_a_decision_from_final_level_is_what_the_plan_and_follow_up_are_built_at(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the decision: the plan and the follow-up follow it, so neither decides a level of its own."""
    st = answer(start(35, "male", "self"), CALF, CKB)
    _spy(monkeypatch, lambda triage, **kw: Levels(triage=triage, condition=kw.get("lead_base_level"),
                                                  followup="urgent", final="urgent"))
    done = conclude(st, CKB, followup=WORSE)
    assert done.plan.level == "urgent" and done.plan.exercises == []
    assert (f"level raised from {done.assessment.triage.level} to urgent, what the follow-up calls for "
            "(worse, or not improving)") in done.plan.notes
    assert done.followup is not None and done.followup.level == "urgent"
    assert done.level == "urgent"


def test_a_level_nothing_calls_for_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A decision above every input would leave the plan's note unable to say why: the plan refuses it."""
    st = answer(start(35, "male", "self"), CALF, CKB)
    _spy(monkeypatch, lambda triage, **kw: Levels(triage=triage, condition=kw.get("lead_base_level"),
                                                  followup=kw.get("followup_min_level"), final="emergency"))
    with pytest.raises(ValueError, match="nothing raises the plan from self_care to emergency"):
        conclude(st, CKB, followup=WORSE)


def test_the_plan_is_raised_to_its_condition_s_lowest_level_and_so_is_the_stored_level(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An assessment whose triage is below its leading condition's lowest level (the engine rarely gives one;
    built here from a real one): the one level is the condition's, with the condition's note."""
    state = answer(start(60, "female", "self"), DVT, CKB)
    real = conclude_case(state.as_case(), mode="self", ckb=CKB).assessment
    key, base = plan_lead(real.ranking())
    assert Level(base) > Level.SELF_CARE, key
    low = real.model_copy(update={"triage": real.triage.model_copy(update={"level": "self_care"})})
    seen = _spy(monkeypatch)
    done = conclude(state, CKB, assessment=low)
    assert seen == [Levels(triage="self_care", condition=base, followup=None, final=base)]
    assert done.plan.level == base and done.level == base and seen[0].raised_by == ("condition",)
    assert f"level raised from self_care to {base}, the lowest level for {key}" in done.plan.notes
    assert not any("follow-up" in n for n in done.plan.notes)
    # with an improving follow-up the follow-up is compared at that level too, and does not call it escalated
    better = FollowUpInput(OutcomeSnapshot(pain=8), OutcomeSnapshot(pain=2), weeks_since_first=2)
    again = conclude(state, CKB, assessment=low, followup=better)
    assert again.level == again.plan.level == base
    assert again.followup is not None and again.followup.level == base and not again.followup.escalated
    assert not any("follow-up" in n for n in again.plan.notes)


def test_when_the_condition_and_the_follow_up_both_call_for_the_level_both_notes_say_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    state = answer(start(60, "female", "self"), DVT, CKB)
    real = conclude_case(state.as_case(), mode="self", ckb=CKB).assessment
    key, base = plan_lead(real.ranking())
    low = real.model_copy(update={"triage": real.triage.model_copy(update={"level": "self_care"})})
    done = conclude(state, CKB, assessment=low, followup=WORSE)
    if base == "soon":
        assert done.levels.raised_by == ("condition", "followup")
        assert f"level raised from self_care to soon, the lowest level for {key}" in done.plan.notes
        assert FOLLOWUP_NOTE in done.plan.notes
    else:  # the condition calls for more than the follow-up: only its note
        assert done.levels.raised_by == ("condition",) and done.level == base
        assert not any("follow-up" in n for n in done.plan.notes)


def test_every_condition_s_lowest_level_is_the_one_final_level_raises_to() -> None:
    content = load_care_content()
    for key, cond in content.conditions.items():
        assert plan_lead([(key, 0.9)]) == (key, cond.base_level)
        assert final_level("self_care", lead_base_level=plan_lead([(key, 0.9)])[1]).final == cond.base_level
    assert plan_lead([("not_a_condition", 0.9)])[0] == "other"  # nothing with content: the "other" plan


def _interview(age: int, sex: str, where: dict[str, str], rest: str) -> list[Any]:
    """Every state of an interview: the body map ``where`` (the rest of it ``rest``), then every question
    answered ``rest``, up to the stop."""
    from painpath.services import next_step

    state = answer(start(age, sex), {k: where.get(k, rest) for k in CKB.kb.interview.screens["where"].findings},
                   CKB, screen="where")
    states = [state]
    while not (step := next_step(state, CKB)).should_stop:
        assert step.question is not None
        state = answer(state, dict.fromkeys(step.question.findings, rest), CKB, screen=step.question.screen)
        states.append(state)
    return states


@pytest.mark.parametrize(("age", "sex", "where", "rest"), [
    (30, "female", {"big_toe_joint_pain": "present"}, "unknown"),  # the plan's condition raises the level (gout)
    (35, "male", CALF, "absent"),
    (70, "male", {"low_back_pain": "present", "posterior_thigh_pain": "present"}, "unknown"),
])
def test_each_interview_step_reports_the_final_level(age: int, sex: str, where: dict[str, str], rest: str) -> None:
    """services.next_step_final (REST /v1/interview, a stored assessment's next step, FHIR $next-question's stop):
    the engine's next step with the one final level on the answers so far; at the stop, the level the
    interview's conclusion has. Nothing else of the step changes."""
    from painpath.services import assess_state, levels_of, next_step, next_step_final, pending_step

    for state in _interview(age, sex, where, rest):
        engine, step = next_step(state, CKB), next_step_final(state, CKB)
        assert step == replace(engine, level=step.level)
        assert step.level == levels_of(assess_state(state, CKB)).final
        assert Level(step.level) >= Level(engine.level)
        assert pending_step(state, finished=False, ckb=CKB) == step
    assert step.should_stop and step.level == conclude(state, CKB).level
    if where == {"big_toe_joint_pain": "present"}:
        assert engine.level != step.level  # the engine's level alone would say less
