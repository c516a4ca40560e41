"""The application layer: PainPath's use cases, between the front ends and the domain core.

A front end (web, REST, FHIR, CDS Hooks, CLI) translates its input, calls one of these, and renders what
comes back; storage loads and saves. Nothing here imports a framework or the database.

    conclude.py   assess_state(state) / assess_case(case) -> Assessment
                  conclude(state, ...) / conclude_case(case, ...) -> Conclusion: the assessment, the care
                  plan, the follow-up comparison and the final level
                  final_level(triage, lead_base_level=, followup_min_level=) -> Levels: every level, decided
                  in this one place (the plan and the follow-up are built at the levels it gives);
                  levels_of(assessment) -> Levels: the same without a follow-up (what a front end reports);
                  next_step_final(state) -> Step: the next question or the stop, with that final level on the
                  answers so far (what REST reports at each step, and FHIR at the interview's stop)

    stored.py     create / record_answers / withdraw_answers / finish / amend / start_followup: the use cases of
                  a stored assessment (the interview steps, who may answer what, when a record may change),
                  working through AssessmentRepository (load, save, visibility, audit), which storage implements

The interview steps (start, answer, withdraw, next step) are the pure functions of
:mod:`painpath.interview`; they are re-exported here so that front ends need one import.
"""

from painpath.interview import answer, next_item, next_step, start, withdraw
from painpath.services.conclude import (
    Conclusion,
    FollowUpInput,
    Levels,
    assess_case,
    assess_state,
    care_plan,
    conclude,
    conclude_case,
    final_level,
    followup_result,
    levels_of,
    next_step_final,
    plan_for,
)
from painpath.services.stored import (
    AssessmentRepository,
    amend,
    create,
    finish,
    pending_step,
    record_answers,
    start_followup,
    withdraw_answers,
)

__all__ = [
    "AssessmentRepository",
    "Conclusion",
    "FollowUpInput",
    "Levels",
    "amend",
    "answer",
    "assess_case",
    "assess_state",
    "care_plan",
    "conclude",
    "conclude_case",
    "create",
    "final_level",
    "finish",
    "followup_result",
    "levels_of",
    "next_item",
    "next_step",
    "next_step_final",
    "pending_step",
    "plan_for",
    "record_answers",
    "start",
    "start_followup",
    "withdraw",
    "withdraw_answers",
]
