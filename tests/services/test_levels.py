"""The levels are decided in one place, services.final_level: the triage level, raised to the lowest level of
the condition the care plan is for and to what a follow-up calls for. The plan and the follow-up comparison
are built at the levels it decides (tests/test_architecture.py checks that nothing else raises a level)."""

from __future__ import annotations

import importlib
import itertools
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
    assert got.triage == triage
    assert got.plan == max(Level(triage), Level(base or triage)).value
    assert got.followup == (None if needs is None else max(Level(triage), Level(needs)).value)
    assert got.final == (got.followup or triage)
    assert min(Level(got.plan), Level(got.final)) >= Level(triage)


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


def test_the_plan_the_follow_up_and_the_stored_level_all_come_from_final_level(monkeypatch: pytest.MonkeyPatch) -> None:
    st = answer(start(35, "male", "self"), CALF, CKB)
    seen = _spy(monkeypatch)
    done = conclude(st, CKB, followup=WORSE)
    assert len(seen) == 1 and done.levels == seen[0]
    assert done.plan.level == seen[0].plan
    assert done.followup is not None and done.followup.level == seen[0].followup and done.followup.escalated
    assert done.level == seen[0].final == "soon" and done.assessment.triage.level == "self_care"


def test_a_decision_from_final_level_is_what_the_plan_and_follow_up_are_built_at(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the decision: the plan and the follow-up follow it, so neither decides a level of its own."""
    st = answer(start(35, "male", "self"), CALF, CKB)
    _spy(monkeypatch, lambda triage, **_: Levels(triage=triage, plan="urgent", followup="emergency", final="emergency"))
    done = conclude(st, CKB, followup=WORSE)
    assert done.plan.level == "urgent" and done.plan.exercises == []
    assert any(n.startswith(f"level raised from {done.assessment.triage.level} to urgent") for n in done.plan.notes)
    assert done.followup is not None and done.followup.level == "emergency"
    assert done.level == "emergency"


def test_the_plan_is_raised_to_its_condition_s_lowest_level_through_final_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """An assessment whose triage is below its leading condition's lowest level (the engine rarely gives one;
    built here from a real one): the plan is raised by final_level, with the note, and the stored level is not."""
    state = answer(start(60, "female", "self"), DVT, CKB)
    real = conclude_case(state.as_case(), mode="self", ckb=CKB).assessment
    key, base = plan_lead(real.ranking())
    assert Level(base) > Level.SELF_CARE, key
    low = real.model_copy(update={"triage": real.triage.model_copy(update={"level": "self_care"})})
    seen = _spy(monkeypatch)
    done = conclude(state, CKB, assessment=low)
    assert seen == [Levels(triage="self_care", plan=base, followup=None, final="self_care")]
    assert done.plan.level == base and done.level == "self_care"
    assert f"level raised from self_care to {base}, the lowest level for {key}" in done.plan.notes


def test_every_condition_s_lowest_level_is_the_one_final_level_raises_to() -> None:
    content = load_care_content()
    for key, cond in content.conditions.items():
        assert plan_lead([(key, 0.9)]) == (key, cond.base_level)
        assert final_level("self_care", lead_base_level=plan_lead([(key, 0.9)])[1]).plan == cond.base_level
    assert plan_lead([("not_a_condition", 0.9)])[0] == "other"  # nothing with content: the "other" plan
