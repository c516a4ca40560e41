"""Care plans: education, self-care, graded treatments, prognosis and follow-up.

Map of the package:

    data/*.yaml     care content as data, every item citing ids in data/sources.yaml
    schema.py       pydantic models for the content and for the results
    loader.py       load_care_content(): read and validate the YAML (CareContentError names file and key)
    checks.py       check_care_content(): cross-file checks, returns a list of problems
    assemble.py     build_care_plan(): ranked conditions + triage level + findings -> CarePlan
    startback.py    score_startback(): Keele STarT Back tool -> low / medium / high
    followup.py     compare_followup(): pain and PSFS change -> trend, advice, level

Imports only the standard library, pydantic and PyYAML.
"""

from .assemble import CLOSE_MARGIN, build_care_plan
from .checks import check_care_content
from .followup import compare_followup
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
    "load_care_content",
    "score_startback",
]
