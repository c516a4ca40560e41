"""Care plans: education, self-care, graded treatments, prognosis and follow-up.

Map of the package:

    data/*.yaml     care content as data, every item citing ids in data/sources.yaml
    schema.py       pydantic models for the content and for the results
    loader.py       load_care_content(): read and validate the YAML (CareContentError names file and key)
    checks.py       check_care_content(): cross-file checks, returns a list of problems
    assemble.py     build_care_plan(): ranked conditions + the decided level + findings -> CarePlan;
                    plan_lead(): the condition the plan is for and its lowest level
    startback.py    score_startback(): Keele STarT Back tool -> low / medium / high
    followup.py     compare_followup(): pain and PSFS change -> trend, advice, the decided level;
                    followup_min_level(): the level the change calls for

The levels are decided by painpath.services.final_level, not here: the plan and the follow-up are
built at the level they are given.

Imports only the standard library, pydantic and PyYAML.
"""

from .assemble import CLOSE_MARGIN, build_care_plan, plan_lead
from .checks import check_care_content
from .followup import compare_followup, followup_min_level
from .loader import CareContent, CareContentError, load_care_content
from .schema import (
    CarePlan,
    FollowUpResult,
    OutcomeSnapshot,
    PsfsActivity,
    StartBackResult,
)
from .startback import score_startback

__all__ = [
    "CLOSE_MARGIN",
    "CareContent",
    "CareContentError",
    "CarePlan",
    "FollowUpResult",
    "OutcomeSnapshot",
    "PsfsActivity",
    "StartBackResult",
    "build_care_plan",
    "check_care_content",
    "compare_followup",
    "followup_min_level",
    "load_care_content",
    "plan_lead",
    "score_startback",
]
