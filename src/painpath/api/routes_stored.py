"""Stored assessments (patients and clinics), accounts, clinic lists, exports and audit."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from painpath import services
from painpath.api.schemas import (
    AmendRequest,
    AnswersUpdate,
    AssessmentOut,
    AssessmentPage,
    AssessmentSummary,
    AuditOut,
    ClaimRequest,
    ClinicOut,
    CreateAssessment,
    CreatedAssessment,
    FinishRequest,
    LoginOut,
    LoginRequest,
    MeOut,
    PasswordResetOut,
    PasswordResetRequest,
    Problem,
    SessionsEnded,
    StepOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserOut,
    WithdrawRequest,
)
from painpath.careplan import OutcomeSnapshot
from painpath.domain import LevelName
from painpath.errors import ConflictError, PermissionDeniedError
from painpath.http.deps import DB, AdminWho, ClinicWho, MaybeWho, SettingsDep, Who, client_key
from painpath.storage import accounts as acc
from painpath.storage import assessments as store
from painpath.storage.models import AssessmentRecord, AuditEntry, Clinic, Token, User

router = APIRouter(prefix="/v1")
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}} for code in (401, 403, 404, 409, 422)
}


def out(rec: AssessmentRecord) -> AssessmentOut:
    step = services.pending_step(store.state_of(rec), finished=rec.status != "in_progress")
    return AssessmentOut(
        id=rec.id, status=rec.status, mode=rec.mode, setting=rec.setting, followup_of=store.shown_followup_of(rec),
        patient_ref=rec.patient_ref, shared_with_clinic=rec.clinic_id is not None, revision=rec.revision,
        created_at=rec.created_at, updated_at=rec.updated_at, finished_at=rec.finished_at, kb_version=rec.kb_version,
        engine_version=rec.engine_version, triage_level=rec.triage_level, state=rec.state,
        next=StepOut.of(step) if step else None, result=rec.result, plan=rec.plan,
        outcome=rec.outcome, followup=rec.followup, history=rec.history or [])


def summary(rec: AssessmentRecord) -> AssessmentSummary:
    top_p = None
    if rec.result:
        top_p = rec.result["conditions"][0]["probability"]
    return AssessmentSummary(
        id=rec.id, status=rec.status, mode=rec.mode, patient_ref=rec.patient_ref, age=rec.state["age"],
        sex=rec.state["sex"], triage_level=rec.triage_level, top_condition=rec.top_condition,
        top_probability=top_p, followup_of=store.shown_followup_of(rec), created_at=rec.created_at, finished_at=rec.finished_at,
        kb_version=rec.kb_version, engine_version=rec.engine_version)


def _created(c: store.Created, settings: SettingsDep) -> CreatedAssessment:
    base = settings.public_base_url.rstrip("/")
    return CreatedAssessment(assessment=out(c.record), patient_token=c.patient_token, share_code=c.share_code,
                             share_url=f"{base}/share/{c.share_code}")


# --- stored assessments ------------------------------------------------------------------------

@router.post("/assessments", response_model=CreatedAssessment, status_code=201, tags=["assessments"], responses=ERRORS,
             summary="Start a stored interview (no account needed); returns a private token and a share code")
def create_assessment(body: CreateAssessment, request: Request, db: DB, who: MaybeWho,
                      settings: SettingsDep) -> CreatedAssessment:
    if body.intake_code and (who is None or not who.is_clinic):  # into a clinic's list without an account: limited
        store.count_intake(db, body.intake_code, client=client_key(request), per_client=settings.intake_per_client,
                           per_code=settings.intake_per_code, window=settings.intake_window_seconds)
    elif who is None:  # nothing enters a clinic's list, but each is a stored record: limited per client too
        store.count_anonymous(db, client=client_key(request), per_client=settings.anonymous_per_client,
                              window=settings.intake_window_seconds)
    with db.write() as s:
        created = services.create(store.AssessmentStore(s, who), age=body.age, sex=body.sex, mode=body.mode,
                                  setting=body.setting, intake_code=body.intake_code, patient_ref=body.patient_ref)
    return _created(created, settings)


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut, tags=["assessments"], responses=ERRORS,
            summary="Read an assessment (its patient token, or a clinician of the clinic it is shared with)")
def read_assessment(assessment_id: str, db: DB, who: Who) -> AssessmentOut:
    with db.write() as s:  # a clinician's read writes an audit entry
        rec = store.read(s, who, assessment_id)
    return out(rec)


@router.put("/assessments/{assessment_id}/answers", response_model=AssessmentOut, tags=["assessments"],
            responses=ERRORS, summary="Add or change answers (present, absent or unknown)")
def put_answers(assessment_id: str, body: AnswersUpdate, db: DB, who: Who, settings: SettingsDep) -> AssessmentOut:
    if len(body.answers) > settings.max_answers_per_request:
        raise acc.ServiceError(f"answers: at most {settings.max_answers_per_request} answers per request")
    with db.write() as s:
        rec = services.record_answers(store.AssessmentStore(s, who), assessment_id, body.answers, screen=body.screen,
                                      revision=body.revision, side=body.side)
    return out(rec)


@router.post("/assessments/{assessment_id}/withdraw", response_model=AssessmentOut, tags=["assessments"],
             responses=ERRORS, summary="Withdraw answers, by finding or a whole screen (to go back)")
def withdraw_answers(assessment_id: str, body: WithdrawRequest, db: DB, who: Who) -> AssessmentOut:
    with db.write() as s:
        rec = services.withdraw_answers(store.AssessmentStore(s, who), assessment_id, findings=body.findings,
                                        screen=body.screen, revision=body.revision)
    return out(rec)


@router.put("/assessments/{assessment_id}/outcome", response_model=AssessmentOut, tags=["assessments"],
            responses=ERRORS, summary="Record pain (0-10) and Patient-Specific Functional Scale scores")
def put_outcome(assessment_id: str, body: OutcomeSnapshot, db: DB, who: Who) -> AssessmentOut:
    with db.write() as s:
        rec = store.set_outcome(s, who, assessment_id, body)
    return out(rec)


@router.post("/assessments/{assessment_id}/finish", response_model=AssessmentOut, tags=["assessments"],
             responses=ERRORS, summary="Compute and store the result and care plan (repeating it changes nothing)")
def finish_assessment(assessment_id: str, db: DB, who: Who, body: FinishRequest | None = None) -> AssessmentOut:
    with db.write() as s:
        rec = services.finish(store.AssessmentStore(s, who), assessment_id, startback=body.startback if body else None)
    return out(rec)


@router.post("/assessments/{assessment_id}/amend", response_model=AssessmentOut, tags=["assessments"],
             responses=ERRORS, summary="Change answers of a finished assessment and recompute (earlier result kept)")
def amend_assessment(assessment_id: str, body: AmendRequest, db: DB, who: Who) -> AssessmentOut:
    with db.write() as s:
        rec = services.amend(store.AssessmentStore(s, who), assessment_id, body.answers, mode=body.mode,
                              side=body.side)
    return out(rec)


@router.post("/assessments/{assessment_id}/followups", response_model=CreatedAssessment, status_code=201,
             tags=["assessments"], responses=ERRORS, summary="Start a follow-up linked to the first assessment")
def create_followup(assessment_id: str, db: DB, who: Who, settings: SettingsDep) -> CreatedAssessment:
    with db.write() as s:
        created = services.start_followup(store.AssessmentStore(s, who), assessment_id)
    return _created(created, settings)


@router.get("/assessments/{assessment_id}/followups", response_model=list[AssessmentSummary], tags=["assessments"],
            responses=ERRORS, summary="The follow-ups of an assessment's first assessment, oldest first")
def list_followups(assessment_id: str, db: DB, who: Who) -> list[AssessmentSummary]:
    with db.write() as s:
        rows = store.followups(s, who, assessment_id)
        store.audit(s, who, "list", [r.id for r in rows])
    return [summary(r) for r in rows]


# --- accounts --------------------------------------------------------------------------------------

@router.post("/auth/login", response_model=LoginOut, tags=["accounts"], responses={**ERRORS, 429: ERRORS[401]},
             summary="Clinician login: a session token (rate-limited per email and client)")
def login(body: LoginRequest, request: Request, db: DB, settings: SettingsDep) -> LoginOut:
    _user, clinic, tok, raw = acc.login(db, body.email, body.password, client_key(request),
                                        attempts=settings.login_attempts, window=settings.login_window_seconds,
                                        account_attempts=settings.login_account_attempts,
                                        session_hours=settings.session_hours)
    return LoginOut(token=raw, expires_at=tok.expires_at, clinic=clinic.slug, role=_user.role)


@router.post("/auth/logout", status_code=204, tags=["accounts"], responses=ERRORS,
             summary="End this login session (an API key is not a session: 409, and the key keeps working)")
def logout(db: DB, who: ClinicWho) -> Response:
    if who.kind != "clinician" or who.token_id is None or who.clinic_id is None:
        raise ConflictError("authorization: an API key is not a login session and logout does not end it; "
                            "a clinic administrator revokes it with DELETE /v1/clinic/tokens/{id}")
    with db.write() as s:
        acc.revoke_token(s, who.clinic_id, who.token_id)
    return Response(status_code=204)


@router.post("/auth/reset-password", status_code=204, tags=["accounts"], responses={**ERRORS, 429: ERRORS[401]},
             summary="Set a new password with the one-time code a clinic administrator gave you")
def reset_password(body: PasswordResetRequest, request: Request, db: DB, settings: SettingsDep) -> Response:
    acc.finish_password_reset(db, body.code, body.new_password, client_key(request),
                              window=settings.login_window_seconds)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, tags=["accounts"], responses=ERRORS)
def me(db: DB, who: Who) -> MeOut:
    with db.read() as s:
        clinic = s.get(Clinic, who.clinic_id) if who.clinic_id else None
        user = s.get(User, who.user_id) if who.user_id else None
        return MeOut(kind=who.kind, clinic=clinic.slug if clinic else None, clinic_name=clinic.name if clinic else None,
                     role=who.role if who.is_clinic else "patient", email=user.email if user else None)


# --- clinic ----------------------------------------------------------------------------------------

@router.get("/clinic", response_model=ClinicOut, tags=["clinic"], responses=ERRORS)
def clinic_info(db: DB, who: ClinicWho) -> ClinicOut:
    with db.read() as s:
        c = s.get(Clinic, who.clinic_id)
        assert c is not None
        return ClinicOut(slug=c.slug, name=c.name, intake_code=acc.format_code(c.intake_code))


@router.get("/clinic/assessments", response_model=AssessmentPage, tags=["clinic"], responses=ERRORS,
            summary="This clinic's assessments, newest first")
def clinic_assessments(
    db: DB, who: ClinicWho,
    status: Annotated[Literal["in_progress", "finished"] | None, Query()] = None,
    level: Annotated[LevelName | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AssessmentPage:
    with db.write() as s:
        rows = store.list_for_clinic(s, who, status=status, level=level, limit=limit, offset=offset)
    return AssessmentPage(items=[summary(r) for r in rows], limit=limit, offset=offset)


EXPORT_COLUMNS = ["id", "status", "mode", "patient_ref", "age", "sex", "triage_level", "top_condition",
                  "top_probability", "followup_of", "created_at", "finished_at", "kb_version", "engine_version"]


FORMULA_START = frozenset("=+-@|%")


def _cell(v: object) -> str:
    """A CSV cell no spreadsheet reads as a formula: a value that starts with a formula character (also the
    full-width and small forms, e.g. U+FF1D, which spreadsheets accept), with white space or a control character
    (tab, CR, LF; white space before a formula) gets a leading apostrophe."""
    text = "" if v is None else v.isoformat() if hasattr(v, "isoformat") else str(v)
    if not text:
        return text
    first = text[0]
    stripped = text.lstrip()
    risky = (first.isspace() or unicodedata.category(first) in ("Cc", "Cf")
             or unicodedata.normalize("NFKC", stripped[:1]) in FORMULA_START
             or unicodedata.normalize("NFKC", first)[:1] in FORMULA_START)
    return "'" + text if risky else text


@router.get("/clinic/export", tags=["clinic"], responses={**ERRORS, 200: {"content": {
    "text/csv": {"schema": {"type": "string"}}, "application/json": {}}}},
    summary="All of this clinic's assessments as CSV (one row each) or JSON (full records)")
def clinic_export(db: DB, who: ClinicWho, format: Annotated[Literal["csv", "json"], Query()] = "csv") -> Response:
    with db.write() as s:
        rows = store.list_for_clinic(s, who, limit=1_000_000, audit_action="export")
        if format == "json":
            data = [out(r).model_dump(mode="json") for r in rows]
            body = json.dumps({"assessments": data}, ensure_ascii=False)
            return Response(body, media_type="application/json",
                            headers={"Content-Disposition": 'attachment; filename="painpath-assessments.json"'})
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(EXPORT_COLUMNS)
        for r in rows:
            sm = summary(r).model_dump()
            w.writerow([_cell(sm[c]) for c in EXPORT_COLUMNS])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="painpath-assessments.csv"'})


@router.post("/clinic/claim", response_model=AssessmentOut, tags=["clinic"], responses=ERRORS,
             summary="Receive an assessment a patient shared with its share code")
def claim(body: ClaimRequest, request: Request, db: DB, who: ClinicWho, settings: SettingsDep) -> AssessmentOut:
    rec = store.claim_limited(db, who, body.share_code, client=client_key(request), attempts=settings.claim_attempts,
                              window=settings.claim_window_seconds)
    return out(rec)


@router.get("/clinic/audit", response_model=list[AuditOut], tags=["clinic"], responses=ERRORS,
            summary="The clinic's audit log, newest first (administrators)")
def clinic_audit(
    db: DB, who: AdminWho,
    assessment_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    with db.read() as s:
        q = select(AuditEntry).where(AuditEntry.clinic_id == who.clinic_id)
        if assessment_id:
            q = q.where(AuditEntry.assessment_id == assessment_id)
        rows = s.scalars(q.order_by(AuditEntry.id.desc()).limit(limit)).all()
        return [AuditOut(id=r.id, at=r.at, actor=r.actor, action=r.action, assessment_id=r.assessment_id, user_id=r.user_id,
                         token_id=r.token_id, detail=r.detail) for r in rows]


def _token_out(t: acc.Token) -> TokenOut:
    return TokenOut(id=t.id, name=t.name, prefix=t.prefix, created_at=t.created_at, revoked_at=t.revoked_at,
                    last_used_at=t.last_used_at)


@router.get("/clinic/tokens", response_model=list[TokenOut], tags=["clinic"], responses=ERRORS)
def list_tokens(db: DB, who: AdminWho) -> list[TokenOut]:
    with db.read() as s:
        return [_token_out(t) for t in acc.list_tokens(s, who.clinic_id)]  # type: ignore[arg-type]  # a clinic principal always has a clinic_id


@router.post("/clinic/tokens", response_model=TokenCreated, status_code=201, tags=["clinic"], responses=ERRORS,
             summary="Create an API key for an integration (shown once)")
def create_token(body: TokenCreate, db: DB, who: AdminWho) -> TokenCreated:
    with db.write() as s:
        tok, raw = acc.issue_token(s, who.clinic_id, kind="api", name=body.name)  # type: ignore[arg-type]  # an admin principal always has a clinic_id
        store.audit(s, who, "token_create", detail=f"token {tok.id}")
        return TokenCreated(**_token_out(tok).model_dump(), token=raw)


@router.delete("/clinic/tokens/{token_id}", status_code=204, tags=["clinic"], responses=ERRORS,
               summary="Revoke an API key; it stops working at once")
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], db: DB, who: AdminWho) -> Response:
    with db.write() as s:
        tok = acc.revoke_token(s, who.clinic_id, token_id)  # type: ignore[arg-type]  # an admin principal always has a clinic_id
        if tok.kind != "api":
            raise PermissionDeniedError("token_id: only API keys are revoked here; sessions end with logout")
        store.audit(s, who, "token_revoke", detail=f"token {token_id}")
    return Response(status_code=204)


# --- users (clinic administrators) ------------------------------------------------------------------

def _user_out(s: Session, u: User) -> UserOut:
    now = acc.utcnow()
    n = s.scalar(select(func.count()).select_from(Token).where(
        Token.user_id == u.id, Token.kind == "session", Token.revoked_at.is_(None),
        (Token.expires_at.is_(None)) | (Token.expires_at > now)))
    return UserOut(id=u.id, email=u.email, name=u.name, role=u.role, active=u.active, open_sessions=n or 0)


UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/clinic/users", response_model=list[UserOut], tags=["clinic"], responses=ERRORS,
            summary="The clinic's users (administrators)")
def list_users(db: DB, who: AdminWho) -> list[UserOut]:
    with db.read() as s:
        return [_user_out(s, u) for u in acc.list_users(s, who.clinic_id)]  # type: ignore[arg-type]  # an admin principal always has a clinic_id


def _not_self(who: acc.Principal, user: User, what: str) -> None:
    if user.id == who.user_id:
        raise ConflictError(f"user_id: you cannot {what} yourself; ask another administrator")


@router.post("/clinic/users/{user_id}/deactivate", response_model=UserOut, tags=["clinic"], responses=ERRORS,
             summary="Deactivate a user: they cannot log in, and their sessions end at once")
def deactivate_user(user_id: UserId, db: DB, who: AdminWho) -> UserOut:
    with db.write() as s:
        user = acc.get_user(s, who.clinic_id, user_id=user_id)
        _not_self(who, user, "deactivate")
        acc.set_active(s, user, False)
        store.audit(s, who, "user_deactivate", detail=f"user {user.id}")
        return _user_out(s, user)


@router.post("/clinic/users/{user_id}/activate", response_model=UserOut, tags=["clinic"], responses=ERRORS,
             summary="Reactivate a deactivated user")
def activate_user(user_id: UserId, db: DB, who: AdminWho) -> UserOut:
    with db.write() as s:
        user = acc.get_user(s, who.clinic_id, user_id=user_id)
        acc.set_active(s, user, True)
        store.audit(s, who, "user_activate", detail=f"user {user.id}")
        return _user_out(s, user)


@router.post("/clinic/users/{user_id}/reset-password", response_model=PasswordResetOut, status_code=201,
             tags=["clinic"], responses=ERRORS,
             summary="A one-time code for a new password (shown once); the old password and every session end now")
def reset_user_password(user_id: UserId, db: DB, who: AdminWho) -> PasswordResetOut:
    with db.write() as s:
        user = acc.get_user(s, who.clinic_id, user_id=user_id)
        sessions = _user_out(s, user).open_sessions
        code = acc.start_password_reset(s, user)
        store.audit(s, who, "user_reset_password", detail=f"user {user.id}")
        return PasswordResetOut(user_id=user.id, code=code, expires_hours=acc.RESET_HOURS, sessions_ended=sessions)


@router.delete("/clinic/users/{user_id}/sessions", response_model=SessionsEnded, tags=["clinic"], responses=ERRORS,
               summary="End every login session of a user (they must log in again; API keys are not affected)")
def end_user_sessions(user_id: UserId, db: DB, who: AdminWho) -> SessionsEnded:
    with db.write() as s:
        user = acc.get_user(s, who.clinic_id, user_id=user_id)
        n = acc.end_sessions(s, user)
        store.audit(s, who, "user_end_sessions", detail=f"user {user.id}: {n} sessions")
        return SessionsEnded(user_id=user.id, sessions_ended=n)
