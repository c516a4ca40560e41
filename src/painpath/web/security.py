"""Web security: CSRF, cookie names and flags, and security headers for HTML pages.

CSRF: a logged-in clinician's forms carry a token derived from their session token (so it is bound to the
session and changes at every login); anyone else's carry a random token that must equal their CSRF cookie
(double submit). Over TLS the session, CSRF and patient cookies are ``__Host-`` cookies (Secure, Path=/, no
Domain): a neighbouring sub-domain or a plain-HTTP page cannot set or replace them.
"""

from __future__ import annotations

import base64
import hashlib
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


HOST_PREFIX = "__Host-"
PREFIXED = frozenset({CSRF_COOKIE, SESSION_COOKIE, PATIENT_COOKIE})


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, name: str) -> str:
    """The name a cookie has for this request: ``__Host-`` prefixed over TLS (session, CSRF, patient)."""
    return HOST_PREFIX + name if name in PREFIXED and is_https(request) else name


def get_cookie(request: Request, name: str) -> str | None:
    value = request.cookies.get(cookie_name(request, name))
    if value is None and name == PATIENT_COOKIE and is_https(request):
        value = request.cookies.get(name)  # set before cookies had the prefix: a patient keeps their assessments
    return value


def session_csrf(session_token: str) -> str:
    """The CSRF token of a login session (derived from its secret token: bound to it, new at every login)."""
    digest = hashlib.sha256(("csrf|" + session_token).encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode("ascii")


def csrf_token(request: Request) -> str:
    """The token this browser's forms carry: the session's (logged in), else its CSRF cookie's or a new one
    (the response sets the cookie)."""
    session = get_cookie(request, SESSION_COOKIE)
    cookie = get_cookie(request, CSRF_COOKIE)
    if getattr(request.state, "new_csrf", None):
        return request.state.new_csrf
    if session:
        tok = session_csrf(session)
    elif cookie and len(cookie) >= 20:
        tok = cookie
    else:
        tok = secrets.token_urlsafe(24)
    if tok != cookie:
        request.state.new_csrf = tok
    return tok


def rotate_csrf(request: Request, response: Response, session_token: str | None) -> None:
    """At login (bound to the new session) and logout (a new random token): the old token stops working."""
    tok = session_csrf(session_token) if session_token else secrets.token_urlsafe(24)
    request.state.new_csrf = None
    set_cookie(request, response, CSRF_COOKIE, tok, max_age=60 * 60 * 24)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def check_csrf(request: Request, submitted: str | None) -> None:
    session = get_cookie(request, SESSION_COOKIE)
    cookie = get_cookie(request, CSRF_COOKIE)
    expected = session_csrf(session) if session else cookie
    # the cookie must carry the token too (double submit), and with a session the token must be the session's
    if not expected or not submitted or not cookie or not _same(expected, submitted) or not _same(cookie, submitted):
        raise PermissionDeniedError("csrf: the form expired or did not come from this site; reload the page and try again")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise PermissionDeniedError("origin: the form was sent from another site")


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None,
               httponly: bool = True) -> None:
    response.set_cookie(cookie_name(request, name), value, max_age=max_age, httponly=httponly,
                        secure=is_https(request), samesite="lax", path="/")


def delete_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(cookie_name(request, name), path="/", secure=is_https(request), httponly=True,
                           samesite="lax")


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
