"""Stateless engine endpoints: assess, next question, why, catalogue."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel

from painpath import __version__
from painpath.api.schemas import (
    OMITTED_RULE,
    AnswerRequest,
    AssessRequest,
    AssessResponse,
    Health,
    StartRequest,
    StateRequest,
    StateStep,
    StepOut,
    VersionOut,
    WhyOut,
    WhyRequest,
)
from painpath.cases import parse_case
from painpath.domain import setting_for
from painpath.engine import ENGINE_VERSION, default_compiled, posterior
from painpath.errors import CaseError, NotFoundError
from painpath.http.deps import DB, Who
from painpath.interview import answer, start
from painpath.interview.policy import screen_value, validate_state, why_message, why_text
from painpath.interview.state import no_pain_anywhere
from painpath.services import assess_case, conclude_case, levels_of, next_step_final

router = APIRouter(prefix="/v1")


@router.get("/ping", tags=["service"], summary="No-op (for load-balancer checks and benchmarks)")
def ping() -> dict[str, bool]:
    return {"pong": True}


@router.get("/health", response_model=Health, tags=["service"], summary="Healthy when the database answers")
def health(db: DB) -> Health:
    db.ping()
    return Health(status="ok")


@router.get("/version", response_model=VersionOut, tags=["service"],
            summary="Versions of the service (needs a token: versions are not told to anonymous callers)")
def version(db: DB, _who: Who) -> VersionOut:
    return VersionOut(app_version=__version__, kb_version=default_compiled().kb.version, engine_version=ENGINE_VERSION,
                      database="sqlite" if db.is_sqlite else "postgresql")


@router.post("/assess", response_model=AssessResponse, tags=["engine"],
             summary="Assess findings: ranked conditions, origin, triage with reasons, final level, explanation, care plan",
             description="Send what is known as `findings` (finding key -> true, false or null). " + OMITTED_RULE
             + " Every invalid field of a request is reported at once, each in `errors`.")
def assess_endpoint(req: AssessRequest) -> AssessResponse:
    ckb = default_compiled()
    case = replace(parse_case({"id": req.id, "age": req.age, "sex": req.sex, "findings": dict(req.findings)}, ckb),
                   unlisted=req.unlisted)
    if req.include_plan:
        done = conclude_case(case, mode=req.mode, setting=req.setting, ckb=ckb, explain_conditions=req.explain_conditions)
        result, plan, levels = done.assessment, done.plan, done.levels
    else:
        result = assess_case(case, mode=req.mode, setting=req.setting, ckb=ckb,
                             explain_conditions=req.explain_conditions)
        plan, levels = None, levels_of(result)
    return AssessResponse(assessment=result, triage_level=levels.final, raised_by=list(levels.raised_by), plan=plan)


@router.post("/interview/start", response_model=StateStep, tags=["interview"],
             summary="A new interview state and its first question (nothing is stored)")
def interview_start(req: StartRequest) -> StateStep:
    ckb = default_compiled()
    state = start(req.age, req.sex, req.mode, req.setting)
    validate_state(state, ckb)
    return StateStep(state=state, next=StepOut.of(next_step_final(state, ckb)))


@router.post("/interview/answer", response_model=StateStep, tags=["interview"],
             summary="Add or change answers in a state; returns the new state and the next question")
def interview_answer(req: AnswerRequest) -> StateStep:
    ckb = default_compiled()
    validate_state(req.state, ckb)
    if req.screen is not None and req.screen not in ckb.kb.interview.screens:
        raise CaseError(f"screen: unknown screen '{req.screen}'")
    state = answer(req.state, req.answers, ckb, screen=req.screen, side=req.side)
    problems = no_pain_anywhere(state, ckb)
    if problems:
        raise CaseError("; ".join(problems))
    return StateStep(state=state, next=StepOut.of(next_step_final(state, ckb)))


@router.post("/interview/next", response_model=StepOut, tags=["interview"],
             summary="The next question for an interview state, or should_stop with the reason")
def interview_next(req: StateRequest) -> StepOut:
    return StepOut.of(next_step_final(req.state, default_compiled()))


@router.post("/interview/why", response_model=WhyOut, tags=["interview"],
             summary="Why a screen of questions would be asked now, and what it is worth")
def interview_why(req: WhyRequest) -> WhyOut:
    ckb = default_compiled()
    validate_state(req.state, ckb)
    if req.screen not in ckb.kb.interview.screens:
        raise CaseError(f"screen: unknown screen '{req.screen}'")
    st = req.state
    ev = st.evidence(ckb)
    p = posterior(ckb, ev[None, :], np.array([st.age]), np.array([st.sex == "female"]),
                  setting_for(st.mode, st.setting))[0]
    keys = list(ckb.kb.interview.screens[req.screen].findings)
    value, pc, ig = screen_value(st, req.screen, ckb)
    return WhyOut(screen=req.screen, why=why_text(ckb, req.screen, keys, p),
                  why_message=why_message(ckb, req.screen, keys, p), value=value, change_probability=pc,
                  information_gain=ig)


# --- catalogue ---------------------------------------------------------------------------------

class Code(BaseModel):
    system: str
    code: str
    display: str | None = None


class ConditionOut(BaseModel):
    key: str
    name: str
    short_name: str
    origin: str
    mechanism: str
    description: str
    structures: str | None
    codes: list[Code]
    prior_self: float
    prior_clinic: float
    prior_source: str | None
    prior_estimate: str | None


class StrengthOut(BaseModel):
    condition: str
    probability: float
    source: str | None
    estimate: str | None
    explicit: bool


class FindingOut(BaseModel):
    key: str
    kind: str
    group: str
    text: str
    question: str
    clinician_question: str | None
    help: str | None
    strengths: list[StrengthOut] | None = None


class SourceOut(BaseModel):
    id: str
    citation: str
    doi: str | None
    kind: str
    verified: str


def _condition(key: str) -> ConditionOut:
    kb = default_compiled().kb
    c = kb.conditions.conditions[key]
    pr = kb.priors.priors[key]
    codes = [Code(system="http://hl7.org/fhir/sid/icd-10-cm", code=x) for x in c.icd10cm]
    codes += [Code(system="http://hl7.org/fhir/sid/icd-10", code=w.code, display=w.display) for w in c.icd10_who]
    codes += [Code(system="http://snomed.info/sct", code=s.code, display=s.display) for s in c.snomed]
    return ConditionOut(key=key, name=c.name, short_name=c.short_name, origin=c.origin, mechanism=c.mechanism,
                        description=c.description, structures=c.structures, codes=codes, prior_self=pr.self_,
                        prior_clinic=pr.clinic, prior_source=pr.src, prior_estimate=pr.est)


def _finding(key: str, detail: bool) -> FindingOut:
    kb = default_compiled().kb
    f = kb.findings.findings[key]
    strengths = None
    if detail:
        strengths = []
        for c in kb.condition_keys:
            p, entry, explicit = kb.strength(c, key)
            strengths.append(StrengthOut(condition=c, probability=p, source=entry.src, estimate=entry.est, explicit=explicit))
    return FindingOut(key=key, kind=f.kind, group=f.group, text=f.text, question=f.question,
                      clinician_question=f.clinician_question, help=f.help, strengths=strengths)


@router.get("/conditions", response_model=list[ConditionOut], tags=["catalogue"])
def conditions() -> list[ConditionOut]:
    return [_condition(k) for k in default_compiled().kb.condition_keys]


@router.get("/conditions/{key}", response_model=ConditionOut, tags=["catalogue"])
def condition(key: str) -> ConditionOut:
    if key not in default_compiled().cidx:
        raise NotFoundError(f"key: no condition '{key}'")
    return _condition(key)


@router.get("/findings", response_model=list[FindingOut], tags=["catalogue"])
def findings() -> list[FindingOut]:
    return [_finding(k, False) for k in default_compiled().kb.finding_keys]


@router.get("/findings/{key}", response_model=FindingOut, tags=["catalogue"],
            summary="One finding with P(finding | condition) for every condition and each figure's source")
def finding(key: str) -> FindingOut:
    if key not in default_compiled().fidx:
        raise NotFoundError(f"key: no finding '{key}'")
    return _finding(key, True)


@router.get("/sources", response_model=list[SourceOut], tags=["catalogue"])
def sources() -> list[SourceOut]:
    src = default_compiled().kb.sources.sources
    return [SourceOut(id=k, citation=s.citation, doi=s.doi, kind=s.kind, verified=s.verified) for k, s in src.items()]
