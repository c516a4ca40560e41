"""The application layer: PainPath's use cases, between the front ends and the domain core.

A front end (web, REST, FHIR, CDS Hooks, CLI) translates its input, calls one of these, and renders what
comes back; storage loads and saves. Nothing here imports a framework or the database.

    conclude.py   assess_state(state) / assess_case(case) -> Assessment
                  conclude(state, ...) / conclude_case(case, ...) -> Conclusion: the assessment, the care
                  plan, the follow-up comparison and the final level, decided in this one place

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

__all__ = [
    "Conclusion",
    "FollowUpInput",
    "answer",
    "assess_case",
    "assess_state",
    "conclude",
    "conclude_case",
    "final_level",
    "next_item",
    "next_step",
    "start",
    "withdraw",
]
