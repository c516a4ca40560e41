"""Web security: CSRF (double-submit cookie), cookie flags and security headers for HTML pages."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request, Response

from painpath.errors import PermissionDeniedError

CSRF_COOKIE = "pp_csrf"
SESSION_COOKIE = "pp_session"
PATIENT_COOKIE = "pp_patient"
LANG_COOKIE = "pp_lang"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_token(request: Request) -> str:
    """The browser's CSRF token (from its cookie), or a new one that the response will set."""
    tok = request.cookies.get(CSRF_COOKIE)
    if not tok or len(tok) < 20:
        tok = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(24)
        request.state.new_csrf = tok
    return tok


def check_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise PermissionDeniedError("csrf: the form expired or did not come from this site; reload the page and try again")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise PermissionDeniedError("origin: the form was sent from another site")


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None,
               httponly: bool = True) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=httponly, secure=is_https(request), samesite="lax",
                        path="/")


def finish_response(request: Request, response: Response) -> Response:
    new = getattr(request.state, "new_csrf", None)
    if new:
        set_cookie(request, response, CSRF_COOKIE, new, max_age=60 * 60 * 24)
    return response


class HtmlSecurityHeaders:
    """CSP (no inline script), frame-ancestors, and HSTS when the request came over TLS, on HTML responses."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(("/docs", "/redoc")):
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def wrapped(msg: Any) -> None:
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html"):
                    headers.append((b"content-security-policy", CSP.encode()))
                    headers.append((b"permissions-policy", b"camera=(), microphone=(), geolocation=()"))
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                msg = {**msg, "headers": headers}
            await send(msg)

        await self.app(scope, receive, wrapped)
