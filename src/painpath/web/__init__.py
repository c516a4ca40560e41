"""The web app: server-rendered pages (Jinja2 + htmx) for patients and clinicians, on the same app as the API.

Map: ``patient.py`` (start, body map, questions, result, report, follow-up),
``clinic.py`` (login, list, detail, examination findings, export), ``reports.py``
(HTML/PDF report, share code and QR), ``setup.py`` (the first-run page), ``render.py`` (templates), ``i18n.py``
(Babel catalogues), ``security.py`` (CSRF, cookies, CSP).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from painpath.web import clinic, i18n, patient, setup
from painpath.web.security import LANG_COOKIE, HtmlSecurityHeaders

STATIC = Path(__file__).with_name("static")


class LanguageMiddleware:
    """Pick the language from ?lang=, the language cookie, or Accept-Language, for this request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        lang = i18n.pick(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                         request.headers.get("accept-language"))
        token = i18n.current.set(lang)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current.reset(token)


def html_error(request: Request, status: int, detail: str) -> Response:
    from painpath.web.render import render

    return render(request, "error.html", status=status, status_code=status, detail=detail)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(patient.router)
    app.include_router(clinic.router)
    setup.install(app)  # first run: /setup while no clinic exists (this machine only)
    app.state.html_error = html_error

    @app.exception_handler(clinic.LoginRequired)
    async def _login_required(request: Request, exc: clinic.LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/clinic/login?next={quote(exc.next_url)}", status_code=303)

    app.add_middleware(HtmlSecurityHeaders)
    app.add_middleware(LanguageMiddleware)
