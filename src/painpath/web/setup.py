"""First run: a one-time page that creates the first clinic and its first admin.

The page is shown only while no clinic exists, and only to a browser on this machine: the client
address is a loopback address, the ``Host`` header names a loopback host (so a web page elsewhere cannot reach
it through DNS rebinding) and no proxy forwarded the request (``X-Forwarded-For``, ``Forwarded``,
``X-Real-IP``). Anywhere else, and for ever once a clinic exists, ``GET /setup`` leads to the login page and
``POST /setup`` answers 404 and creates nothing (a POST without a valid CSRF token is refused with 403 first,
as every form is).
While the page is available, ``GET /clinic/login`` leads to it. The form is CSRF-protected like every other
form, shows the password rules before anything is typed, and reports every problem at once.

The clinic check runs inside the write transaction that creates the clinic (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: a transaction-scoped advisory lock), so two set-up forms sent at once create one clinic.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select, text

from painpath.errors import ConflictError, ServiceError
from painpath.storage import accounts
from painpath.storage.accounts import clinic_exists
from painpath.storage.db import Database
from painpath.storage.models import Clinic
from painpath.web.i18n import gettext as _
from painpath.web.render import render
from painpath.web.security import check_csrf

__all__ = ["PASSWORD_MIN", "clinic_exists", "install", "is_local", "router"]

router = APIRouter(include_in_schema=False)
PASSWORD_MIN = 10  # as painpath.storage.accounts.hash_password, which still checks it when the user is made
PASSWORD_MAX = 1024
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
FORWARD_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
_ADVISORY_LOCK = 0x5041494E  # "PAIN": serialises first-run set-ups on PostgreSQL


def is_local(request: Request) -> bool:
    """The request came straight from this machine, to a loopback host name, through no proxy."""
    try:
        if not request.client or not ipaddress.ip_address(request.client.host).is_loopback:
            return False
    except ValueError:
        return False
    if any(h in request.headers for h in FORWARD_HEADERS):
        return False
    return (request.url.hostname or "").strip("[]") in LOOPBACK_NAMES


def _available(request: Request) -> bool:
    """The page may be shown: a local request while no clinic exists (remembered once one does)."""
    if not is_local(request):
        return False
    state = request.app.state
    if getattr(state, "clinic_exists", False):
        return False
    if clinic_exists(state.db):
        state.clinic_exists = True  # a clinic is never removed through the app: no need to look again
        return False
    return True


def _not_found(request: Request) -> Response:
    return request.app.state.html_error(request, 404, _("This page does not exist."))


def _slug_from(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-")
    return slug if len(slug) >= 2 else ""


def _check(values: dict[str, str], password: str, again: str) -> dict[str, str]:
    """Every problem of the form at once, keyed by field id."""
    errors: dict[str, str] = {}
    if not values["clinic_name"].strip():
        errors["clinic_name"] = _("Enter the clinic's name.")
    if not accounts.SLUG.match(values["slug"]):
        errors["slug"] = _("Use 2 to 63 lower-case letters, digits or hyphens, starting with a letter or digit.")
    if not accounts.EMAIL.match(values["email"].strip().lower()):
        errors["email"] = _("Enter a valid email address, for example lee@clinic.example.")
    if len(password) < PASSWORD_MIN:
        errors["password"] = _("The password needs at least {n} characters.").format(n=PASSWORD_MIN)
    elif len(password) > PASSWORD_MAX:
        errors["password"] = _("The password may have at most {n} characters.").format(n=PASSWORD_MAX)
    elif password != again:
        errors["password_again"] = _("The two passwords are not the same.")
    return errors


def _page(request: Request, status: int = 200, **ctx: Any) -> Response:
    ctx.setdefault("errors", {})
    ctx.setdefault("values", {"clinic_name": "", "slug": "", "name": "", "email": ""})
    return render(request, "setup.html", status=status, password_min=PASSWORD_MIN, **ctx)


@router.get("/setup")
def setup_page(request: Request) -> Response:
    if not _available(request):
        return RedirectResponse("/clinic/login", status_code=303)  # the way in, once there is a clinic
    return _page(request)


@router.post("/setup")
def setup(request: Request, clinic_name: Annotated[str, Form(max_length=200)] = "",
          slug: Annotated[str, Form(max_length=63)] = "", name: Annotated[str, Form(max_length=200)] = "",
          email: Annotated[str, Form(max_length=254)] = "", password: Annotated[str, Form(max_length=2048)] = "",
          password_again: Annotated[str, Form(max_length=2048)] = "",
          csrf: Annotated[str | None, Form()] = None) -> Response:
    check_csrf(request, csrf)  # first, as on every form: a cross-site post is refused whatever the state
    if not _available(request):
        return _not_found(request)
    values = {"clinic_name": clinic_name, "slug": slug.strip().lower() or _slug_from(clinic_name), "name": name,
              "email": email}
    errors = _check(values, password, password_again)
    if errors:
        return _page(request, status=422, values=values, errors=errors)
    db: Database = request.app.state.db
    try:
        pw_hash = accounts.hash_password(password)  # before the write lock: argon2 takes a while
        with db.write() as s:
            if not db.is_sqlite:
                s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
            if s.scalar(select(Clinic.id).limit(1)) is not None:
                request.app.state.clinic_exists = True
                return _not_found(request)  # another set-up got there first
            clinic = accounts.create_clinic(s, values["slug"], values["clinic_name"])
            user = accounts.create_user(s, clinic, email, name=name, role="admin", password_hash=pw_hash)
            done: dict[str, Any] = {"clinic": clinic.name, "slug": clinic.slug, "email": user.email,
                    "intake_code": accounts.format_code(clinic.intake_code)}
    except (ServiceError, ConflictError) as exc:  # the storage layer's own rules, should they be stricter
        field, _sep, message = str(exc).partition(": ")
        key = {"name": "clinic_name", "password": "password", "email": "email", "slug": "slug"}.get(field, "slug")
        return _page(request, status=422, values=values, errors={key: message or str(exc)})
    request.app.state.clinic_exists = True
    return render(request, "setup_done.html", **done)


class _LoginLeadsToSetup:
    """While the set-up page is available, ``GET /clinic/login`` sends this machine's browser to it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/clinic/login":
            from starlette.concurrency import run_in_threadpool

            request = Request(scope)
            if await run_in_threadpool(_available, request):
                await RedirectResponse("/setup", status_code=303)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_middleware(_LoginLeadsToSetup)
