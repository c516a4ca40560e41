"""Conclude an interview: its assessment, care plan, follow-up comparison and final triage level.

The final level is decided here and nowhere else (:func:`final_level`): the engine's triage level, raised
when a follow-up shows the pain getting worse or not improving (``careplan/data/outcomes.yaml``). A warning
floor or escalation never lowers, and neither does a follow-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from painpath.assessment import Assessment, assess, care_plan_for
from painpath.careplan import CarePlan, FollowUpResult, OutcomeSnapshot, StartBackResult, compare_followup, score_startback
from painpath.cases import Case
from painpath.domain import Level, ModeName
from painpath.engine import CompiledKB, default_compiled
from painpath.errors import ServiceError
from painpath.interview import InterviewState
from painpath.interview.policy import validate_state

__all__ = ["Conclusion", "FollowUpInput", "assess_case", "assess_state", "conclude", "conclude_case", "final_level"]


@dataclass(frozen=True)
class FollowUpInput:
    """The measurements a follow-up compares: the previous and current pain / PSFS, and the time since the
    first assessment of the chain."""

    previous: OutcomeSnapshot
    current: OutcomeSnapshot
    weeks_since_first: float


@dataclass(frozen=True)
class Conclusion:
    assessment: Assessment
    plan: CarePlan
    followup: FollowUpResult | None
    level: str  # the final triage level (final_level)


def assess_state(state: InterviewState, ckb: CompiledKB | None = None) -> Assessment:
    """The assessment of an interview's answers, with its mode and prior setting (``state.setting`` wins)."""
    ckb = ckb or default_compiled()
    validate_state(state, ckb)
    return assess(state.as_case(), mode=state.mode, setting=state.setting, ckb=ckb)


def assess_case(case: Case, *, mode: ModeName = "self", setting: str | None = None, ckb: CompiledKB | None = None,
                explain_conditions: int | None = 6) -> Assessment:
    """The assessment of a case given whole (REST ``/v1/assess``, FHIR ``$assess``, CDS Hooks): no interview."""
    return assess(case, mode=mode, setting=setting, ckb=ckb, explain_conditions=explain_conditions)


def conclude_case(case: Case, *, mode: ModeName = "self", setting: str | None = None, ckb: CompiledKB | None = None,
                  explain_conditions: int | None = 6) -> Conclusion:
    """:func:`conclude` for a case given whole: its assessment, care plan and final level (no follow-up)."""
    result = assess_case(case, mode=mode, setting=setting, ckb=ckb, explain_conditions=explain_conditions)
    return Conclusion(assessment=result, plan=care_plan_for(result, case), followup=None,
                      level=final_level(result.triage.level, None))


def final_level(triage_level: str, followup: FollowUpResult | None) -> str:
    """The level an assessment ends at: its triage level, or the follow-up's if that is more urgent."""
    if followup is not None and Level.parse(followup.level) > triage_level:
        return followup.level
    return triage_level


def conclude(state: InterviewState, ckb: CompiledKB | None = None, *,
             startback: Mapping[str, Any] | StartBackResult | None = None,
             followup: FollowUpInput | None = None, assessment: Assessment | None = None) -> Conclusion:
    """Everything a finished interview yields. ``startback``: the STarT Back answers (or their score) for the
    plan's stratum advice; ``followup``: the measurements to compare; ``assessment``: one already computed
    by :func:`assess_state` for this state (a front end that needed it to decide what to ask next).

    Pure: no database, no clock. Raises ``ServiceError`` naming ``startback`` for answers that cannot be scored.
    """
    ckb = ckb or default_compiled()
    result = assessment if assessment is not None else assess_state(state, ckb)
    sb = None
    if isinstance(startback, StartBackResult):
        sb = startback
    elif startback is not None:
        try:
            sb = score_startback(startback)
        except (ValueError, TypeError) as exc:
            raise ServiceError(f"startback: {exc}") from exc
    plan = care_plan_for(result, state.as_case(), sb)
    fu = None
    if followup is not None:
        fu = compare_followup(followup.previous, followup.current, weeks_since_first=followup.weeks_since_first,
                              current_triage_level=result.triage.level)
    return Conclusion(assessment=result, plan=plan, followup=fu, level=final_level(result.triage.level, fu))
