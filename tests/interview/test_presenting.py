"""The presenting complaint: body regions -> location findings, by the benchmark conventions."""

from __future__ import annotations

import pytest

from painpath.engine import default_compiled
from painpath.errors import CaseError
from painpath.interview import answer, start
from painpath.interview.presenting import BELOW_KNEE, REGIONS, location_answers

CKB = default_compiled()
LOCATION = {k for k, f in CKB.kb.findings.findings.items() if f.group == "location"}


def test_every_location_finding_is_answered() -> None:
    out = location_answers(["calf_pain"], both_legs=False)
    assert set(out) == LOCATION
    assert set(REGIONS) <= LOCATION
    # the answers are valid for an interview state
    s = answer(start(40, "male"), out, CKB, screen="where")
    assert s.answer_map == out


@pytest.mark.parametrize("region", sorted(BELOW_KNEE))
def test_below_knee_regions_make_pain_below_knee(region: str) -> None:
    out = location_answers([region], both_legs=False)
    assert out[region] == "present"
    assert out["pain_below_knee"] == "present"
    assert BELOW_KNEE == {"calf_pain", "shin_pain", "achilles_pain", "foot_pain", "ankle_pain", "heel_pain", "big_toe_joint_pain"}


@pytest.mark.parametrize("region", ["heel_pain", "big_toe_joint_pain"])
def test_heel_and_big_toe_are_part_of_the_foot(region: str) -> None:
    # benchmark v2 conventions: foot_pain is also true with heel or big-toe joint pain
    out = location_answers([region], both_legs=False)
    assert out[region] == "present"
    assert out["foot_pain"] == "present"
    assert out["pain_below_knee"] == "present"
    assert out["leg_pain_worse_than_back"] == "present"


def test_ankle_is_below_the_knee_but_not_the_foot() -> None:
    out = location_answers(["ankle_pain"], both_legs=False)
    assert out["pain_below_knee"] == "present"
    assert out["foot_pain"] == "absent"


@pytest.mark.parametrize("region", ["groin_pain", "outer_hip_pain", "outer_thigh_pain", "knee_front_pain", "knee_joint_pain"])
def test_hip_thigh_and_knee_regions_are_leg_pain_above_the_knee(region: str) -> None:
    out = location_answers([region], both_legs=False)
    assert out[region] == "present"
    assert out["pain_below_knee"] == "absent"
    assert out["leg_pain_worse_than_back"] == "present"  # leg-only, hip and knee included
    # hip or groin pain alone does not make the thigh keys true (v2 conventions)
    assert out["anterior_thigh_pain"] == "absent"


def test_thigh_only_is_not_below_knee() -> None:
    out = location_answers(["posterior_thigh_pain"], both_legs=False)
    assert out["pain_below_knee"] == "absent"
    # unless the person says it reaches below the knee elsewhere (outer lower leg has no region)
    out = location_answers(["posterior_thigh_pain"], both_legs=False, below_knee_elsewhere=True)
    assert out["pain_below_knee"] == "present"


def test_leg_only_means_leg_worse_than_back() -> None:
    out = location_answers(["calf_pain"], both_legs=False, leg_worse_than_back=False)
    assert out["low_back_pain"] == "absent"
    assert out["leg_pain_worse_than_back"] == "present"  # whatever the follow-up says


def test_back_and_leg_uses_the_follow_up() -> None:
    both = ["low_back_pain", "calf_pain"]
    assert location_answers(both, both_legs=False, leg_worse_than_back=True)["leg_pain_worse_than_back"] == "present"
    assert location_answers(both, both_legs=False, leg_worse_than_back=False)["leg_pain_worse_than_back"] == "absent"
    assert location_answers(["low_back_pain", "calf_pain"], both_legs=False)["leg_pain_worse_than_back"] == "unknown"


def test_back_only_has_no_leg_pain() -> None:
    out = location_answers(["low_back_pain"], both_legs=None)
    assert out["low_back_pain"] == "present"
    assert out["leg_pain_worse_than_back"] == "absent"  # no leg pain at all
    assert out["pain_below_knee"] == "absent"
    assert out["pain_both_legs"] == "unknown"
    assert all(out[k] == "absent" for k in REGIONS if k != "low_back_pain")


def test_both_legs() -> None:
    assert location_answers(["foot_pain"], both_legs=True)["pain_both_legs"] == "present"
    assert location_answers(["foot_pain"], both_legs=False)["pain_both_legs"] == "absent"


def test_bad_regions() -> None:
    with pytest.raises(CaseError, match="elbow"):
        location_answers(["elbow_pain"], both_legs=False)
    with pytest.raises(CaseError):
        location_answers([], both_legs=False)
