"""Every error leaves the API as ``application/problem+json`` (RFC 9457), naming the field."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from painpath.errors import CaseError, KnowledgeBaseError, PainPathError, RateLimitedError, ServiceError

log = logging.getLogger("painpath.api")
PROBLEM = "application/problem+json"
TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          406: "Not acceptable", 409: "Conflict", 413: "Request too large", 415: "Unsupported media type",
          422: "Invalid request", 429: "Too many requests", 500: "Internal error"}


def problem(status: int, detail: str, request: Request | None = None, *, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None, title: str | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": title or TITLES.get(status, "Error"), "status": status, "detail": detail,
            "instance": request.url.path if request is not None else None, "errors": errors or []}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _loc(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in exc.errors()]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        return problem(422, f"{first['field']}: {first['message']}", request, errors=errors)

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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.scope.get("route_path", request.url.path))
        return problem(500, "an unexpected error occurred; it has been logged", request)
