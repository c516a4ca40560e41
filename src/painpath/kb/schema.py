"""Pydantic models for the knowledge-base files (field-level validation).

Cross-file checks (ids that must resolve between files) live in ``checks.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from painpath.domain import LEVELS_DESCENDING, LevelName, RaisedLevelName
from painpath.domain import Level as _Level

__all__ = [
    "Cluster",
    "Condition",
    "ConditionsFile",
    "DependenceFile",
    "Escalation",
    "Finding",
    "FindingsFile",
    "InterviewFile",
    "Floor",
    "Implication",
    "ModelFile",
    "OtherClass",
    "OtherEscalation",
    "OtherPrior",
    "Prior",
    "PriorsFile",
    "Snomed",
    "Source",
    "SourcesFile",
    "Strength",
    "StrengthsFile",
    "TriageFile",
    "WhoCode",
]

Level = LevelName
#: The levels most urgent first, as ``triage.yaml: levels`` must list them.
LEVELS: tuple[str, ...] = LEVELS_DESCENDING


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    citation: str = Field(min_length=10)
    doi: str | None = None
    kind: Literal["study", "review", "guideline", "textbook", "definition"]
    verified: Literal["abstract", "guideline_text", "secondary", "project_document"]


class SourcesFile(_Strict):
    sources: dict[str, Source]


class WhoCode(_Strict):
    code: str
    display: str
    source: str


class Snomed(_Strict):
    code: str = Field(pattern=r"^[0-9]{6,18}$")
    display: str
    source: str
    confidence: Literal["moderate", "high"]


class Condition(_Strict):
    name: str
    short_name: str = Field(min_length=3, max_length=60)
    origin: Literal["back", "hip", "leg", "vascular", "systemic"]
    mechanism: Literal["nerve", "musculoskeletal", "vascular", "inflammatory_infective", "serious_pathology"]
    mechanism_text: str | None = None
    description: str = Field(min_length=20)
    structures: str | None = None
    icd10cm: list[str] = Field(min_length=1)
    icd10_who: list[WhoCode] = Field(default_factory=list)
    snomed: list[Snomed] = Field(default_factory=list)


class ConditionsFile(_Strict):
    conditions: dict[str, Condition]


class Finding(_Strict):
    kind: Literal["symptom", "history", "sign"]
    group: str
    text: str
    question: str = Field(min_length=5)
    clinician_question: str | None = None
    answer_type: Literal["boolean"] = "boolean"
    help: str | None = None


class FindingsFile(_Strict):
    findings: dict[str, Finding]


class Strength(_Strict):
    """P(finding present | condition), with its evidence."""

    p: float | None = Field(default=None, gt=0.0, lt=1.0)
    grade: str | None = None
    src: str | None = None
    est: str | None = None
    adapted: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _one_value_one_basis(self) -> Strength:
        if (self.p is None) == (self.grade is None):
            raise ValueError("give exactly one of `p` or `grade`")
        if (self.src is None) == (self.est is None):
            raise ValueError("give exactly one of `src` (a source id) or `est` (a one-line reason)")
        if self.est is not None and not self.est.strip():
            raise ValueError("`est` must give a reason")
        if self.adapted and self.src is None:
            raise ValueError("`adapted` applies only to sourced figures")
        return self

    @property
    def basis(self) -> str:
        if self.est is not None:
            return "estimate"
        if self.grade is not None:
            return "described"
        return "adapted" if self.adapted else "measured"


class StrengthsFile(_Strict):
    grades: dict[str, float]
    grade_mapping_note: str
    defaults: dict[str, Strength]
    strengths: dict[str, dict[str, Strength]]


class Prior(_Strict):
    self_: float = Field(alias="self", gt=0.0, lt=1.0)
    clinic: float = Field(gt=0.0, lt=1.0)
    src: str | None = None
    est: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _basis(self) -> Prior:
        if (self.src is None) == (self.est is None):
            raise ValueError("give exactly one of `src` or `est`")
        return self


class AgeModifier(_Strict):
    factors: list[float]
    src: str | None = None
    est: str | None = None
    note: str | None = None


class SexModifier(_Strict):
    female: float = Field(gt=0.0)
    male: float = Field(gt=0.0)
    src: str | None = None
    est: str | None = None
    note: str | None = None


class PriorsFile(_Strict):
    settings: dict[str, str]
    priors: dict[str, Prior]
    age_bands: list[tuple[int, int]]
    age_modifiers: dict[str, AgeModifier]
    sex_modifiers: dict[str, SexModifier]


class Implication(_Strict):
    finding: str
    if_present: list[str] = Field(default_factory=list)
    if_absent: list[str] = Field(default_factory=list)
    src: str | None = None
    est: str | None = None


class Cluster(_Strict):
    rho: float = Field(ge=0.0, le=1.0)
    findings: list[str] = Field(min_length=2)
    est: str


class DependenceFile(_Strict):
    implications: list[Implication]
    clusters: dict[str, Cluster]


class Floor(_Strict):
    id: str
    level: Level
    any: list[str] = Field(min_length=1)
    with_any: list[str] = Field(default_factory=list)
    reason: str
    src: str


class Escalation(_Strict):
    id: str
    conditions: list[str] = Field(default_factory=list)
    from_level: Level | None = None
    any: list[str] = Field(min_length=1)
    # fires only while every one of these findings is unknown (never answered, or "don't know"):
    # a rule whose deciding finding cannot be known yet (a sign in self mode) stays cautious
    while_unknown: list[str] = Field(default_factory=list)
    level: Level
    reason: str
    src: str

    @model_validator(mode="after")
    def _target(self) -> Escalation:
        if not self.conditions and self.from_level is None:
            raise ValueError("an escalation names `conditions` or a `from_level`")
        return self


class RedFlags(_Strict):
    """Findings that must each be answered No before advice against routine imaging applies (the CDS Hooks
    lumbar-imaging card): one answered Yes, or not recorded, changes the advice."""

    findings: list[str] = Field(min_length=1)
    reason: str = Field(min_length=1)
    src: str


class TriageFile(_Strict):
    levels: list[Level]
    level_text: dict[Level, str]
    floors: list[Floor]
    condition_levels: dict[str, Level]
    escalations: list[Escalation]
    risk_thresholds: dict[RaisedLevelName, float]
    imaging_red_flags: RedFlags | None = None


class Screen(_Strict):
    phase: Literal["presenting", "warning", "history", "exam"]
    title: str
    findings: list[str] = Field(min_length=1)
    when_any: list[str] = Field(default_factory=list)


class InterviewCaps(_Strict):
    self_: int = Field(alias="self", ge=1)
    clinician: int = Field(ge=1)


class InterviewStop(_Strict):
    change_probability: float = Field(gt=0.0, lt=1.0)
    min_history_screens: int = Field(ge=0)


class Relevance(_Strict):
    """When a warning item is asked before anything else: any finding in ``when_any`` stated present
    (and, if ``with_any`` is given, also one of those).

    Outside its rule the item is not dropped: it competes with the history screens by expected value.
    """

    when_any: list[str] = Field(min_length=1)
    with_any: list[str] = Field(default_factory=list)
    reason: str = Field(min_length=1)
    src: str | None = None


class InterviewFile(_Strict):
    caps: InterviewCaps
    stop: InterviewStop
    screens: dict[str, Screen]
    relevance: dict[str, Relevance] = Field(default_factory=dict)


class OtherPrior(_Strict):
    """Share of all presentations (not a relative weight) that the unlisted-cause class holds a priori."""

    self_: float = Field(alias="self", gt=0.0, lt=0.5)
    clinic: float = Field(gt=0.0, lt=0.5)
    src: str | None = None
    est: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _basis(self) -> OtherPrior:
        if (self.src is None) == (self.est is None):
            raise ValueError("give exactly one of `src` or `est`")
        return self


class OtherEscalation(_Strict):
    """Raises the unlisted-cause class's own level. It fires when every condition it gives holds: a finding of
    ``any`` is present (if ``any`` is given), age >= ``min_age`` and age <= ``max_age`` (if given)."""

    id: str
    any: list[str] = Field(default_factory=list)
    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    level: Level
    reason: str
    src: str | None = None
    est: str | None = None

    @model_validator(mode="after")
    def _trigger(self) -> OtherEscalation:
        if not self.any and self.min_age is None and self.max_age is None:
            raise ValueError("give `any` (findings), `min_age` or `max_age`")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("`min_age` must not be above `max_age`")
        if (self.src is None) == (self.est is None):
            raise ValueError("give exactly one of `src` or `est`")
        return self


class OtherProfile(_Strict):
    """One kind of cause outside the conditions, described by its distinguishing findings only; every
    finding it does not list takes the background rate (strengths.yaml ``defaults``)."""

    name: str
    weight: float = Field(gt=0.0, description="relative share within the unlisted-cause class")
    src: str | None = None
    est: str | None = None
    strengths: dict[str, Strength] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _basis(self) -> OtherProfile:
        if (self.src is None) == (self.est is None):
            raise ValueError("give exactly one of `src` or `est` for the weight")
        return self


class OtherClass(_Strict):
    """The "unlisted cause" (leak) class: a cause of leg pain outside the knowledge base's conditions.

    With ``profiles`` it is a mixture: P(answers | other) = sum over the profiles of
    weight x P(answers | profile); the profile ``generic`` (if listed) uses the broad likelihood
    below (background, ``mix`` and ``flatten``) instead of the background alone."""

    prior: OtherPrior
    age_factors: list[float] | None = None
    age_factors_est: str | None = None
    mix: float = Field(default=0.0, ge=0.0, lt=1.0)
    mix_est: str | None = None
    flatten: float = Field(gt=0.0, le=1.0)
    flatten_est: str
    strengths: dict[str, Strength] = Field(default_factory=dict)
    profiles: dict[str, OtherProfile] = Field(default_factory=dict)
    level: Level = _Level.SELF_CARE.value
    escalations: list[OtherEscalation] = Field(default_factory=list)


class ModelFile(_Strict):
    clip: tuple[float, float]
    temperature: float = Field(gt=0.0)
    sign_weight_self: float = Field(ge=0.0, le=1.0)
    other: OtherClass | None = None
