"""The application layer: PainPath's use cases, between the front ends and the domain core.

A front end (web, REST, FHIR, CDS Hooks, CLI) translates its input, calls one of these, and renders what
comes back; storage loads and saves. Nothing here imports a framework or the database.

    conclude.py   assess_state(state) / assess_case(case) -> Assessment
                  conclude(state, ...) / conclude_case(case, ...) -> Conclusion: the assessment, the care
                  plan, the follow-up comparison and the final level, decided in this one place

    stored.py     finish / amend / start_followup: the use cases of a stored assessment, working through
                  AssessmentRepository (load, save, visibility, audit), which storage implements

The interview steps (start, answer, withdraw, next step) are the pure functions of
:mod:`painpath.interview`; they are re-exported here so that front ends need one import.
"""

from painpath.interview import answer, next_item, next_step, start, withdraw
from painpath.services.conclude import (
    Conclusion,
    FollowUpInput,
    assess_case,
    assess_state,
    conclude,
    conclude_case,
    final_level,
)
from painpath.services.stored import AssessmentRepository, amend, finish, start_followup

__all__ = [
    "AssessmentRepository",
    "Conclusion",
    "FollowUpInput",
    "amend",
    "answer",
    "assess_case",
    "assess_state",
    "conclude",
    "conclude_case",
    "final_level",
    "finish",
    "next_item",
    "next_step",
    "start",
    "start_followup",
    "withdraw",
]
