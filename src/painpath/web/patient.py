"""Patient pages: start, body map, one page per interview screen (each with its own URL), emergency advice,
result, report, follow-up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from painpath import services
from painpath.careplan import OutcomeSnapshot, PsfsActivity
from painpath.domain import StopReason
from painpath.engine import default_compiled
from painpath.errors import ConflictError, NotFoundError, ServiceError
from painpath.interview import next_step
from painpath.storage import assessments as store
from painpath.storage.accounts import Principal, resolve_token
from painpath.storage.db import Database
from painpath.storage.models import AssessmentRecord
from painpath.web import bodymap, i18n, reports, summary, why
from painpath.web.i18n import gettext as _
from painpath.web.render import render
from painpath.web.security import LANG_COOKIE, PATIENT_COOKIE, check_csrf, get_cookie, set_cookie

router = APIRouter(include_in_schema=False)
MAX_TOKENS = 6
PHASES = [("presenting", "Where it hurts"), ("warning", "Warning signs"), ("history", "About your pain"),
          ("result", "Result")]
Csrf = Annotated[str | None, Form()]


def db_of(request: Request) -> Database:
    return request.app.state.db


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
    settings = request.app.state.settings
    client = request.client.host if request.client else "unknown"
    if intake_code:  # into a clinic's list without an account: limited per intake code and client
        store.count_intake(db_of(request), intake_code, client=client, per_client=settings.intake_per_client,
                           per_code=settings.intake_per_code, window=settings.intake_window_seconds)
    else:  # a stored record all the same: limited per client
        store.count_anonymous(db_of(request), client=client, per_client=settings.anonymous_per_client,
                              window=settings.intake_window_seconds)
    try:
        with db_of(request).write() as s:
            created = services.create(store.AssessmentStore(s, None), age=age_n, sex=sex, intake_code=intake_code or None)
    except NotFoundError:
        return render(request, "start.html", status=422, intake_code=intake_code, values={"age": age, "sex": sex},
                      errors={"intake_code": _("We could not find a clinic with this code. Check it, or leave it empty.")})
    resp = _redirect(f"/a/{created.record.id}")
    _remember(request, resp, created.patient_token)
    return resp


# --- the interview: one page per screen, each with its own URL ----------------------------------------

def _progress(state: Any, phase: str) -> dict[str, Any]:
    names = [p for p, _label in PHASES]
    asked = [s for s in state.screens_asked if s != "where"]
    return {"phases": PHASES, "current": names.index(phase) if phase in names else 2, "asked": len(asked)}


def _step_url(aid: str, screen: str) -> str:
    return f"/a/{aid}/s/{screen}"


def _continue(request: Request, who: Principal, aid: str) -> RedirectResponse:
    """Redirect to the next screen to answer, or finish the interview and go to the result (or emergency)."""
    with db_of(request).read() as s:
        state = store.state_of(store.load(s, who, aid))
    step = next_step(state, default_compiled())
    if step.should_stop:
        with db_of(request).write() as s:
            services.finish(store.AssessmentStore(s, who), aid)
        return _redirect(f"/a/{aid}/{'emergency' if step.stop_reason == StopReason.EMERGENCY else 'result'}")
    assert step.question is not None
    return _redirect(_step_url(aid, step.question.screen))


@router.get("/a/{assessment_id}")
def interview_page(request: Request, assessment_id: str) -> Response:
    who = patient(request, assessment_id)
    rec = _load(request, who, assessment_id)
    if rec.status == "finished":
        return _redirect(f"/a/{assessment_id}/result")
    return _continue(request, who, assessment_id)


def _screen_items(state: Any, screen: str, step: Any) -> list[Any] | None:
    """The items a screen page shows: all of an answered screen (going back), the pending ones of the next
    screen, or None when the screen is neither (the page then sends the person to the right step)."""
    ckb = default_compiled()
    sc = ckb.kb.interview.screens.get(screen)
    if sc is None:
        return None
    if screen in state.screens_asked:
        keys = [k for k in sc.findings if not (state.mode == "self" and ckb.is_sign[ckb.fidx[k]])]
        return [_item_of(ckb, k, state.mode) for k in keys]
    if step is not None and not step.should_stop and step.question is not None and step.question.screen == screen:
        return list(step.question.items)
    return None


def _item_of(ckb: Any, key: str, mode: str) -> Any:
    from painpath.interview.policy import QuestionItem

    f = ckb.kb.findings.findings[key]
    return QuestionItem(finding=key, text=f.clinician_question if (mode == "clinician" and f.clinician_question)
                        else f.question, help=f.help)


def _previous(state: Any, screen: str) -> str | None:
    asked = list(state.screens_asked)
    if screen in asked:
        i = asked.index(screen)
        return asked[i - 1] if i > 0 else None
    return asked[-1] if asked else None


def _where_page(request: Request, rec: AssessmentRecord, state: Any, *, status: int = 200,
                chosen: set[str] | None = None, values: dict[str, str] | None = None,
                errors: dict[str, str] | None = None) -> Response:
    ckb = default_compiled()
    answered = state.answer_map
    if chosen is None:
        chosen = bodymap.chosen_from_answers(ckb, answered)
    if values is None:
        inv = {"present": "yes", "absent": "no", "unknown": "unknown"}
        values = {}
        if state.side is not None:
            values["side"] = state.side
        elif answered.get("pain_both_legs") == "present":  # stored before the side was asked
            values["side"] = "both"
        elif answered.get("pain_both_legs") == "unknown":
            values["side"] = "unknown"
        if "low_back_pain" in chosen and len(chosen) > 1 and "leg_pain_worse_than_back" in answered:
            values["leg_worse"] = inv[answered["leg_pain_worse_than_back"]]
        if rec.outcome and rec.outcome.get("pain") is not None:
            values["pain_now"] = str(round(rec.outcome["pain"]))
    regions = bodymap.regions_for(ckb)
    return render(request, "where.html", status=status, rec=rec, regions=regions, chosen=chosen,
                  region_keys={r.key for r in regions}, OUTLINE=bodymap.OUTLINE, SHAPES=bodymap.SHAPES,
                  CENTRE=bodymap.CENTRE,
                  values=values, errors=errors or {}, progress=_progress(state, "presenting"),
                  why=why.WHY_WHERE, finished=rec.status == "finished")


@router.get("/a/{assessment_id}/s/{screen}")
def screen_page(request: Request, assessment_id: str, screen: str) -> Response:
    who = patient(request, assessment_id)
    rec = _load(request, who, assessment_id)
    state = store.state_of(rec)
    finished = rec.status == "finished"
    if screen == "where":
        return _where_page(request, rec, state)
    if not any(a.screen == "where" for a in state.answers):
        return _redirect(_step_url(assessment_id, "where"))
    step = None if finished or screen in state.screens_asked else next_step(state, default_compiled())
    items = _screen_items(state, screen, step)
    if items is None:
        return _redirect(f"/a/{assessment_id}/result" if finished else f"/a/{assessment_id}")
    return _screen_render(request, rec, state, screen, items)


def _screen_render(request: Request, rec: AssessmentRecord, state: Any, screen: str, items: list[Any], *,
                   status: int = 200, current: dict[str, str] | None = None,
                   errors: list[str] | None = None) -> Response:
    sc = default_compiled().kb.interview.screens[screen]
    answered = state.answer_map
    cur = current if current is not None else {i.finding: answered[i.finding] for i in items if i.finding in answered}
    prev = _previous(state, screen)
    template = "checklist.html" if sc.phase == "warning" else "screen.html"
    return render(request, template, status=status, rec=rec, screen=screen, title=sc.title, items=items,
                  current=cur, errors=errors or [], progress=_progress(state, sc.phase),
                  why=why.why_for(screen, sc.phase), back_url=_step_url(rec.id, prev) if prev else None,
                  finished=rec.status == "finished")


async def _form(request: Request) -> Any:
    form = await request.form()
    check_csrf(request, form.get("csrf"))  # type: ignore[arg-type]  # a form value may be an upload; check_csrf refuses anything but the token string
    return form


def _save(request: Request, who: Principal, rec: AssessmentRecord, values: dict[str, str], screen: str,
          side: str | None = None) -> Response:
    """Record a screen's answers (the body map's with the side: which leg); before the end go on to the next
    step, after it amend the result if changed."""
    aid = rec.id
    if rec.status == "finished":
        before = store.state_of(rec)
        answered = before.answer_map
        changed = {k: v for k, v in values.items() if answered.get(k) != v}
        if changed or (side is not None and side != before.side):
            with db_of(request).write() as s:
                services.amend(store.AssessmentStore(s, who), aid, changed, side=side)
        return _redirect(f"/a/{aid}/result")
    with db_of(request).write() as s:
        services.record_answers(store.AssessmentStore(s, who), aid, values, screen=screen, side=side)
    return _continue(request, who, aid)


@router.post("/a/{assessment_id}/s/{screen}")
async def screen_answer(request: Request, assessment_id: str, screen: str) -> Response:
    form = await _form(request)
    who = patient(request, assessment_id)
    rec = _load(request, who, assessment_id)
    state = store.state_of(rec)
    ckb = default_compiled()
    if screen == "where":
        return _answer_where(request, who, rec, state, form)
    if not any(a.screen == "where" for a in state.answers):
        return _redirect(_step_url(assessment_id, "where"))
    step = None if rec.status == "finished" or screen in state.screens_asked else next_step(state, ckb)
    items = _screen_items(state, screen, step)
    if items is None:
        raise ConflictError(f"screen: '{screen}' is not the step to answer now; the interview continues at "
                            f"/a/{assessment_id}")
    keys = [i.finding for i in items]
    sc = ckb.kb.interview.screens[screen]
    errors: list[str] = []
    values: dict[str, str] = {}
    if sc.phase == "warning":
        ticked = [str(v) for v in form.getlist("yes")]
        unsure = [str(v) for v in form.getlist("unsure")]
        bad = sorted({k for k in ticked + unsure if k not in keys})
        if bad:
            raise ServiceError(f"yes/unsure: not on this screen: {', '.join(bad)}")
        none = form.get("none") is not None
        if none and ticked:
            errors.append(_("You ticked something and also chose “None of these”. Untick it, or press "
                            "“Continue with what I ticked”."))
        elif not none and not ticked and not unsure:
            errors.append(_("Tick everything that applies, or press “None of these”."))
        values = {k: "present" if k in ticked else "unknown" if k in unsure else "absent" for k in keys}
        current = {k: v for k, v in values.items() if v != "absent"}
    else:
        for i in items:
            v = str(form.get(f"f_{i.finding}") or "")
            if v in ("present", "absent", "unknown"):
                values[i.finding] = v
            elif v:
                raise ServiceError(f"f_{i.finding}: must be present, absent or unknown")
            else:
                errors.append(_("Please answer: {question}").format(question=_(i.text)))
        current = values
    if errors:
        return _screen_render(request, rec, state, screen, items, status=422, current=current, errors=errors)
    return _save(request, who, rec, values, screen)


def _answer_where(request: Request, who: Principal, rec: AssessmentRecord, state: Any, form: Any) -> Response:
    ckb = default_compiled()
    regions = [str(r) for r in form.getlist("region")]
    side, worse = str(form.get("side") or "unknown"), str(form.get("leg_worse") or "")
    pain_raw = str(form.get("pain_now") or "").strip()
    kept = {"side": side, "leg_worse": worse, "pain_now": pain_raw}
    known = {r.key for r in bodymap.regions_for(ckb)}
    bad = [r for r in regions if r not in known]
    if bad:
        raise ServiceError(f"region: unknown region '{bad[0]}'")
    errors: dict[str, str] = {}
    if not regions:
        errors["region"] = _("Choose at least one place that hurts.")
    if side not in bodymap.SIDE_CHOICES:
        errors["side"] = _("Choose left leg, right leg, both legs or not sure.")
        kept["side"] = ""
    if errors:
        return _where_page(request, rec, state, status=422, chosen=set(regions) - set(bad), values=kept, errors=errors)
    pain: float | None = None
    if pain_raw:
        try:
            pain = float(pain_raw)
            if not 0 <= pain <= 10:
                raise ValueError
        except ValueError:
            return _where_page(request, rec, state, status=422, chosen=set(regions), values=kept,
                               errors={"pain_now": _("Give the pain as a whole number from 0 to 10, or leave it "
                                                     "empty.")})
    values = bodymap.location_values(ckb, regions, both_legs=bodymap.SIDE_CHOICES[side], leg_worse=worse)
    stored = rec.outcome or {}
    if pain is not None and rec.status != "finished" and stored.get("pain") != pain:
        with db_of(request).write() as s:  # a follow-up's activity scores (PSFS) are kept
            store.set_outcome(s, who, rec.id, OutcomeSnapshot.model_validate({**stored, "pain": pain}))
    return _save(request, who, rec, values, "where", side=None if side == "unknown" else side)


@router.post("/a/{assessment_id}/answer")
def answer(request: Request, assessment_id: str, finding: Annotated[str, Form(max_length=64)],
           value: Annotated[str, Form(max_length=16)], screen: Annotated[str, Form(max_length=64)] = "",
           back_to: Annotated[str, Form(max_length=16)] = "", csrf: Csrf = None) -> Response:
    """One answer changed from the answers page (before the end: back to the list; after it: recomputed)."""
    check_csrf(request, csrf)
    who = patient(request, assessment_id)
    if value not in ("present", "absent", "unknown"):
        raise ServiceError("value: must be present, absent or unknown")
    with db_of(request).write() as s:
        rec = store.load(s, who, assessment_id)
        if rec.status == "finished":
            services.amend(store.AssessmentStore(s, who), assessment_id, {finding: value})
            return _redirect(f"/a/{assessment_id}/result")
        services.record_answers(store.AssessmentStore(s, who), assessment_id, {finding: value}, screen=screen or None)
    return _redirect(f"/a/{assessment_id}/answers" if back_to == "answers" else f"/a/{assessment_id}")


def _answer_rows(rec: AssessmentRecord) -> list[dict[str, Any]]:
    kb = default_compiled().kb
    rows = []
    for a in store.state_of(rec).answers:
        f = kb.findings.findings[a.finding]
        rows.append({"finding": a.finding, "question": f.clinician_question if rec.mode == "clinician" and
                     f.kind == "sign" and f.clinician_question else f.question, "text": f.text, "value": a.value,
                     "kind": f.kind,
                     "screen": a.screen})
    return rows


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
        return _redirect(_step_url(assessment_id, "where"))
    f = kb.findings.findings[finding]
    item = {"finding": finding, "text": f.question, "help": f.help}
    return render(request, "question.html", rec=rec, question=None, item=item, progress=None,
                  current=answered[finding], back_to="answers" if rec.status == "in_progress" else "")


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
    return render(request, "emergency.html", rec=rec, result=rec.result, view=summary.result_view(rec))


@router.get("/a/{assessment_id}/result")
def result_page(request: Request, assessment_id: str) -> Response:
    _who, rec = _finished(request, assessment_id)
    return render(request, "result.html", rec=rec, result=rec.result, plan=rec.plan, view=summary.result_view(rec),
                  raised=summary.raise_notes(rec), **reports.share_context(request, rec))


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
    check_csrf(request, form.get("csrf"))  # type: ignore[arg-type]  # a form value may be an upload; check_csrf refuses anything but the token string
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
                      errors={"form": _(
                          "Please give your pain from 0 to 10, and a score from 0 to 10 for each activity you name.")})
    with db_of(request).write() as s:
        # a patient's follow-up is always self mode (services.start_followup)
        created = services.start_followup(store.AssessmentStore(s, who), assessment_id)
        fu_who = Principal(kind="patient", assessment_id=created.record.id)
        store.set_outcome(s, fu_who, created.record.id, snapshot)
    resp = _redirect(f"/a/{created.record.id}")
    _remember(request, resp, created.patient_token)
    return resp
