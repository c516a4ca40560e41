"""Patient pages: start, body map, one question per page, emergency advice, result, report, follow-up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from painpath.careplan import OutcomeSnapshot, PsfsActivity
from painpath.engine import default_compiled
from painpath.errors import CaseError, NotFoundError, ServiceError
from painpath.interview import next_item
from painpath.interview.presenting import BELOW_KNEE, REGIONS, location_answers
from painpath.storage import assessments as store
from painpath.storage.accounts import Principal, resolve_token
from painpath.storage.db import Database
from painpath.storage.models import AssessmentRecord
from painpath.web import i18n, reports
from painpath.web.i18n import gettext as _
from painpath.web.render import render
from painpath.web.security import LANG_COOKIE, PATIENT_COOKIE, check_csrf, get_cookie, set_cookie

router = APIRouter(include_in_schema=False)
MAX_TOKENS = 6
PHASES = [("presenting", "Where it hurts"), ("warning", "Warning signs"), ("history", "About your pain"),
          ("result", "Result")]
Csrf = Annotated[str | None, Form()]


def db_of(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def _tokens(request: Request) -> list[str]:
    raw = get_cookie(request, PATIENT_COOKIE) or ""
    return [t for t in raw.split(".") if t.startswith("ppp_")][:MAX_TOKENS]


def _remember(request: Request, response: Response, token: str) -> None:
    tokens = [token, *[t for t in _tokens(request) if t != token]][:MAX_TOKENS]
    set_cookie(request, response, PATIENT_COOKIE, ".".join(tokens), max_age=60 * 60 * 24 * 90)


def patient(request: Request, assessment_id: str) -> Principal:
    """The patient principal for this assessment from the browser's cookie, or NotFoundError."""
    with db_of(request).read() as s:
        for tok in _tokens(request):
            who = resolve_token(s, tok)
            if who is not None and who.assessment_id == assessment_id:
                request.state.patient_token = tok
                return who
    raise NotFoundError("This assessment is not open in this browser. If it is yours, use the link you saved; "
                        "a clinic can open it with its share code.")


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _load(request: Request, who: Principal, aid: str) -> AssessmentRecord:
    with db_of(request).read() as s:
        return store.load(s, who, aid)


# --- start -------------------------------------------------------------------------------------------

@router.get("/")
def start_page(request: Request, clinic: str | None = None) -> Response:
    return render(request, "start.html", intake_code=(clinic or "")[:32], error=None, values={})


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/") -> Response:
    if code not in i18n.LANGUAGES:
        raise NotFoundError(f"language: '{code}' is not available")
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    resp = _redirect(target)
    set_cookie(request, resp, LANG_COOKIE, code, max_age=60 * 60 * 24 * 365, httponly=False)
    return resp


@router.post("/start")
def start(request: Request, age: Annotated[str, Form()] = "", sex: Annotated[str, Form()] = "",
          intake_code: Annotated[str, Form()] = "", csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    errors = {}
    try:
        age_n = int(age.strip())
        if not 0 <= age_n <= 120:
            raise ValueError
    except ValueError:
        errors["age"] = _("Please enter your age in whole years, from 0 to 120.")
        age_n = 0
    if sex not in ("female", "male"):
        errors["sex"] = _("Please choose one.")
    if errors:
        return render(request, "start.html", status=422, intake_code=intake_code, errors=errors,
                      values={"age": age, "sex": sex})
    if intake_code:  # into a clinic's list without an account: limited per intake code and client
        settings = request.app.state.settings
        store.count_intake(db_of(request), intake_code, client=request.client.host if request.client else "unknown",
                           per_client=settings.intake_per_client, per_code=settings.intake_per_code,
                           window=settings.intake_window_seconds)
    try:
        with db_of(request).write() as s:
            created = store.create(s, None, age=age_n, sex=sex, intake_code=intake_code or None)
    except NotFoundError:
        return render(request, "start.html", status=422, intake_code=intake_code, values={"age": age, "sex": sex},
                      errors={"intake_code": _("We could not find a clinic with this code. Check it, or leave it empty.")})
    resp = _redirect(f"/a/{created.record.id}")
    _remember(request, resp, created.patient_token)
    return resp


# --- the interview -------------------------------------------------------------------------------------

def _progress(step: Any, phase: str) -> dict[str, Any]:
    names = [p for p, _label in PHASES]
    return {"phases": PHASES, "current": names.index(phase) if phase in names else 2,
            "asked": step.questions_asked}


@router.get("/a/{assessment_id}")
def interview_page(request: Request, assessment_id: str) -> Response:
    who = patient(request, assessment_id)
    rec = _load(request, who, assessment_id)
    if rec.status == "finished":
        return _redirect(f"/a/{assessment_id}/result")
    state = store.state_of(rec)
    step, item = next_item(state, default_compiled())
    if step.should_stop:
        with db_of(request).write() as s:
            store.finish(s, who, assessment_id)
        return _redirect(f"/a/{assessment_id}/{'emergency' if step.stop_reason == 'emergency' else 'result'}")
    q = step.question
    assert q is not None
    if q.phase == "presenting":
        return render(request, "where.html", rec=rec, regions=REGIONS, below_knee=BELOW_KNEE,
                      progress=_progress(step, "presenting"), errors={}, chosen=set())
    return render(request, "question.html", rec=rec, question=q, item=item, progress=_progress(step, q.phase),
                  current=None, can_go_back=bool(state.answers))


@router.post("/a/{assessment_id}/where")
async def answer_where(request: Request, assessment_id: str) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf"))  # type: ignore[arg-type]
    who = patient(request, assessment_id)
    regions = [str(r) for r in form.getlist("region")]

    def yn(name: str) -> bool | None:
        v = form.get(name)
        return True if v == "yes" else False if v == "no" else None

    try:
        values = location_answers(regions, both_legs=yn("both_legs"), leg_worse_than_back=yn("leg_worse"),
                                  below_knee_elsewhere=yn("below_knee"))
    except CaseError:
        rec = _load(request, who, assessment_id)
        step, _item = next_item(store.state_of(rec), default_compiled())
        return render(request, "where.html", status=422, rec=rec, regions=REGIONS, below_knee=BELOW_KNEE,
                      progress=_progress(step, "presenting"), chosen=set(regions),
                      errors={"region": _("Choose at least one place that hurts.")})
    pain_raw = str(form.get("pain_now") or "").strip()
    with db_of(request).write() as s:
        store.record_answers(s, who, assessment_id, values, screen="where")
        if pain_raw:
            try:
                store.set_outcome(s, who, assessment_id, OutcomeSnapshot(pain=float(pain_raw)))
            except ValueError as exc:
                raise ServiceError("pain_now: must be a number from 0 to 10") from exc
    return _redirect(f"/a/{assessment_id}")


@router.post("/a/{assessment_id}/answer")
def answer(request: Request, assessment_id: str, finding: Annotated[str, Form(max_length=64)],
           value: Annotated[str, Form(max_length=16)], screen: Annotated[str, Form(max_length=64)] = "",
           back_to: Annotated[str, Form(max_length=16)] = "", csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    who = patient(request, assessment_id)
    if value not in ("present", "absent", "unknown"):
        raise ServiceError("value: must be present, absent or unknown")
    with db_of(request).write() as s:
        rec = store.load(s, who, assessment_id)
        if rec.status == "finished":
            store.amend(s, who, assessment_id, {finding: value})
            return _redirect(f"/a/{assessment_id}/result")
        store.record_answers(s, who, assessment_id, {finding: value}, screen=screen or None)
    return _redirect(f"/a/{assessment_id}/answers" if back_to == "answers" else f"/a/{assessment_id}")


@router.post("/a/{assessment_id}/back")
def back(request: Request, assessment_id: str, csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    who = patient(request, assessment_id)
    rec = _load(request, who, assessment_id)
    state = store.state_of(rec)
    if rec.status == "in_progress" and state.answers:
        last = state.answers[-1]
        with db_of(request).write() as s:
            if last.screen == "where":
                store.withdraw_answers(s, who, assessment_id, screen="where")
            else:  # withdrawing a screen's only answer also un-asks the screen (interview.withdraw)
                store.withdraw_answers(s, who, assessment_id, findings=[last.finding])
    return _redirect(f"/a/{assessment_id}")


def _answer_rows(rec: AssessmentRecord) -> list[dict[str, Any]]:
    kb = default_compiled().kb
    rows = []
    for a in store.state_of(rec).answers:
        f = kb.findings.findings[a.finding]
        rows.append({"finding": a.finding, "question": f.clinician_question if rec.mode == "clinician" and
                     f.kind == "sign" and f.clinician_question else f.question, "value": a.value, "kind": f.kind,
                     "screen": a.screen})
    return rows


@router.post("/a/{assessment_id}/redo-where")
def redo_where(request: Request, assessment_id: str, csrf: Csrf = None) -> Response:
    """Show the body map again (the location answers are withdrawn, the others kept)."""
    check_csrf(request, csrf)
    who = patient(request, assessment_id)
    with db_of(request).write() as s:
        store.withdraw_answers(s, who, assessment_id, screen="where")
    return _redirect(f"/a/{assessment_id}")


@router.get("/a/{assessment_id}/answers")
def answers_page(request: Request, assessment_id: str) -> Response:
    who = patient(request, assessment_id)
    rec = _load(request, who, assessment_id)
    return render(request, "answers.html", rec=rec, rows=_answer_rows(rec))


@router.get("/a/{assessment_id}/change/{finding}")
def change_page(request: Request, assessment_id: str, finding: str) -> Response:
    who = patient(request, assessment_id)
    rec = _load(request, who, assessment_id)
    kb = default_compiled().kb
    answered = store.state_of(rec).answer_map
    if finding not in answered or finding not in kb.findings.findings:
        raise NotFoundError(f"finding: '{finding}' has not been answered")
    if finding in kb.interview.screens["where"].findings:
        return _redirect(f"/a/{assessment_id}/answers")
    f = kb.findings.findings[finding]
    item = {"finding": finding, "text": f.question, "help": f.help}
    return render(request, "question.html", rec=rec, question=None, item=item, progress=None,
                  current=answered[finding], can_go_back=False, back_to="answers" if rec.status == "in_progress" else "")


# --- results -------------------------------------------------------------------------------------------

def _finished(request: Request, assessment_id: str) -> tuple[Principal, AssessmentRecord]:
    who = patient(request, assessment_id)
    rec = _load(request, who, assessment_id)
    if rec.status != "finished":
        raise NotFoundError("result: this assessment is not finished yet")
    return who, rec


@router.get("/a/{assessment_id}/emergency")
def emergency_page(request: Request, assessment_id: str) -> Response:
    who = patient(request, assessment_id)
    rec = _load(request, who, assessment_id)
    if rec.status != "finished":
        return _redirect(f"/a/{assessment_id}")
    return render(request, "emergency.html", rec=rec, result=rec.result)


@router.get("/a/{assessment_id}/result")
def result_page(request: Request, assessment_id: str) -> Response:
    _who, rec = _finished(request, assessment_id)
    return render(request, "result.html", rec=rec, result=rec.result, plan=rec.plan, **reports.share_context(request, rec))


@router.get("/a/{assessment_id}/report")
def report_page(request: Request, assessment_id: str) -> Response:
    _who, rec = _finished(request, assessment_id)
    return reports.html_report(request, rec, _answer_rows(rec))


@router.get("/a/{assessment_id}/report.pdf")
def report_pdf(request: Request, assessment_id: str) -> Response:
    _who, rec = _finished(request, assessment_id)
    return reports.pdf_report(request, rec, _answer_rows(rec))


@router.get("/a/{assessment_id}/followup")
def followup_page(request: Request, assessment_id: str) -> Response:
    _who, rec = _finished(request, assessment_id)
    return render(request, "followup.html", rec=rec, errors={}, values={})


@router.post("/a/{assessment_id}/followup")
async def followup_start(request: Request, assessment_id: str) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf"))  # type: ignore[arg-type]
    who, rec = _finished(request, assessment_id)
    values = {k: str(v) for k, v in form.items()}
    try:
        psfs = []
        for i in range(1, 4):
            act = values.get(f"activity{i}", "").strip()
            if act:
                psfs.append(PsfsActivity(activity=act[:80], score=float(values.get(f"score{i}", ""))))
        snapshot = OutcomeSnapshot(pain=float(values.get("pain", "")), psfs=psfs)
    except ValueError:
        return render(request, "followup.html", status=422, rec=rec, values=values,
                      errors={"form": _("Please give your pain from 0 to 10, and a score from 0 to 10 for each activity you name.")})
    with db_of(request).write() as s:
        created = store.start_followup(s, who, assessment_id)  # a patient's follow-up is always self mode
        fu_who = Principal(kind="patient", assessment_id=created.record.id)
        store.set_outcome(s, fu_who, created.record.id, snapshot)
    resp = _redirect(f"/a/{created.record.id}")
    _remember(request, resp, created.patient_token)
    return resp
