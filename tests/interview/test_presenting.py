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
    assert BELOW_KNEE == {"calf_pain", "shin_pain", "achilles_pain", "foot_pain"}


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
    assert location_answers(["low_back_pain", "calf_pain"], both_legs=False, leg_worse_than_back=True)["leg_pain_worse_than_back"] == "present"
    assert location_answers(["low_back_pain", "calf_pain"], both_legs=False, leg_worse_than_back=False)["leg_pain_worse_than_back"] == "absent"
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
