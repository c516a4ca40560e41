"""Request and response bodies of the REST API (they are the OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt
from pydantic_core import PydanticCustomError

from painpath.assessment import Assessment
from painpath.careplan import CarePlan, FollowUpResult, OutcomeSnapshot
from painpath.domain import AnswerName, LevelName, ModeName, SexName, SideName
from painpath.http.problems import Problem as Problem  # re-exported: part of the REST contract
from painpath.interview import InterviewState, Step
from painpath.messages import Message

Sex = SexName
ModeT = ModeName
AnswerT = AnswerName
LevelT = LevelName
FindingKey = str
Strict = ConfigDict(extra="forbid")


def _known_finding(key: str) -> str:
    """A finding key of the knowledge base; checked by pydantic, so every unknown key is reported together with
    every other invalid field of the request."""
    from painpath.engine import default_compiled

    if key not in default_compiled().fidx:
        raise PydanticCustomError("unknown_finding", "unknown finding key (GET /v1/findings lists them)")
    return key


def _known_setting(setting: str | None) -> str | None:
    from painpath.engine import default_compiled

    known = default_compiled().log_prior
    if setting is not None and setting not in known:
        raise PydanticCustomError("unknown_setting", "unknown setting (known: {known})", {"known": ", ".join(known)})
    return setting


KnownFindingKey = Annotated[str, AfterValidator(_known_finding)]
OMITTED_RULE = ("Only what you list counts: a finding you leave out is unknown (never \"no\"), as in an interview, "
                "which knows only what it asked. List a finding as false for \"no\" and as null for \"don't "
                "know\". To send a benchmark case file as it is, set `unlisted` to 'absent' (the case-file rule: a "
                "symptom or history finding left out counts as absent, a sign left out is unknown).")


class AssessRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        # what an interview asked: only these answers count, everything else is unknown
        {"age": 45, "sex": "male", "findings": {
            "low_back_pain": True, "calf_pain": True, "pain_below_knee": True, "pain_follows_band": True,
            "pain_shooting_electric": True, "saddle_numbness": False, "bladder_problem_new": False,
            "leg_weakness": None}},
        # a benchmark case file sent as it is: symptoms and history it does not list are absent
        {"id": "sciatica-case", "age": 38, "sex": "male", "unlisted": "absent", "findings": {
            "low_back_pain": True, "buttock_pain": True, "posterior_thigh_pain": True, "calf_pain": True,
            "pain_below_knee": True, "leg_pain_worse_than_back": True, "pain_follows_band": True,
            "pain_shooting_electric": True, "tingling_pins_needles": True, "onset_after_lifting_bending": True,
            "worse_sitting_bending": True, "worse_cough_sneeze_strain": True, "worse_back_movement": True}}]})
    id: str = Field(default="request", max_length=100)
    age: StrictInt = Field(ge=0, le=120, description="whole years")
    sex: Sex
    findings: dict[KnownFindingKey, bool | None] = Field(
        default_factory=dict, max_length=200,
        description="finding key -> true (present), false (absent) or null (unknown); keys from GET /v1/findings. "
                    + OMITTED_RULE)
    unlisted: Literal["absent", "unknown"] = Field(
        default="unknown",
        description="what a finding you did not list means: 'unknown' (the default: only what you list counts) or "
                    "'absent' (the case-file rule, for a benchmark case sent as it is: symptoms and history not "
                    "listed are absent, signs unknown)")
    mode: ModeT = "self"
    setting: Annotated[str | None, AfterValidator(_known_setting)] = Field(
        default=None, max_length=32, description="prior setting: self or clinic")
    include_plan: bool = True
    explain_conditions: int = Field(default=6, ge=0, le=50, description="how many top conditions get for/against evidence")


class AssessResponse(BaseModel):
    assessment: Assessment = Field(description="the engine's result; its `triage.level` is the engine's triage level "
                                   "(warning floors, escalations, condition risk)")
    triage_level: LevelT = Field(
        description="the one final level, as a stored assessment's `triage_level`: the engine's triage level raised "
                    "to the lowest level of the condition the care plan is for (the plan's level); report this one")
    raised_by: list[str] = Field(
        default_factory=list, description="what raised `triage_level` above `assessment.triage.level`: "
                                          "\"condition\" (the plan's notes say which), or nothing")
    plan: CarePlan | None = None


class QuestionItemOut(BaseModel):
    finding: str
    text: str
    help: str | None = None


class QuestionOut(BaseModel):
    screen: str
    phase: str
    title: str
    items: list[QuestionItemOut]
    why: str = Field(description="why this is asked, in plain words (English)")
    why_message: Message | None = Field(default=None, description="`why` as a message id with parameters")
    value: float
    change_probability: float


class StepOut(BaseModel):
    question: QuestionOut | None
    should_stop: bool
    stop_reason: str = Field(description="'' while asking; emergency | confident | cap when stopping")
    stop_message: Message | None = Field(default=None, description="the stop reason as a message id to show a "
                                                                   "person (null while asking)")
    questions_asked: int
    level: LevelT = Field(description="the one final level on the answers so far (the engine's triage level raised to "
                                      "the lowest level of the condition a care plan would be for), as "
                                      "`POST /v1/assess` reports for them; at the stop, the level the interview "
                                      "ends with")
    top: str = Field(description="the leading candidate on the answers so far: a condition key, or 'other' "
                                 "(a cause outside the listed conditions)")
    top_probability: float

    @classmethod
    def of(cls, step: Step) -> StepOut:
        q = step.question
        return cls(
            question=None if q is None else QuestionOut(
                screen=q.screen, phase=q.phase, title=q.title, why=q.why, why_message=q.why_message, value=q.value,
                change_probability=q.change_probability,
                items=[QuestionItemOut(finding=i.finding, text=i.text, help=i.help) for i in q.items]),
            should_stop=step.should_stop, stop_reason=step.stop_reason, stop_message=step.stop_message,
            questions_asked=step.questions_asked,
            level=step.level, top=step.top, top_probability=step.top_probability)


class StartRequest(BaseModel):
    model_config = Strict
    age: StrictInt = Field(ge=0, le=120, description="whole years")
    sex: Sex
    mode: ModeT = "self"
    setting: str | None = Field(default=None, max_length=32)


class StateRequest(BaseModel):
    model_config = Strict
    state: InterviewState


class AnswerRequest(BaseModel):
    model_config = Strict
    state: InterviewState
    answers: dict[FindingKey, AnswerT] = Field(max_length=200)
    screen: str | None = Field(default=None, max_length=64)
    side: SideName | None = Field(default=None, description="which leg hurts: left or right (answers pain_both_legs "
                                  "absent) or both (present); kept in the state")


class WhyRequest(BaseModel):
    model_config = Strict
    state: InterviewState
    screen: str = Field(max_length=64)


class StateStep(BaseModel):
    state: InterviewState
    next: StepOut


class WhyOut(BaseModel):
    screen: str
    why: str = Field(description="why the screen would be asked, in plain words (English)")
    why_message: Message = Field(description="`why` as a message id with parameters")
    value: float
    change_probability: float
    information_gain: float


# --- stored assessments ----------------------------------------------------------------------

class CreateAssessment(BaseModel):
    model_config = Strict
    age: StrictInt = Field(ge=0, le=120, description="whole years")
    sex: Sex
    mode: ModeT = "self"
    setting: str | None = Field(default=None, max_length=32)
    intake_code: str | None = Field(default=None, max_length=32,
                                    description="a clinic's intake code: the result goes to that clinic")
    patient_ref: str | None = Field(default=None, max_length=64, description="the clinic's own reference (clinic tokens only)")


class AnswersUpdate(BaseModel):
    model_config = Strict
    answers: dict[FindingKey, AnswerT] = Field(min_length=1, max_length=200)
    screen: str | None = Field(default=None, max_length=64)
    revision: int | None = Field(default=None, ge=0, description="if given, the update fails with 409 unless it matches")
    side: SideName | None = Field(default=None, description="which leg hurts: left or right (answers pain_both_legs "
                                  "absent) or both (present); kept in the state")


class WithdrawRequest(BaseModel):
    model_config = Strict
    findings: list[FindingKey] = Field(default_factory=list, max_length=200)
    screen: str | None = Field(default=None, max_length=64)
    revision: int | None = Field(default=None, ge=0)


class AmendRequest(BaseModel):
    model_config = Strict
    answers: dict[FindingKey, AnswerT] = Field(min_length=1, max_length=200)
    mode: ModeT | None = Field(default=None, description="'clinician' switches to clinician mode (clinic tokens only)")
    side: SideName | None = Field(default=None, description="which leg hurts: left or right (answers pain_both_legs "
                                  "absent) or both (present); kept in the state")


class FinishRequest(BaseModel):
    model_config = Strict
    startback: dict[str, bool | int | str] | None = Field(
        default=None, description="Keele STarT Back answers item1..item9 (clinician use; see the care plan docs)")


class AssessmentOut(BaseModel):
    id: str
    status: Literal["in_progress", "finished"]
    mode: ModeT
    setting: str
    followup_of: str | None
    patient_ref: str | None
    shared_with_clinic: bool
    revision: int
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None
    kb_version: str
    engine_version: str
    triage_level: LevelT | None
    state: InterviewState
    next: StepOut | None = Field(description="the next question while in progress")
    result: Assessment | None
    plan: CarePlan | None
    outcome: OutcomeSnapshot | None
    followup: FollowUpResult | None
    history: list[dict[str, Any]] = Field(default_factory=list,
                                          description="earlier results, oldest first, kept when the assessment was amended")


class CreatedAssessment(BaseModel):
    assessment: AssessmentOut
    patient_token: str = Field(description="private bearer token for this assessment only; shown once")
    share_code: str = Field(description="give this code to a clinic so it can see the assessment")
    share_url: str


class AssessmentSummary(BaseModel):
    id: str
    status: str
    mode: str
    patient_ref: str | None
    age: int
    sex: str
    triage_level: LevelT | None
    top_condition: str | None
    top_probability: float | None
    followup_of: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    kb_version: str
    engine_version: str


class AssessmentPage(BaseModel):
    items: list[AssessmentSummary]
    limit: int
    offset: int


class ClaimRequest(BaseModel):
    model_config = Strict
    share_code: str = Field(min_length=4, max_length=32)


# --- accounts --------------------------------------------------------------------------------

class LoginRequest(BaseModel):
    model_config = Strict
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    token: str
    expires_at: dt.datetime | None
    clinic: str
    role: str


class MeOut(BaseModel):
    kind: str
    clinic: str | None
    clinic_name: str | None
    role: str
    email: str | None


class ClinicOut(BaseModel):
    slug: str
    name: str
    intake_code: str


class TokenCreate(BaseModel):
    model_config = Strict
    name: str = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    active: bool
    open_sessions: int


class PasswordResetOut(BaseModel):
    user_id: int
    code: str = Field(description="one-time code for the user's new password (shown once; valid 24 hours)")
    expires_hours: int
    sessions_ended: int


class SessionsEnded(BaseModel):
    user_id: int
    sessions_ended: int


class PasswordResetRequest(BaseModel):
    model_config = Strict
    code: str = Field(min_length=8, max_length=40)
    new_password: str = Field(min_length=10, max_length=1024)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="shown once; store it safely")


class AuditOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str = Field(description="clinic (a clinician or API key: see user_id, token_id) or patient (their token)")
    action: str
    assessment_id: str | None
    user_id: int | None
    token_id: int | None
    detail: str


class VersionOut(BaseModel):
    app_version: str
    kb_version: str
    engine_version: str
    database: str


class Health(BaseModel):
    status: Literal["ok"]
