"""Conclude an interview: its assessment, care plan, follow-up comparison and final triage level.

The levels are decided here and nowhere else (:func:`final_level`), from three inputs: the engine's triage
level (warning floors, escalations, condition risk), the lowest level of the condition the care plan is for
(``kb/data/triage.yaml: condition_levels``), and what a follow-up calls for when the pain is getting worse or
not improving (``careplan/data/outcomes.yaml``). Nothing lowers a level. The care plan and the follow-up
comparison are built at the levels decided here; they do not decide them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from painpath.assessment import Assessment, assess, care_plan_for
from painpath.careplan import (
    CarePlan,
    FollowUpResult,
    OutcomeSnapshot,
    StartBackResult,
    build_care_plan,
    compare_followup,
    followup_min_level,
    plan_lead,
    score_startback,
)
from painpath.careplan.schema import more_urgent
from painpath.cases import Case
from painpath.domain import Level, LevelName, ModeName
from painpath.engine import CompiledKB, default_compiled
from painpath.errors import ServiceError
from painpath.interview import InterviewState, Step, next_step
from painpath.interview.policy import validate_state

__all__ = ["Conclusion", "FollowUpInput", "Levels", "assess_case", "assess_state", "conclude", "conclude_case", "final_level",
           "followup_result", "care_plan", "levels_of", "next_step_final", "plan_for"]


@dataclass(frozen=True)
class FollowUpInput:
    """The measurements a follow-up compares: the previous and current pain / PSFS, and the time since the
    first assessment of the chain."""

    previous: OutcomeSnapshot
    current: OutcomeSnapshot
    weeks_since_first: float


@dataclass(frozen=True)
class Levels:
    """The level an assessment ends with and its inputs, decided by :func:`final_level`."""

    triage: LevelName  # the engine's: warning floors, escalations, condition risk
    condition: LevelName | None  # the lowest level of the condition the care plan is for (None: not given)
    followup: LevelName | None  # what the follow-up calls for (self_care: nothing); None without a follow-up
    final: LevelName  # the one level: the care plan's, the follow-up's, stored and reported

    @property
    def raised_by(self) -> tuple[str, ...]:
        """What raised ``final`` above the triage level: ``"condition"``, ``"followup"`` (both when both call
        for it), or nothing."""
        if self.final == self.triage:
            return ()
        return tuple(name for name, value in (("condition", self.condition), ("followup", self.followup))
                     if value == self.final)


@dataclass(frozen=True)
class Conclusion:
    assessment: Assessment
    plan: CarePlan
    followup: FollowUpResult | None
    level: str  # the one final level (final_level(...).final): the plan's, the follow-up's, stored and reported
    levels: Levels  # the final level and its inputs


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
    levels = levels_of(result)
    return Conclusion(assessment=result, plan=care_plan_for(result, case, level=levels.final), followup=None,
                      level=levels.final, levels=levels)


def levels_of(result: Assessment) -> Levels:
    """The levels of an assessment without a follow-up (:func:`final_level` of its triage level and the lowest
    level of the condition its care plan is for): what a front end reports when it builds no plan."""
    return final_level(result.triage.level, lead_base_level=plan_lead(result.ranking())[1])


def next_step_final(state: InterviewState, ckb: CompiledKB | None = None) -> Step:
    """:func:`painpath.interview.next_step` as a front end reports it: the next question or the stop, with
    ``level`` the one final level on the answers so far (:func:`final_level` of the step's triage level and
    ranking, as :func:`levels_of` of their assessment gives), not the engine's triage level. At the stop it is
    the level the interview ends with: the level :func:`conclude` gives the state and ``$assess`` or
    ``/v1/assess`` give the same answers."""
    step = next_step(state, ckb)  # validates the state; its ranking is the posterior of the answers so far
    return replace(step, level=final_level(step.level, lead_base_level=plan_lead(list(step.ranking))[1]).final)


def final_level(triage_level: str, *, lead_base_level: str | None = None,
                followup_min_level: str | None = None) -> Levels:
    """The one place the levels are decided. ``triage_level``: the engine's; ``lead_base_level``: the lowest
    level of the condition the care plan is for (:func:`painpath.careplan.plan_lead`); ``followup_min_level``:
    what a follow-up calls for (:func:`painpath.careplan.followup_min_level`, ``self_care`` when it calls for
    nothing), None without a follow-up.

    One level: the most urgent of the three. The care plan is built at it, the follow-up comparison is
    made at it, and it is the level stored and reported. It is never below the triage level.
    """
    triage = _level(triage_level)
    condition = _level(lead_base_level) if lead_base_level is not None else None
    followup = _level(followup_min_level) if followup_min_level is not None else None
    final = triage
    for needed in (condition, followup):
        if needed is not None:
            final = more_urgent(final, needed)
    return Levels(triage=triage, condition=condition, followup=followup, final=final)


def care_plan(ranked: Sequence[tuple[str, float]], triage_level: str, findings: Mapping[str, bool | None], *,
              triage_reasons: Sequence[str] = (), startback: StartBackResult | None = None,
              region: str | None = None) -> CarePlan:
    """:func:`painpath.careplan.build_care_plan` at the level :func:`final_level` decides for ``ranked`` and
    ``triage_level`` (raised to the leading condition's lowest level, with the note saying so)."""
    levels = final_level(triage_level, lead_base_level=plan_lead(ranked)[1])
    return build_care_plan(ranked, triage_level, findings, level=levels.final, triage_reasons=triage_reasons,
                           startback=startback, region=region)


def plan_for(result: Assessment, case: Case, startback: StartBackResult | None = None) -> CarePlan:
    """The care plan for an assessment of ``case`` (no follow-up), at the level :func:`final_level` decides."""
    plan: CarePlan = care_plan_for(result, case, startback, level=levels_of(result).final)
    return plan


def _level(value: str) -> LevelName:
    return Level.parse(value).value  # ValueError naming the levels for an unknown one


def followup_result(previous: OutcomeSnapshot, current: OutcomeSnapshot, *, weeks_since_first: float,
                    current_triage_level: str, region: str | None = None) -> FollowUpResult:
    """The follow-up comparison at the level :func:`final_level` decides (``painpath followup``)."""
    levels = final_level(current_triage_level, followup_min_level=_followup_needs(previous, current, weeks_since_first))
    return compare_followup(previous, current, weeks_since_first=weeks_since_first,
                            current_triage_level=current_triage_level, level=levels.final, region=region)


def _followup_needs(previous: OutcomeSnapshot, current: OutcomeSnapshot, weeks_since_first: float) -> str:
    return followup_min_level(previous, current, weeks_since_first=weeks_since_first) or Level.SELF_CARE.value


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
    needs = (_followup_needs(followup.previous, followup.current, followup.weeks_since_first)
             if followup is not None else None)
    levels = final_level(result.triage.level, lead_base_level=plan_lead(result.ranking())[1], followup_min_level=needs)
    plan = care_plan_for(result, state.as_case(), sb, level=levels.final, followup_level=levels.followup)
    fu = None
    if followup is not None:
        fu = compare_followup(followup.previous, followup.current, weeks_since_first=followup.weeks_since_first,
                              current_triage_level=result.triage.level, level=levels.final)
    return Conclusion(assessment=result, plan=plan, followup=fu, level=levels.final, levels=levels)
