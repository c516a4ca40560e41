"""The presenting complaint: body regions chosen by the person -> location findings.

Applies the benchmark conventions so every front end codes location the same way:
calf, shin, Achilles or foot pain make ``pain_below_knee`` true; with leg pain and
no back pain, ``leg_pain_worse_than_back`` is true.
"""

from __future__ import annotations

from collections.abc import Iterable

from painpath.errors import CaseError
from painpath.interview.state import AnswerValue

__all__ = ["BELOW_KNEE", "LEG_REGIONS", "REGIONS", "location_answers"]

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
}
LEG_REGIONS = [k for k in REGIONS if k != "low_back_pain"]
BELOW_KNEE = {"calf_pain", "shin_pain", "achilles_pain", "foot_pain"}


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
    if chosen & BELOW_KNEE:
        out["pain_below_knee"] = "present"
    else:
        out["pain_below_knee"] = yn(below_knee_elsewhere) if below_knee_elsewhere is not None else "absent"
    out["pain_both_legs"] = yn(both_legs)
    leg = bool(chosen & set(LEG_REGIONS)) or out["pain_below_knee"] == "present"
    if not leg:
        out["leg_pain_worse_than_back"] = "absent"
    elif "low_back_pain" not in chosen:
        out["leg_pain_worse_than_back"] = "present"
    else:
        out["leg_pain_worse_than_back"] = yn(leg_worse_than_back)
    return out
