"""The application layer's conclude(): one place for the assessment, plan, follow-up and final level."""

from __future__ import annotations

import pytest

from painpath.assessment import assess, care_plan_for
from painpath.careplan import OutcomeSnapshot
from painpath.domain import Level
from painpath.engine import default_compiled
from painpath.errors import ServiceError
from painpath.services import FollowUpInput, Levels, answer, assess_state, conclude, conclude_case, final_level, start

CKB = default_compiled()
CALF = {"calf_pain": "present", "pain_below_knee": "present", "leg_pain_worse_than_back": "present",
        "onset_sudden_during_activity": "present"}


def _state(mode: str = "self", setting: str | None = None):  # type: ignore[no-untyped-def]
    return answer(start(35, "male", mode, setting), CALF, CKB)


def test_conclude_gives_the_assessment_and_plan_a_front_end_would_build_by_hand() -> None:
    st = _state()
    done = conclude(st, CKB)
    by_hand = assess(st.as_case(), mode="self", ckb=CKB)
    assert done.assessment.model_dump() == by_hand.model_dump()
    assert done.plan.model_dump() == care_plan_for(by_hand, st.as_case(), level=done.plan.level).model_dump()
    assert done.followup is None and done.level == by_hand.triage.level


def test_a_resumed_state_keeps_its_own_setting() -> None:
    st = _state("self", setting="clinic")
    got = assess_state(st, CKB)
    assert got.model_dump() == assess(st.as_case(), mode="self", setting="clinic", ckb=CKB).model_dump()
    assert got.model_dump() != assess(st.as_case(), mode="self", ckb=CKB).model_dump()


def test_a_worse_follow_up_raises_the_final_level_and_never_lowers_it() -> None:
    st = _state()
    worse = FollowUpInput(OutcomeSnapshot(pain=3), OutcomeSnapshot(pain=8), weeks_since_first=2)
    done = conclude(st, CKB, followup=worse)
    assert done.followup is not None and done.followup.trend == "worse"
    assert Level.parse(done.level) >= done.assessment.triage.level
    assert done.level == max(Level.parse(done.followup.level), Level.parse(done.assessment.triage.level))


def test_final_level_is_the_more_urgent_of_triage_and_follow_up() -> None:
    assert final_level("soon") == Levels(triage="soon", condition=None, followup=None, final="soon")
    assert final_level("soon", followup_min_level="urgent").final == "urgent"
    assert final_level("emergency", followup_min_level="soon").final == "emergency"
    assert final_level("soon", followup_min_level="self_care") == Levels("soon", None, "self_care", "soon")


def test_startback_answers_that_cannot_be_scored_name_startback() -> None:
    with pytest.raises(ServiceError, match="^startback: "):
        conclude(_state("clinician"), CKB, startback={"item1": "maybe"})


def test_conclude_case_matches_the_interview_conclusion_for_the_same_answers() -> None:
    st = _state()
    whole = conclude_case(st.as_case(), mode="self", ckb=CKB)
    stepwise = conclude(st, CKB)
    assert whole.assessment.model_dump() == stepwise.assessment.model_dump()
    assert whole.plan.model_dump() == stepwise.plan.model_dump() and whole.level == stepwise.level
