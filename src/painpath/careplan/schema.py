"""Pydantic models for care-plan content (the YAML files) and for the results built from it.

Content models (read from ``careplan/data/*.yaml``):

    Source            one bibliography entry (sources.yaml)
    CareItem          a patient-facing sentence with its sources
    LibraryItem       an exercise or self-care item (exercises.yaml)
    Treatment         a treatment with an evidence grade (treatments.yaml)
    NextStep          a clinician investigation / referral (next_steps.yaml)
    TailoringRule     finding -> extra items (tailoring.yaml)
    ConditionContent  per-condition text and per-level plans (content.yaml)
    StartBackSpec     the Keele STarT Back tool (startback.yaml)
    OutcomeSpec       pain rating, PSFS and follow-up rules (outcomes.yaml)

Result models (returned by the public functions):

    CarePlan, StartBackResult, OutcomeSnapshot, FollowUpResult
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from painpath.domain import LEVELS_ASCENDING, LevelName
from painpath.domain import Level as _Level
from painpath.messages import Message

__all__ = [
    "GRADES",
    "LEVELS",
    "CareItem",
    "CarePlan",
    "ConditionContent",
    "ConditionSummary",
    "Dose",
    "FollowUpResult",
    "Grade",
    "Level",
    "LevelContent",
    "LibraryItem",
    "NextStep",
    "OutcomeSnapshot",
    "OutcomeSpec",
    "PlanItem",
    "PlanTreatment",
    "PsfsActivity",
    "SharedAdvice",
    "Source",
    "SourceRef",
    "StartBackResult",
    "StartBackSpec",
    "TailoringNote",
    "TailoringRule",
    "Treatment",
    "Trend",
    "level_rank",
    "more_urgent",
]

Level = LevelName
#: Triage levels, least urgent first (index = rank); the order is :class:`painpath.domain.Level`'s.
LEVELS: tuple[Level, ...] = LEVELS_ASCENDING  # type: ignore[assignment]  # the values of LevelName, in rank order
Grade = Literal["recommended", "may_help", "limited_evidence", "not_recommended"]
GRADES: tuple[Grade, ...] = ("recommended", "may_help", "limited_evidence", "not_recommended")
Trend = Literal["improving", "no_change", "worse"]


def level_rank(level: str) -> int:
    """Rank of a triage level: 0 = self_care ... 3 = emergency. Raises ValueError if unknown."""
    return _Level.parse(level).rank


def more_urgent(a: Level, b: Level) -> Level:
    """The more urgent of two levels."""
    return a if _Level.parse(a) >= _Level.parse(b) else b


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- content


class Source(_Strict):
    title: str
    year: int | None = None
    url: str | None = None
    doi: str | None = None
    kind: Literal["guideline", "study", "review", "tool", "website", "estimate"]
    checked: bool = Field(description="seen in this project's research notes or searches (not recalled)")
    note: str | None = None


class _Cited(_Strict):
    sources: list[str] = Field(min_length=1)
    estimate: str | None = Field(default=None, description="why a number is an estimate, when it is one")


class CareItem(_Cited):
    text: str = Field(min_length=3)


class Dose(_Strict):
    sets: int | None = Field(default=None, ge=1)
    reps: int | None = Field(default=None, ge=1)
    hold_seconds: int | None = Field(default=None, ge=1)
    frequency: str
    duration: str | None = None
    text: str = Field(description="the whole dose in plain words")
    sources: list[str] = Field(default_factory=list)
    estimate: str | None = None

    @model_validator(mode="after")
    def _numbers_are_backed(self) -> Dose:
        if not self.sources and not self.estimate:
            raise ValueError("a dose needs sources or an 'estimate:' reason")
        return self


LibraryCategory = Literal[
    "mobility",
    "nerve_mobility",
    "directional_preference",
    "stretch",
    "tendon_loading",
    "strengthening",
    "balance",
    "walking_programme",
    "return_to_run",
    "load_management",
    "symptom_relief",
    "swelling",
    "soft_tissue",
    "medicine",
    "footwear",
    "ergonomics",
    "prevention",
    "lifestyle",
    "protection",
]


class LibraryItem(_Cited):
    id: str
    kind: Literal["exercise", "self_care"]
    category: LibraryCategory
    name: str
    purpose: str
    steps: list[str] = Field(min_length=1)
    dose: Dose | None = None
    progression: list[str] = Field(default_factory=list)
    stop_rules: list[str] = Field(min_length=1)
    grade: Grade
    grade_note: str

    @model_validator(mode="after")
    def _exercise_has_dose(self) -> LibraryItem:
        if self.kind == "exercise" and (self.dose is None or not self.progression):
            raise ValueError("an exercise needs a dose and a progression")
        return self


class Treatment(_Cited):
    id: str
    name: str
    grade: Grade
    summary: str
    conditions: list[str] = Field(min_length=1, description="condition keys, or '*' for any")


class NextStep(_Cited):
    id: str
    kind: Literal["investigation", "referral", "management", "avoid"]
    text: str
    levels: list[Level] = Field(
        default_factory=lambda: list(LEVELS), description="plan levels at which this step is shown"
    )
    triggers: list[str] = Field(
        default_factory=list, description="finding keys that add this step to any emergency/urgent plan"
    )


def _non_acute_levels() -> list[Level]:
    return [_Level.SOON.value, _Level.SELF_CARE.value]


class TailoringRule(_Cited):
    id: str
    when_any: list[str] = Field(min_length=1, description="finding keys; any one True triggers the rule")
    conditions: list[str] = Field(default_factory=lambda: ["*"])
    levels: list[Level] = Field(default_factory=_non_acute_levels)
    add_exercises: list[str] = Field(default_factory=list)
    add_self_care: list[str] = Field(default_factory=list)
    add_treatments: list[str] = Field(default_factory=list)
    note: str


class LevelContent(_Strict):
    headline: str
    why: CareItem
    do_now: list[CareItem] = Field(default_factory=list)
    avoid: list[CareItem] = Field(default_factory=list)
    expected_course: CareItem | None = None
    safety_net: list[CareItem] = Field(min_length=1)
    exercises: list[str] = Field(default_factory=list)
    self_care: list[str] = Field(default_factory=list)
    treatments: list[str] = Field(default_factory=list)


class ConditionContent(_Strict):
    name: str
    summary: CareItem
    base_level: Level
    back_pain: bool = Field(default=False, description="STarT Back stratification applies")
    next_steps: list[str] = Field(default_factory=list)
    levels: dict[Level, LevelContent]

    @model_validator(mode="after")
    def _acute_levels_have_no_exercise(self) -> ConditionContent:
        for level in (_Level.EMERGENCY.value, _Level.URGENT.value):
            block = self.levels.get(level)  # a LevelName value
            if block is not None and (block.exercises or block.self_care or block.treatments):
                raise ValueError(f"level {level!r} must list no exercises, self_care or treatments")
        return self


class StartBackItem(_Strict):
    id: str
    text: str
    subscale: Literal["physical", "psychosocial"]
    response: Literal["agree_disagree", "bothersomeness"]


class BothersomeOption(_Strict):
    value: int = Field(ge=1, le=5)
    key: str
    label: str
    positive: bool


class StartBackSpec(_Strict):
    name: str
    wording_verbatim: bool
    copyright: str
    licence: str
    sources: list[str] = Field(min_length=1)
    instructions: str
    items: list[StartBackItem] = Field(min_length=9, max_length=9)
    bothersome_options: list[BothersomeOption] = Field(min_length=5, max_length=5)
    low_max_total: int
    high_min_subscale: int
    strata: dict[Literal["low", "medium", "high"], CareItem]
    clinician_steps: dict[Literal["low", "medium", "high"], CareItem]


class OutcomeMeasure(_Cited):
    name: str
    instructions: str
    min_value: float
    max_value: float
    mcid_points: float
    mcid_percent: float | None = None
    min_activities: int | None = None
    max_activities: int | None = None
    licence: str


class ExcludedInstrument(_Cited):
    name: str
    reason: str


class OutcomeSpec(_Strict):
    pain: OutcomeMeasure
    psfs: OutcomeMeasure
    no_improvement_weeks: float
    not_improving_min_level: Level
    worse_min_level: Level
    advice: dict[Literal["improving", "no_change_early", "no_change_late", "worse"], CareItem]
    rule_sources: list[str] = Field(min_length=1)
    rule_estimate: str | None = None
    excluded_instruments: list[ExcludedInstrument] = Field(default_factory=list)


# --------------------------------------------------------------------------- results


class PlanItem(BaseModel):
    text: str
    sources: list[str]
    condition: str | None = Field(default=None, description="condition key the item came from")


class ConditionSummary(BaseModel):
    key: str
    name: str
    probability: float
    summary: str
    sources: list[str]


class PlanTreatment(BaseModel):
    id: str
    name: str
    grade: Grade
    summary: str
    sources: list[str]


class TailoringNote(BaseModel):
    rule: str
    findings: list[str]
    items: list[str]
    note: str


class SharedAdvice(BaseModel):
    conditions: list[str]
    note: str = Field(description="in English: note_messages rendered, one after another")
    note_messages: list[Message] = Field(
        default_factory=list, description="the note's sentences as message ids with parameters (other languages)")
    exercises: list[str]
    self_care: list[str]
    safety_net: list[PlanItem]


class SourceRef(BaseModel):
    id: str
    title: str
    url: str | None = None
    doi: str | None = None


class StartBackResult(BaseModel):
    total: int = Field(ge=0, le=9)
    psychosocial: int = Field(ge=0, le=5)
    stratum: Literal["low", "medium", "high"]
    advice: str
    clinician_step: str
    copyright: str
    sources: list[str]


class CarePlan(BaseModel):
    level: Level
    headline: str
    why: PlanItem
    triage_reasons: list[str] = Field(default_factory=list)
    conditions: list[ConditionSummary]
    do_now: list[PlanItem] = Field(default_factory=list)
    avoid: list[PlanItem] = Field(default_factory=list)
    expected_course: PlanItem | None = None
    safety_net: list[PlanItem]
    exercises: list[LibraryItem] = Field(default_factory=list)
    self_care: list[LibraryItem] = Field(default_factory=list)
    treatments: list[PlanTreatment] = Field(default_factory=list)
    clinician_next_steps: list[PlanItem] = Field(default_factory=list)
    shared_advice: SharedAdvice | None = None
    tailoring: list[TailoringNote] = Field(default_factory=list)
    startback: StartBackResult | None = None
    notes: list[str] = Field(default_factory=list, description="in English")
    note_messages: list[Message] = Field(
        default_factory=list, description="the notes as message ids with parameters, in the same order (other languages)")
    sources_used: list[SourceRef] = Field(default_factory=list)


class PsfsActivity(BaseModel):
    model_config = ConfigDict(frozen=True)
    activity: str = Field(min_length=1)
    score: float = Field(ge=0, le=10)


class OutcomeSnapshot(BaseModel):
    """One measurement: pain now (0 = none, 10 = worst imaginable) and up to 5 PSFS activities."""

    model_config = ConfigDict(frozen=True)
    pain: float = Field(ge=0, le=10)
    psfs: list[PsfsActivity] = Field(default_factory=list, max_length=5)

    @field_validator("psfs")
    @classmethod
    def _unique_activities(cls, value: list[PsfsActivity]) -> list[PsfsActivity]:
        names = [a.activity.strip().lower() for a in value]
        if len(set(names)) != len(names):
            raise ValueError("PSFS activities must be different")
        return value

    @property
    def psfs_mean(self) -> float | None:
        if not self.psfs:
            return None
        return sum(a.score for a in self.psfs) / len(self.psfs)


class FollowUpResult(BaseModel):
    pain_change: float = Field(description="current minus previous (negative = less pain)")
    pain_change_percent: float | None
    pain_trend: Trend
    psfs_change: float | None = Field(description="current mean minus previous mean (positive = better)")
    psfs_trend: Trend | None
    trend: Trend
    weeks_since_first: float
    level: Level
    escalated: bool
    advice: PlanItem
    reasons: list[str] = Field(description="in English")
    reason_messages: list[Message] = Field(
        default_factory=list, description="the reasons as message ids with parameters, in the same order (other languages)")
    sources: list[str]
