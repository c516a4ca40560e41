"""The body map of the web interview: regions of the whole leg, front and back, and their location findings.

A region is what a person taps; it stands for one or more location findings of the knowledge base
(benchmark group ``location``). Regions whose findings the loaded knowledge base does not know are
left out, so the map follows the knowledge base. The benchmark conventions are applied the same
way as :mod:`painpath.interview.presenting`: pain anywhere from the calf down (calf, shin, outer
lower leg, Achilles, ankle, heel, foot, big toe) makes ``pain_below_knee`` true; heel and big-toe
pain also make ``foot_pain`` true; with leg pain and no back pain, ``leg_pain_worse_than_back`` is
true.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from painpath.engine import CompiledKB
from painpath.interview.presenting import leg_worse_value
from painpath.interview.state import AnswerValue


def N_(text: str) -> str:  # noqa: N802 - marks text for extraction (translated where shown)
    return text


__all__ = ["Region", "all_regions", "chosen_from_answers", "location_values", "regions_for", "regions_from_case"]


@dataclass(frozen=True)
class Region:
    key: str  # form value
    label: str  # what the person reads (translated in the template)
    view: str  # "front" or "back"
    findings: tuple[str, ...]  # location findings made present ("" for none: outer lower leg)
    below_knee: bool
    family: str  # hip / thigh / knee / lower leg / ankle and foot / back


# Order: top to bottom, as the list under the drawing reads.
_REGIONS: tuple[Region, ...] = (
    Region("low_back_pain", N_("Lower back"), "back", ("low_back_pain",), False, "back"),
    Region("buttock_pain", N_("Buttock"), "back", ("buttock_pain",), False, "hip"),
    Region("groin_pain", N_("Groin or front of the hip"), "front", ("groin_pain",), False, "hip"),
    Region("outer_hip_pain", N_("Outer side of the hip"), "back", ("outer_hip_pain",), False, "hip"),
    Region("anterior_thigh_pain", N_("Front of the thigh"), "front", ("anterior_thigh_pain",), False, "thigh"),
    Region("posterior_thigh_pain", N_("Back of the thigh"), "back", ("posterior_thigh_pain",), False, "thigh"),
    Region("outer_thigh_pain", N_("Outer side of the thigh"), "front", ("outer_thigh_pain",), False, "thigh"),
    Region("knee_front_pain", N_("Front of the knee (around the kneecap)"), "front", ("knee_front_pain",), False, "knee"),
    Region("knee_joint_pain", N_("Inside the knee joint (inner or outer side)"), "front", ("knee_joint_pain",), False,
           "knee"),
    Region("knee_back_pain", N_("Behind the knee"), "back", ("knee_back_pain",), False, "knee"),
    Region("shin_pain", N_("Shin (front or inner edge)"), "front", ("shin_pain",), True, "lower_leg"),
    Region("outer_lower_leg", N_("Outer side of the lower leg"), "front", (), True, "lower_leg"),
    Region("calf_pain", N_("Calf"), "back", ("calf_pain",), True, "lower_leg"),
    Region("achilles_pain", N_("Achilles tendon (just above the heel)"), "back", ("achilles_pain",), True, "ankle_foot"),
    Region("ankle_pain", N_("Ankle"), "front", ("ankle_pain",), True, "ankle_foot"),
    Region("heel_pain", N_("Under the heel"), "back", ("heel_pain", "foot_pain"), True, "ankle_foot"),
    Region("foot_pain", N_("Top of the foot or the sole"), "front", ("foot_pain",), True, "ankle_foot"),
    Region("big_toe_joint_pain", N_("Big toe joint"), "front", ("big_toe_joint_pain", "foot_pain"), True, "ankle_foot"),
)


def all_regions() -> tuple[Region, ...]:
    return _REGIONS


def regions_for(ckb: CompiledKB) -> list[Region]:
    """The regions the knowledge base can code (every finding of the region is a known finding)."""
    return [r for r in _REGIONS if all(k in ckb.fidx for k in r.findings)]


# the body map's "Which leg?" choices, and the yes / no / not sure they answer pain_both_legs with
SIDE_CHOICES = {"left": "no", "right": "no", "both": "yes", "unknown": "unknown"}


def _yn(v: str | None) -> AnswerValue:
    return "present" if v == "yes" else "absent" if v == "no" else "unknown"


def location_values(ckb: CompiledKB, chosen: Iterable[str], *, both_legs: str | None,
                    leg_worse: str | None) -> dict[str, str]:
    """Answers for every location finding of the ``where`` screen from the regions chosen and two follow-ups
    (``yes`` / ``no`` / anything else for not sure). Raises ValueError naming an unknown or missing region."""
    regions = {r.key: r for r in regions_for(ckb)}
    picked = list(dict.fromkeys(chosen))
    unknown = [k for k in picked if k not in regions]
    if unknown:
        raise ValueError(f"region: unknown region '{unknown[0]}'")
    if not picked:
        raise ValueError("region: choose at least one place that hurts")
    screen = list(ckb.kb.interview.screens["where"].findings)
    region_keys = {k for r in regions.values() for k in r.findings}
    present = {k for key in picked for k in regions[key].findings}
    out: dict[str, str] = {k: ("present" if k in present else "absent") for k in [*screen, *sorted(region_keys - set(screen))]
                           if k in ckb.fidx}
    below = any(regions[k].below_knee for k in picked)
    if "pain_below_knee" in out:
        out["pain_below_knee"] = "present" if below else "absent"
    if "pain_both_legs" in out:
        out["pain_both_legs"] = _yn(both_legs)
    if "leg_pain_worse_than_back" in out:
        leg = below or any(k != "low_back_pain" for k in picked)
        out["leg_pain_worse_than_back"] = leg_worse_value(leg, "low_back_pain" in picked, _yn(leg_worse))
    return out


def chosen_from_answers(ckb: CompiledKB, answers: Mapping[str, str]) -> set[str]:
    """The regions to show ticked for stored location answers (the inverse of :func:`location_values`)."""
    present = {k for k, v in answers.items() if v == "present"}
    out = set()
    for r in regions_for(ckb):
        if r.findings and r.findings[0] in present:
            out.add(r.key)
    # foot_pain is implied by heel or big-toe pain: tick "foot" only when neither explains it
    if "foot_pain" in out and out & {"heel_pain", "big_toe_joint_pain"}:
        out.discard("foot_pain")
    below = {r.key for r in regions_for(ckb) if r.below_knee and r.findings}
    if "pain_below_knee" in present and not (out & below):
        out.add("outer_lower_leg")
    return out


def regions_from_case(ckb: CompiledKB, findings: Mapping[str, bool | None]) -> set[str]:
    """The regions a person with this case (benchmark findings) ticks."""
    return chosen_from_answers(ckb, {k: "present" for k, v in findings.items() if v})


# --- the drawing ------------------------------------------------------------------------------------------
# Shapes of each region on the figure's leg drawn on the viewer's left (viewBox 0 0 200 420); the other leg
# is the mirror image. (kind, attributes) pairs, rendered as SVG elements by the template.
Shape = tuple[str, dict[str, float | str]]

OUTLINE = {
    "pelvis": "M38 4 L162 4 L172 64 Q100 94 28 64 Z",
    "leg": "M34 64 Q38 140 50 196 Q44 252 60 356 Q56 380 54 398 Q70 414 96 410 Q92 384 86 356 "
           "Q98 250 92 196 Q100 130 100 86 Z",
}

SHAPES: dict[str, dict[str, list[Shape]]] = {
    "front": {
        "groin_pain": [("path", {"d": "M74 62 L100 70 L100 88 L84 90 Z"})],
        "outer_thigh_pain": [("path", {"d": "M36 80 L48 82 L54 178 L46 180 Z"})],
        "anterior_thigh_pain": [("path", {"d": "M52 92 L94 94 L90 176 L58 176 Z"})],
        "knee_front_pain": [("ellipse", {"cx": 72, "cy": 194, "rx": 11, "ry": 11})],
        "knee_joint_pain": [("rect", {"x": 50, "y": 184, "width": 8, "height": 22, "rx": 3}),
                            ("rect", {"x": 86, "y": 184, "width": 8, "height": 22, "rx": 3})],
        "outer_lower_leg": [("path", {"d": "M50 216 L62 216 L64 340 L58 340 Z"})],
        "shin_pain": [("path", {"d": "M68 216 L84 216 L80 340 L70 340 Z"})],
        "ankle_pain": [("ellipse", {"cx": 72, "cy": 362, "rx": 15, "ry": 8})],
        "foot_pain": [("path", {"d": "M58 374 L88 374 L92 396 L58 398 Z"})],
        "big_toe_joint_pain": [("circle", {"cx": 90, "cy": 404, "r": 6})],
    },
    "back": {
        "buttock_pain": [("ellipse", {"cx": 74, "cy": 68, "rx": 22, "ry": 18})],
        "outer_hip_pain": [("ellipse", {"cx": 42, "cy": 56, "rx": 7, "ry": 16})],
        "posterior_thigh_pain": [("path", {"d": "M50 96 L96 96 L90 176 L56 176 Z"})],
        "knee_back_pain": [("ellipse", {"cx": 72, "cy": 196, "rx": 15, "ry": 10})],
        "calf_pain": [("ellipse", {"cx": 72, "cy": 254, "rx": 17, "ry": 34})],
        "achilles_pain": [("rect", {"x": 66, "y": 318, "width": 12, "height": 40, "rx": 4})],
        "heel_pain": [("ellipse", {"cx": 72, "cy": 388, "rx": 12, "ry": 10})],
    },
}
# drawn once, across the middle (not mirrored)
CENTRE: dict[str, dict[str, list[Shape]]] = {
    "back": {"low_back_pain": [("rect", {"x": 62, "y": 8, "width": 76, "height": 34, "rx": 6})]},
    "front": {},
}
