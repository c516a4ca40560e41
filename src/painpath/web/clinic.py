"""Clinician pages: login, the clinic's assessments, detail with examination findings, trend, export."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from painpath import services
from painpath.domain import LEVELS_DESCENDING
from painpath.engine import default_compiled
from painpath.errors import AuthenticationError, ConflictError, NotFoundError, PermissionDeniedError, ServiceError
from painpath.storage import accounts as acc
from painpath.storage import assessments as store
from painpath.storage.accounts import Principal, resolve_token
from painpath.storage.models import AssessmentRecord, Clinic
from painpath.web.i18n import gettext as _
from painpath.web.patient import _answer_rows, db_of
from painpath.web.render import render
from painpath.web.reports import html_report, pdf_report
from painpath.web.security import SESSION_COOKIE, check_csrf, delete_cookie, get_cookie, rotate_csrf, set_cookie

router = APIRouter(include_in_schema=False)
LEVELS = LEVELS_DESCENDING


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def clinician(request: Request) -> Principal:
    raw = get_cookie(request, SESSION_COOKIE)
    if raw:
        with db_of(request).read() as s:
            who = resolve_token(s, raw)
            if who is not None and who.kind == "clinician":
                clinic = s.get(Clinic, who.clinic_id)
                request.state.clinician = {"clinic": clinic.name if clinic else "", "role": who.role}
                return who
    nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise LoginRequired(nxt)


def _safe_next(url: str | None) -> str:
    return url if url and url.startswith("/") and not url.startswith("//") else "/clinic"


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/clinic/login")
def login_page(request: Request, next: str = "/clinic") -> Response:
    return render(request, "clinic/login.html", next=_safe_next(next), error=None, email="")


@router.post("/clinic/login")
def login(request: Request, email: Annotated[str, Form(max_length=254)] = "",
          password: Annotated[str, Form(max_length=1024)] = "", next: Annotated[str, Form(max_length=500)] = "/clinic",
          csrf: Annotated[str | None, Form()] = None) -> Response:
    check_csrf(request, csrf)
    settings = request.app.state.settings
    client = request.client.host if request.client else "unknown"
    try:
        _user, _clinic, _tok, raw = acc.login(db_of(request), email, password, client,
                                              attempts=settings.login_attempts, window=settings.login_window_seconds,
                                              account_attempts=settings.login_account_attempts,
                                              session_hours=settings.session_hours, name="web login")
    except AuthenticationError:
        return render(request, "clinic/login.html", status=401, next=_safe_next(next), email=email,
                      error=_("The email or password is wrong."))
    except acc.RateLimitedError as exc:
        page = render(request, "clinic/login.html", status=429, next=_safe_next(next), email=email,
                      error=_("Too many attempts. Please wait {n} seconds and try again.").format(n=exc.retry_after))
        page.headers["Retry-After"] = str(exc.retry_after)  # as the API's 429
        return page
    resp = _redirect(_safe_next(next))
    set_cookie(request, resp, SESSION_COOKIE, raw, max_age=settings.session_hours * 3600)
    rotate_csrf(request, resp, raw)  # the forms' token is now bound to this session
    return resp


@router.post("/clinic/logout")
def logout(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
    check_csrf(request, csrf)
    try:
        who = clinician(request)
        with db_of(request).write() as s:
            acc.revoke_token(s, who.clinic_id, who.token_id)  # type: ignore[arg-type]  # a clinician's principal always has a clinic_id
    except LoginRequired:
        pass
    resp = _redirect("/clinic/login")
    delete_cookie(request, resp, SESSION_COOKIE)
    rotate_csrf(request, resp, None)
    return resp


@router.get("/clinic/reset")
def reset_page(request: Request) -> Response:
    return render(request, "clinic/reset.html", error=None)


@router.post("/clinic/reset")
def reset(request: Request, code: Annotated[str, Form(max_length=40)] = "",
          password: Annotated[str, Form(max_length=1024)] = "", csrf: Annotated[str | None, Form()] = None) -> Response:
    """Set a new password with the one-time code a clinic administrator gave (`painpath admin reset-password`)."""
    check_csrf(request, csrf)
    settings = request.app.state.settings
    try:
        acc.finish_password_reset(db_of(request), code, password,
                                  request.client.host if request.client else "unknown",
                                  window=settings.login_window_seconds)
    except NotFoundError:
        return render(request, "clinic/reset.html", status=404,
                      error=_("This code is unknown, used or expired. Ask your clinic administrator for a new one."))
    except acc.RateLimitedError as exc:
        page = render(request, "clinic/reset.html", status=429,
                      error=_("Too many attempts. Please wait {n} seconds and try again.").format(n=exc.retry_after))
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except ServiceError:
        return render(request, "clinic/reset.html", status=422,
                      error=_("The new password must have 10 to 1024 characters."))
    return _redirect("/clinic/login")


def _admin(request: Request) -> Principal:
    who = clinician(request)
    if who.role != "admin":
        raise PermissionDeniedError("role: only a clinic administrator manages users")
    return who


def _users_page(request: Request, who: Principal, *, status: int = 200, code: str | None = None,
                code_for: str = "", done: str = "") -> Response:
    from painpath.api.routes_stored import _user_out

    with db_of(request).read() as s:
        users = [_user_out(s, u) for u in acc.list_users(s, who.clinic_id)]  # type: ignore[arg-type]  # a clinician's principal always has a clinic_id
    return render(request, "clinic/users.html", status=status, users=users, me=who.user_id, code=code,
                  code_for=code_for, done=done)


@router.get("/clinic/users")
def users_page(request: Request) -> Response:
    """Clinic administrators: deactivate or reactivate users, reset a password, end a user's sessions."""
    return _users_page(request, _admin(request))


USER_ACTIONS = ("deactivate", "activate", "reset", "end_sessions")


@router.post("/clinic/users/{user_id}")
def user_action(request: Request, user_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                action: Annotated[str, Form(max_length=16)] = "",
                csrf: Annotated[str | None, Form()] = None) -> Response:
    check_csrf(request, csrf)
    who = _admin(request)
    if action not in USER_ACTIONS:
        raise ServiceError(f"action: must be one of {', '.join(USER_ACTIONS)}")
    code = None
    with db_of(request).write() as s:
        user = acc.get_user(s, who.clinic_id, user_id=user_id)
        if action == "deactivate":
            if user.id == who.user_id:
                raise ConflictError("user: you cannot deactivate yourself; ask another administrator")
            acc.set_active(s, user, False)
        elif action == "activate":
            acc.set_active(s, user, True)
        elif action == "reset":
            code = acc.start_password_reset(s, user)
        else:
            acc.end_sessions(s, user)
        store.audit(s, who, {"deactivate": "user_deactivate", "activate": "user_activate",
                             "reset": "user_reset_password", "end_sessions": "user_end_sessions"}[action],
                    detail=f"user {user.id}")
        email = user.email
    if action in ("reset", "end_sessions") and user_id == who.user_id:
        return _redirect("/clinic/login")  # the administrator ended their own session
    return _users_page(request, who, code=code, code_for=email, done=email)


def _date(value: str | None, field: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        d = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ServiceError(f"{field}: use a date like 2026-11-21") from exc
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


@router.get("/clinic")
def clinic_home(request: Request, level: str = "", status: str = "", condition: str = "", date_from: str = "",
                date_to: str = "", page: int = 1) -> Response:
    who = clinician(request)
    ckb = default_compiled()
    if level and level not in LEVELS:
        raise ServiceError(f"level: must be one of {', '.join(LEVELS)}")
    if status and status not in ("in_progress", "finished"):
        raise ServiceError("status: must be in_progress or finished")
    if condition and condition not in ckb.cidx:
        raise ServiceError(f"condition: unknown condition '{condition}'")
    page = max(1, min(page, 10_000))
    until = _date(date_to, "date_to")
    if until is not None and until.date() == dt.date.max:
        until = None  # the last representable day: no upper bound (adding a day would overflow)
    with db_of(request).write() as s:
        rows = store.list_for_clinic(s, who, status=status or None, level=level or None, condition=condition or None,
                                     since=_date(date_from, "date_from"),
                                     until=until + dt.timedelta(days=1) if until else None,
                                     limit=51, offset=(page - 1) * 50)
        clinic = s.get(Clinic, who.clinic_id)
    conditions = {k: c.short_name for k, c in ckb.kb.conditions.conditions.items()}
    filters = {"level": level, "status": status, "condition": condition, "date_from": date_from, "date_to": date_to}
    return render(request, "clinic/list.html", rows=rows[:50], more=len(rows) > 50, page=page, filters=filters,
                  conditions=conditions, levels=LEVELS, clinic=clinic)


@router.post("/clinic/claim")
def claim(request: Request, share_code: Annotated[str, Form(max_length=32)] = "",
          csrf: Annotated[str | None, Form()] = None) -> Response:
    check_csrf(request, csrf)
    who = clinician(request)
    return _claim(request, who, share_code)


def _claim(request: Request, who: Principal, code: str) -> Response:
    settings = request.app.state.settings
    rec = store.claim_limited(db_of(request), who, code[:32],
                              client=request.client.host if request.client else "unknown",
                              attempts=settings.claim_attempts, window=settings.claim_window_seconds)
    return _redirect(f"/clinic/a/{rec.id}")


@router.get("/share/{code}")
def share_link(request: Request, code: str) -> Response:
    """A share link or QR code: a logged-in clinician is asked to confirm (receiving changes data, so it is a
    POST); anyone else is asked to log in first."""
    clinician(request)
    normal = acc.normalise_code(code[:32])
    if len(normal) != 12 or not set(normal) <= set(acc.CODE_ALPHABET):  # not a share code at all
        raise NotFoundError(store.UNCLAIMABLE)
    return render(request, "clinic/share_confirm.html", code=acc.format_code(normal))


@router.post("/share/{code}")
def share_confirm(request: Request, code: str, csrf: Annotated[str | None, Form()] = None) -> Response:
    check_csrf(request, csrf)
    who = clinician(request)
    return _claim(request, who, code)


def _trend(s: Any, who: Principal, rec: AssessmentRecord) -> list[dict[str, Any]]:
    """Pain and function over the follow-up chain this clinic may see (:func:`store.chain`)."""
    points = []
    for r in store.chain(s, who, rec):
        if r.outcome:
            psfs = r.outcome.get("psfs") or []
            points.append({"id": r.id, "date": r.created_at.date().isoformat(), "pain": r.outcome["pain"],
                           "psfs": round(sum(a["score"] for a in psfs) / len(psfs), 1) if psfs else None})
    return points


def chart(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Coordinates for a small SVG line chart, 0-10 scale (pain: lower is better; function: higher is better)."""
    w, h, pad = 480, 200, 36
    n = len(points)
    xs = [pad + (w - 2 * pad) * (i / (n - 1) if n > 1 else 0.5) for i in range(n)]

    def y(v: float) -> float:
        return round(h - pad - (h - 2 * pad) * v / 10, 1)

    pain = [(round(x, 1), y(p["pain"])) for x, p in zip(xs, points, strict=True)]
    func = [(round(x, 1), y(p["psfs"])) for x, p in zip(xs, points, strict=True) if p["psfs"] is not None]
    return {"w": w, "h": h, "pad": pad, "pain": pain, "psfs": func, "labels": list(zip(xs, points, strict=True)),
            "grid": [(v, y(v)) for v in (0, 5, 10)]}


EXAM_PHASE = "exam"
SHOWN_EXAM_SCREENS = 3  # the most relevant examinations are open; the others are one tap away


def _exam_screens(rec: AssessmentRecord | None = None) -> list[dict[str, Any]]:
    """Examination screens, most relevant to the current differential first: by the expected value of the
    screen's answers (the interview's own measure: chance of changing the urgency or the leading cause, and
    information gained) for the assessment as it stands; screens already fully examined go last."""
    from painpath.interview.policy import screen_value

    ckb = default_compiled()
    kb = ckb.kb
    state = store.state_of(rec).model_copy(update={"mode": "clinician"}) if rec is not None else None
    out: list[dict[str, Any]] = []
    for name, sc in kb.interview.screens.items():
        if sc.phase != EXAM_PHASE:
            continue
        items = []
        for k in sc.findings:
            f = kb.findings.findings[k]
            items.append({"finding": k, "text": f.clinician_question or f.question, "help": f.help})
        value = screen_value(state, name, ckb)[0] if state is not None else 0.0
        out.append({"name": name, "title": sc.title, "items": items, "value": value})
    if state is not None:
        out.sort(key=lambda sc: -sc["value"])  # stable: file order on ties
    return out


def _history_items(rec: AssessmentRecord) -> dict[str, Any]:
    """History (and warning) questions in the clinician's words: those answered, to correct, and those the
    patient was not asked, by screen, to add."""
    kb = default_compiled().kb
    answered = store.state_of(rec).answer_map
    given, more = [], []
    for sc in kb.interview.screens.values():
        if sc.phase not in ("warning", "history"):
            continue
        rows = [{"finding": k, "text": kb.findings.findings[k].text, "value": answered.get(k)} for k in sc.findings]
        given += [r for r in rows if r["value"] is not None]
        rest = [r for r in rows if r["value"] is None]
        if rest:
            more.append({"title": sc.title, "items": rest})
    return {"given": given, "more": more}


def _changes(rec: AssessmentRecord, changed: str) -> dict[str, Any] | None:
    """What the last save changed: the answers (from the redirect) and the result before and after."""
    if not changed or not rec.history:
        return None
    kb = default_compiled().kb
    answered = store.state_of(rec).answer_map
    keys = [k for k in changed.split(",")[:60] if k in answered]
    if not keys:
        return None
    earlier = rec.history[-1]
    return {"answers": [{"text": kb.findings.findings[k].text, "value": answered[k]} for k in keys],
            "before": {"level": earlier.get("triage_level"), "top": earlier.get("top_condition")},
            "after": {"level": rec.triage_level, "top": rec.top_condition},
            "same": earlier.get("triage_level") == rec.triage_level and earlier.get("top_condition") == rec.top_condition}


@router.get("/clinic/a/{assessment_id}")
def detail(request: Request, assessment_id: str, changed: str = "") -> Response:
    from painpath.web.summary import raise_notes, result_view

    who = clinician(request)
    with db_of(request).write() as s:
        rec = store.read(s, who, assessment_id)
        points = _trend(s, who, rec)
        followups = store.followups(s, who, assessment_id)
    answered = store.state_of(rec).answer_map
    finished = rec.status == "finished"
    return render(request, "clinic/detail.html", rec=rec, result=rec.result, plan=rec.plan, rows=_answer_rows(rec),
                  exam=_exam_screens(rec if finished else None), shown_exam=SHOWN_EXAM_SCREENS, answered=answered,
                  history=_history_items(rec) if finished else None, changes=_changes(rec, changed[:2000]),
                  view=result_view(rec) if rec.result else None, points=points,
                  chart=chart(points) if points else None, followups=followups, raised=raise_notes(rec),
                  conditions={k: c.name for k, c in default_compiled().kb.conditions.conditions.items()})


@router.post("/clinic/a/{assessment_id}/exam")
@router.post("/clinic/a/{assessment_id}/answers")
async def exam(request: Request, assessment_id: str) -> Response:
    """Examination findings and history answers added or corrected by the clinician; the result is recomputed
    and the earlier one kept. Only answers that differ from the stored ones count as changes."""
    form = await request.form()
    check_csrf(request, form.get("csrf"))  # type: ignore[arg-type]  # a form value may be an upload; check_csrf refuses anything but the token string
    who = clinician(request)
    ckb = default_compiled()
    where = set(ckb.kb.interview.screens["where"].findings) if "where" in ckb.kb.interview.screens else set()
    values: dict[str, str] = {}
    bad: list[str] = []
    for key, value in form.items():
        if not key.startswith("f_"):
            continue
        finding = key[2:]
        if finding not in ckb.fidx or finding in where:
            bad.append(f"{key}: unknown finding" if finding not in ckb.fidx else
                       f"{key}: where it hurts is the patient's body map, not changed here")
        elif value not in ("present", "absent", "unknown", ""):
            bad.append(f"{key}: must be present, absent or unknown")
        elif value:
            values[finding] = str(value)
    if bad:
        raise ServiceError("; ".join(bad))
    with db_of(request).write() as s:
        rec = store.load(s, who, assessment_id)
        if rec.status != "finished":
            raise ServiceError("status: the patient has not finished the interview yet; add findings after it ends")
        answered = store.state_of(rec).answer_map
        changed = {k: v for k, v in values.items() if answered.get(k) != v}
        if not changed:
            return _redirect(f"/clinic/a/{assessment_id}")
        signs = any(ckb.kb.findings.findings[k].kind == "sign" for k in changed)
        services.amend(store.AssessmentStore(s, who), assessment_id, changed, mode="clinician" if signs else None)
    return _redirect(f"/clinic/a/{assessment_id}?changed={','.join(changed)}#result")


@router.post("/clinic/a/{assessment_id}/ref")
def patient_ref(request: Request, assessment_id: str, patient_ref: Annotated[str, Form(max_length=64)] = "",
                csrf: Annotated[str | None, Form()] = None) -> Response:
    """The clinic's own reference for the patient (shown in the list); empty removes it."""
    check_csrf(request, csrf)
    who = clinician(request)
    ref = patient_ref.strip()
    with db_of(request).write() as s:
        rec = store.load(s, who, assessment_id, for_update=True)
        rec.patient_ref = ref or None
        store.audit(s, who, "patient_ref", [rec.id])
    return _redirect(f"/clinic/a/{assessment_id}")


def _finished_record(request: Request, assessment_id: str) -> AssessmentRecord:
    who = clinician(request)
    with db_of(request).write() as s:  # a clinician's read writes an audit entry
        rec = store.read(s, who, assessment_id)
    if rec.status != "finished":
        raise NotFoundError("result: this assessment is not finished yet")
    return rec


@router.get("/clinic/a/{assessment_id}/report")
def clinic_report(request: Request, assessment_id: str) -> Response:
    rec = _finished_record(request, assessment_id)
    return html_report(request, rec, _answer_rows(rec))


@router.get("/clinic/a/{assessment_id}/report.pdf")
def clinic_report_pdf(request: Request, assessment_id: str) -> Response:
    rec = _finished_record(request, assessment_id)
    return pdf_report(request, rec, _answer_rows(rec))


@router.get("/clinic/export.{fmt}")
def export(request: Request, fmt: str) -> Response:
    from painpath.api.routes_stored import clinic_export

    if fmt not in ("csv", "json"):
        raise NotFoundError("format: csv or json")
    who = clinician(request)
    return clinic_export(db=db_of(request), who=who, format=fmt)  # type: ignore[arg-type]  # fmt was checked against csv/json just above
