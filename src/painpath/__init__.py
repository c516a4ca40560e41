"""PainPath: where does this leg pain come from, how urgent is it, and what to do.

PainPath gives information, not a diagnosis, and does not replace a clinician.
"""

from painpath.assessment import (
    Assessment,
    BatchResult,
    ConditionResult,
    Evidence,
    TriageReason,
    TriageResult,
    assess,
    assess_arrays,
    assess_many,
)
from painpath.cases import Case, Gold, load_case, load_cases, parse_case
from painpath.domain import AnswerValue, Level, Mode, Setting, Sex, StopReason
from painpath.errors import CaseError, KnowledgeBaseError, PainPathError
from painpath.kb import KnowledgeBase, default_kb, load_kb

__version__ = "0.1.0"

__all__ = [
    "AnswerValue",
    "Assessment",
    "BatchResult",
    "Case",
    "CaseError",
    "ConditionResult",
    "Evidence",
    "Gold",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Level",
    "Mode",
    "PainPathError",
    "Setting",
    "Sex",
    "StopReason",
    "TriageReason",
    "TriageResult",
    "assess",
    "assess_arrays",
    "assess_many",
    "default_kb",
    "load_case",
    "load_cases",
    "load_kb",
    "parse_case",
]
