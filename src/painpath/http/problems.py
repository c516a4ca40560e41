"""Every error leaves the API as ``application/problem+json`` (RFC 9457), naming the field."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InternalError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from painpath.errors import CaseError, KnowledgeBaseError, PainPathError, RateLimitedError, ServiceError

__all__ = [
    "DB_PATHS",
    "ERROR_DESCRIPTIONS",
    "PROBLEM",
    "Problem",
    "SafeJSONResponse",
    "TITLES",
    "document",
    "install",
    "problem",
]

log = logging.getLogger("painpath.api")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list, description="one entry per invalid field")


PROBLEM = "application/problem+json"
TITLES = {503: "Service unavailable", 400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed",
          406: "Not acceptable", 409: "Conflict", 413: "Request too large", 415: "Unsupported media type",
          422: "Invalid request", 429: "Too many requests", 500: "Internal error"}


class SafeJSONResponse(JSONResponse):
    """JSON that always encodes: a message may quote the input, and JSON input can hold a lone surrogate
    ("\\ud800") that UTF-8 cannot encode; such a body is sent ASCII-escaped (the same JSON) instead of failing."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _wants_html(request: Request | None) -> bool:
    if request is None:
        return False
    path = request.url.path
    return not path.startswith(("/v1/", "/openapi", "/docs", "/redoc", "/static/")) and \
        getattr(request.app.state, "html_error", None) is not None


def problem(status: int, detail: str, request: Request | None = None, *, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None, title: str | None = None) -> Any:
    if request is not None and _wants_html(request):
        resp = request.app.state.html_error(request, status, detail)
        for k, v in (headers or {}).items():
            resp.headers[k] = v
        return resp
    body = {"type": "about:blank", "title": title or TITLES.get(status, "Error"), "status": status, "detail": detail,
            "instance": request.url.path if request is not None else None, "errors": errors or []}
    return SafeJSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _db_reason(exc: OperationalError) -> str:
    text = str(getattr(exc, "orig", exc)).lower()
    for needle, reason in (("readonly", "read-only"), ("read-only", "read-only"), ("disk is full", "disk full"),
                           ("database or disk is full", "disk full"), ("no space", "disk full"),
                           ("locked", "busy"), ("connection", "connection lost"), ("terminating", "restarting"),
                           ("shutting down", "restarting"), ("starting up", "restarting")):
        if needle in text:
            return reason
    return "database error"


def _loc(loc: tuple[Any, ...] | list[Any], key: Any = None) -> str:
    """The dotted field name; a mapping's invalid key is named by the key itself. ``key`` is the error's
    input: for a key error it replaces the key pydantic-core put in ``loc``, which has lost any character
    UTF-8 cannot hold (a lone surrogate becomes U+FFFD), so the message quotes exactly what was sent."""
    parts = list(loc)
    if "[key]" in parts and isinstance(key, str):
        parts[parts.index("[key]") - 1] = key
    return ".".join(str(p) for p in parts if p != "[key]")


ERROR_DESCRIPTIONS = {
    400: "Bad request: the body or a header could not be read, or a value was refused",
    401: "Not authenticated: a bearer token is missing, unknown, expired or revoked",
    403: "Forbidden: the token may not do this",
    404: "Not found (or not visible to this caller)",
    413: "Request too large",
    422: "Invalid request: `errors` names each invalid field",
    429: "Too many failed attempts; see Retry-After",
    503: "The database is unavailable, read-only or full; nothing was saved; see Retry-After",
}
DB_PATHS = ("/v1/assessments", "/v1/clinic", "/v1/auth", "/v1/me", "/v1/health")


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the app sends on errors (in place; idempotent).

    Every error response is ``application/problem+json`` with the Problem schema (FastAPI would document its own
    ``HTTPValidationError`` as ``application/json``), and every operation lists the errors the app can give it:
    413 with a body, 400/422 with a body or parameters, 404 with path parameters, 400/401/403/429 with a bearer
    token (400: a value was refused, e.g. a text with a NUL character, which no database column can hold).
    """
    ref = {"$ref": "#/components/schemas/Problem"}
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
    for path, path_item in spec.get("paths", {}).items():
        for op in path_item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            params = op.get("parameters", [])
            codes: set[int] = set()
            if "requestBody" in op:
                codes |= {400, 413, 422}
            if params:
                codes |= {400, 422}
            if any(p.get("in") == "path" for p in params):
                codes.add(404)
            if op.get("security"):
                codes |= {400, 401, 403, 429}
            if path.startswith(DB_PATHS):
                codes.add(503)
            responses = op["responses"]
            for code in codes:
                responses.setdefault(str(code), {"description": ERROR_DESCRIPTIONS[code]})
            for code, resp in responses.items():
                if code.isdigit() and int(code) >= 400:
                    resp["content"] = {PROBLEM: {"schema": ref}}
                    if int(code) in ERROR_DESCRIPTIONS:
                        resp["description"] = ERROR_DESCRIPTIONS[int(code)]
            op["responses"] = dict(sorted(responses.items()))
    text = repr(spec.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}'" not in text:
            schemas.pop(name, None)
    return spec


def install(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI documents replacing app.openapi to customise the schema

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Any:
        errors = [{"field": _loc(e.get("loc", ()), e.get("input")), "message": e.get("msg", "invalid")}
                  for e in exc.errors()]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        more = f" (and {len(errors) - 1} more, each listed in errors)" if len(errors) > 1 else ""
        return problem(422, f"{first['field']}: {first['message']}{more}", request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), request, headers=getattr(exc, "headers", None))

    @app.exception_handler(CaseError)
    async def _case(request: Request, exc: CaseError) -> JSONResponse:
        msg = str(exc)
        field = msg.split(":", 1)[0] if ":" in msg else ""
        return problem(422, msg, request, errors=[{"field": field, "message": msg}])

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        msg = str(exc)
        field = msg.split(":", 1)[0] if ":" in msg and " " not in msg.split(":", 1)[0] else ""
        return problem(exc.status, msg, request, errors=[{"field": field, "message": msg}] if field else [],
                       headers=headers, title=exc.title)

    @app.exception_handler(KnowledgeBaseError)
    async def _kb(request: Request, exc: KnowledgeBaseError) -> JSONResponse:
        log.error("knowledge base error: %s", exc)
        return problem(500, "the knowledge base failed to load; see the server log", request)

    @app.exception_handler(PainPathError)
    async def _other(request: Request, exc: PainPathError) -> JSONResponse:
        return problem(400, str(exc), request)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> Any:
        # the database is down, restarting, read-only or full: a clear, retryable 503, nothing half-written
        # (the transaction was rolled back). Only the error class is logged, never the statement's parameters.
        log.error("database unavailable on %s %s: %s", request.method,
                  getattr(request.scope.get("route"), "path", "(unmatched)"), _db_reason(exc))
        return problem(503, f"database: temporarily unavailable ({_db_reason(exc)}); nothing was saved, "
                            "try again shortly", request, headers={"Retry-After": "5"}, title="Service unavailable")

    @app.exception_handler(InternalError)
    async def _database_internal(request: Request, exc: InternalError) -> Any:
        # PostgreSQL refusing a write because the database (default_transaction_read_only) or server (a hot
        # standby) is read-only: SQLSTATE 25006, which psycopg raises as InternalError, not OperationalError
        if getattr(exc.orig, "sqlstate", None) == "25006":
            return await _database(request, exc)  # type: ignore[arg-type]  # both database errors share the handler
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.scope.get("route_path", request.url.path))
        return problem(500, "an unexpected error occurred; it has been logged", request)
