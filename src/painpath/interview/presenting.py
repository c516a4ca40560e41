"""The presenting complaint: body regions chosen by the person -> location findings.

Applies the benchmark conventions so every front end codes location the same way:
calf, shin, Achilles, foot, ankle, heel or big-toe joint pain make ``pain_below_knee``
true; heel or big-toe joint pain make ``foot_pain`` true (benchmark v2: the sole and
toes are part of the foot); with leg pain and no back pain, ``leg_pain_worse_than_back``
is true (hip, groin and knee pain included).
"""

from __future__ import annotations

from collections.abc import Iterable

from painpath.errors import CaseError
from painpath.interview.state import AnswerValue

__all__ = ["BELOW_KNEE", "FOOT_PARTS", "LEG_REGIONS", "REGIONS", "leg_worse_value", "location_answers"]

REGIONS: dict[str, str] = {
    "low_back_pain": "Lower back",
    "buttock_pain": "Buttock",
    "posterior_thigh_pain": "Back of the thigh",
    "anterior_thigh_pain": "Front of the thigh",
    "knee_back_pain": "Behind the knee",
    "calf_pain": "Calf",
    "shin_pain": "Shin",
    "achilles_pain": "Achilles tendon (just above the heel)",
    "foot_pain": "Foot",
    "groin_pain": "Groin or deep in the front of the hip",
    "outer_hip_pain": "Outer side of the hip",
    "outer_thigh_pain": "Outer side of the thigh",
    "knee_front_pain": "Front of the knee (around the kneecap)",
    "knee_joint_pain": "Inside the knee joint (inner or outer side)",
    "ankle_pain": "Ankle",
    "heel_pain": "Under the heel",
    "big_toe_joint_pain": "Joint at the base of the big toe",
}
LEG_REGIONS = [k for k in REGIONS if k != "low_back_pain"]
BELOW_KNEE = {"calf_pain", "shin_pain", "achilles_pain", "foot_pain", "ankle_pain", "heel_pain", "big_toe_joint_pain"}
FOOT_PARTS = {"heel_pain", "big_toe_joint_pain"}


def location_answers(
    regions: Iterable[str],
    *,
    both_legs: bool | None,
    leg_worse_than_back: bool | None = None,
    below_knee_elsewhere: bool | None = None,
) -> dict[str, AnswerValue]:
    """Answers for every location finding from the regions that hurt and three follow-ups."""
    chosen = set(regions)
    unknown = chosen - set(REGIONS)
    if unknown:
        raise CaseError(f"regions: unknown region '{sorted(unknown)[0]}'")
    if not chosen:
        raise CaseError("regions: choose at least one place that hurts")

    def yn(v: bool | None) -> AnswerValue:
        return "unknown" if v is None else ("present" if v else "absent")

    out: dict[str, AnswerValue] = {k: ("present" if k in chosen else "absent") for k in REGIONS}
    if chosen & FOOT_PARTS:
        out["foot_pain"] = "present"
    if chosen & BELOW_KNEE:
        out["pain_below_knee"] = "present"
    else:
        out["pain_below_knee"] = yn(below_knee_elsewhere) if below_knee_elsewhere is not None else "absent"
    out["pain_both_legs"] = yn(both_legs)
    leg = bool(chosen & set(LEG_REGIONS)) or out["pain_below_knee"] == "present"
    out["leg_pain_worse_than_back"] = leg_worse_value(leg, "low_back_pain" in chosen, yn(leg_worse_than_back))
    return out


def leg_worse_value(leg: bool, back: bool, asked: AnswerValue) -> AnswerValue:
    """``leg_pain_worse_than_back`` by the benchmark's convention: false without leg pain, true for leg pain
    without back pain, and only with both is the person's own answer (``asked``) needed."""
    if not leg:
        return "absent"
    return asked if back else "present"
