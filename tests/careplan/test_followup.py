"""Follow-up comparison: trend by MCID, advice and escalation (the level decided by services.final_level)."""

from __future__ import annotations

import pytest

from painpath.careplan import OutcomeSnapshot, PsfsActivity, compare_followup, followup_min_level
from painpath.services import followup_result


def snap(pain: float, *scores: float) -> OutcomeSnapshot:
    names = ["walking", "stairs", "running", "sleeping", "work"]
    acts = [PsfsActivity(activity=names[i], score=s) for i, s in enumerate(scores)]
    return OutcomeSnapshot(pain=pain, psfs=acts)


def test_improvement_keeps_self_care_and_says_keep_going():
    result = followup_result(
        snap(6, 3, 4), snap(3, 6, 7), weeks_since_first=3, current_triage_level="self_care"
    )
    assert (
        result.trend == "improving" and result.pain_trend == "improving" and result.psfs_trend == "improving"
    )
    assert result.level == "self_care" and not result.escalated
    assert "getting better" in result.advice.text
    assert result.pain_change == -3 and result.psfs_change == pytest.approx(3)


def test_no_change_early_waits_and_rechecks():
    result = followup_result(snap(5, 4), snap(4, 5), weeks_since_first=2, current_triage_level="self_care")
    assert result.trend == "no_change" and result.level == "self_care" and not result.escalated
    assert "2 weeks" in result.advice.text


def test_no_change_at_6_weeks_escalates_to_soon():
    result = followup_result(snap(5, 4), snap(5, 4.5), weeks_since_first=6, current_triage_level="self_care")
    assert result.trend == "no_change" and result.level == "soon" and result.escalated
    assert "6 weeks" in result.advice.text


def test_no_change_just_before_6_weeks_does_not_escalate():
    result = followup_result(snap(5), snap(5), weeks_since_first=5.9, current_triage_level="self_care")
    assert result.level == "self_care"


def test_deterioration_escalates_to_soon():
    result = followup_result(snap(3, 7), snap(6, 7), weeks_since_first=1, current_triage_level="self_care")
    assert result.trend == "worse" and result.level == "soon" and result.escalated
    assert "worse" in result.advice.text


def test_psfs_drop_alone_counts_as_worse():
    result = followup_result(
        snap(4, 6, 6), snap(4, 4, 3), weeks_since_first=2, current_triage_level="self_care"
    )
    assert result.psfs_trend == "worse" and result.trend == "worse"


def test_new_warning_feature_level_is_kept():
    result = followup_result(snap(6), snap(2), weeks_since_first=2, current_triage_level="emergency")
    assert result.trend == "improving" and result.level == "emergency" and not result.escalated


def test_escalation_never_lowers_the_current_level():
    result = followup_result(snap(5), snap(5), weeks_since_first=8, current_triage_level="urgent")
    assert result.level == "urgent"


@pytest.mark.parametrize(
    ("before", "after", "trend"),
    [
        (8, 6, "improving"),  # 2 points
        (8, 7, "no_change"),  # 1 point, 12.5%
        (3, 2, "improving"),  # 1 point but 33%
        (2, 1.5, "no_change"),  # 25%, under 1 point
        (0, 1, "no_change"),
        (0, 2, "worse"),
        (4, 5.5, "worse"),  # 37.5% and at least 1 point
    ],
)
def test_pain_mcid_is_2_points_or_30_percent(before, after, trend):
    result = followup_result(
        snap(before), snap(after), weeks_since_first=1, current_triage_level="self_care"
    )
    assert result.pain_trend == trend


def test_psfs_mcid_is_2_points_on_the_mean():
    result = followup_result(
        snap(5, 4, 4), snap(5, 5.9, 5.9), weeks_since_first=1, current_triage_level="self_care"
    )
    assert result.psfs_trend == "no_change"
    result = followup_result(
        snap(5, 4, 4), snap(5, 6, 6), weeks_since_first=1, current_triage_level="self_care"
    )
    assert result.psfs_trend == "improving"


def test_changed_psfs_activities_are_flagged():
    prev = OutcomeSnapshot(pain=5, psfs=[PsfsActivity(activity="walking", score=4)])
    cur = OutcomeSnapshot(pain=5, psfs=[PsfsActivity(activity="cycling", score=4)])
    result = followup_result(prev, cur, weeks_since_first=1, current_triage_level="self_care")
    assert any("differ" in r for r in result.reasons)


def test_invalid_inputs_raise():
    with pytest.raises(ValueError):
        followup_result(snap(5), snap(5), weeks_since_first=-1, current_triage_level="self_care")
    with pytest.raises(ValueError):
        followup_result(snap(5), snap(5), weeks_since_first=1, current_triage_level="later")
    with pytest.raises(ValueError):
        OutcomeSnapshot(pain=11)
    with pytest.raises(ValueError):  # more than 5 activities
        OutcomeSnapshot(pain=5, psfs=[PsfsActivity(activity=f"task {i}", score=5) for i in range(6)])
    with pytest.raises(ValueError):  # the same activity twice
        OutcomeSnapshot(
            pain=5,
            psfs=[PsfsActivity(activity="Walking", score=5), PsfsActivity(activity="walking", score=6)],
        )


def test_the_comparison_does_not_decide_the_level_it_states_what_the_change_calls_for():
    worse, late = (snap(3, 7), snap(6, 7)), (snap(5), snap(5))
    assert followup_min_level(*worse, weeks_since_first=1) == "soon"
    assert followup_min_level(*late, weeks_since_first=6) == "soon"
    assert followup_min_level(*late, weeks_since_first=5.9) is None
    assert followup_min_level(snap(6), snap(2), weeks_since_first=9) is None
    # given a level below what the change calls for, the comparison refuses it instead of raising it
    with pytest.raises(ValueError, match=r"^level: this follow-up calls for at least soon, got self_care; decide"):
        compare_followup(*worse, weeks_since_first=1, current_triage_level="self_care")
    with pytest.raises(ValueError, match=r"^level: self_care is below the current triage level urgent"):
        compare_followup(*late, weeks_since_first=1, current_triage_level="urgent", level="self_care")
    given = compare_followup(*worse, weeks_since_first=1, current_triage_level="self_care", level="soon")
    assert given == followup_result(*worse, weeks_since_first=1, current_triage_level="self_care")
