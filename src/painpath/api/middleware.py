"""Pure ASGI middleware: request size limit, access log without personal data, security headers."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("painpath.access")
Scope = dict[str, Any]


class _TooLarge(Exception):
    pass


#: a refusal's content type and body, from its status and detail (a front end's own error format)
Refusal = Callable[[int, str], tuple[bytes, bytes]]


def problem_refusal(status: int, detail: str, path: str = "") -> tuple[bytes, bytes]:
    body = json.dumps({"type": "about:blank", "title": "Request too large" if status == 413 else "Bad request",
                       "status": status, "detail": detail, "instance": path,
                       "errors": [{"field": detail.split(":", 1)[0], "message": detail}]}).encode()
    return b"application/problem+json", body


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


class BodyLimit:
    """Refuse bodies over the limit with 413, whether or not Content-Length is sent.

    ``max_bytes`` is the limit of every path but those in ``path_limits`` (exact paths: the FHIR operations,
    whose QuestionnaireResponse carries the whole interview, get a larger one). A refusal is
    ``application/problem+json`` unless ``refusals`` gives a path prefix its own format (an OperationOutcome
    under ``/fhir``)."""

    def __init__(self, app: Any, max_bytes: int, *, path_limits: Mapping[str, int] | None = None,
                 refusals: Mapping[str, Refusal] | None = None) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.path_limits = dict(path_limits or {})
        self.refusals = dict(refusals or {})

    async def _refuse(self, send: Any, status: int, detail: str, path: str) -> None:
        fmt = next((f for prefix, f in self.refusals.items() if _under(path, prefix)), None)
        ctype, body = fmt(status, detail) if fmt else problem_refusal(status, detail, path)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.path_limits.get(path, self.max_bytes)
        too_large = f"body: larger than the limit of {limit} bytes"
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    size = int(value)
                except ValueError:
                    await self._refuse(send, 400, "Content-Length: not a number", path)
                    return
                if size > limit:
                    await self._refuse(send, 413, too_large, path)
                    return
        seen = 0
        started = refused = False

        async def limited_receive() -> Any:
            nonlocal seen, refused
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    if not started and not refused:
                        # answer here: FastAPI turns any error raised while it reads the body into its own 400
                        refused = True
                        await self._refuse(send, 413, too_large, path)
                    raise _TooLarge
            return msg

        async def tracking_send(msg: Any) -> None:
            nonlocal started
            if refused:
                return  # the 413 is already sent; drop the error response the app makes of _TooLarge
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started and not refused:
                await self._refuse(send, 413, too_large, path)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class AccessLog:
    """One line per request: method, route template (never ids or query strings), status, milliseconds.

    Bodies, query strings, headers and client addresses are never logged, so no personal data reaches the log.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def wrapped(msg: Any) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
                headers = list(msg.get("headers", []))
                names = {h[0].lower() for h in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                # health data must not stay in browser or proxy caches: the API and the web pages (results,
                # reports, clinic lists) are no-store; only the static files may be cached
                if not scope.get("path", "").startswith("/static/") and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                msg = {**msg, "headers": headers}
            await send(msg)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(unmatched)"
            log.info("%s %s %s %.1fms", scope.get("method", "-"), template, status, (time.perf_counter() - t0) * 1000)


CORS_PREFIXES = ("/fhir", "/cds-services", "/v1")


class ApiCors:
    """CORS (Starlette's ``CORSMiddleware``) for the machine-facing APIs only: /fhir, /cds-services and /v1.

    The web pages get no CORS headers. Credentials are never allowed: cross-origin callers authenticate with a
    bearer token (``Authorization`` is an allowed header), never with the clinic's session cookie.
    """

    def __init__(self, app: Any, origins: list[str]) -> None:
        from starlette.middleware.cors import CORSMiddleware

        self.app = app
        self.cors = CORSMiddleware(
            app, allow_origins=origins, allow_credentials=False, allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Accept", "Accept-Language", "Prefer", "If-Match"],
            expose_headers=["Location", "Retry-After", "WWW-Authenticate", "Content-Location"], max_age=600)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if any(path == p or path.startswith(p + "/") for p in CORS_PREFIXES):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
