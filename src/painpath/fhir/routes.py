"""HTTP adapters: the FHIR endpoints under ``/fhir`` and the CDS Hooks services under ``/cds-services``.

Every error under ``/fhir`` is an ``OperationOutcome`` (``application/fhir+json``) with a 4xx status (5xx only for
a fault of ours); under ``/cds-services`` it is JSON ``{"error", "error_description"}``. Both routers are left
out of the OpenAPI document: the CapabilityStatement (``GET /fhir/metadata``) and CDS discovery
(``GET /cds-services``) describe them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from painpath import __version__
from painpath.engine import default_compiled
from painpath.errors import CaseError, NotFoundError, RateLimitedError, ServiceError
from painpath.fhir.capability import capability_statement
from painpath.fhir.cds import LUMBAR_IMAGING, PATIENT_VIEW, CdsError, discovery, lumbar_imaging, patient_view
from painpath.fhir.cds_auth import CdsAuthError, verify_jwt
from painpath.fhir.feedback import clinic_slug, read_feedback, store_feedback
from painpath.fhir.operations import assess_response, next_question
from painpath.fhir.outcome import ISSUE_CODE, FhirError, operation_outcome
from painpath.fhir.questionnaire import questionnaire
from painpath.fhir.stored import stored_bundle, stored_risk_assessment
from painpath.http.deps import DB, Who
from painpath.http.problems import SafeJSONResponse
from painpath.storage import assessments as store
from painpath.storage.replay import DatabaseReplayGuard

__all__ = ["LARGE_BODY_PATHS", "body_refusal", "cds_router", "fhir_router"]

log = logging.getLogger("painpath.fhir")
FHIR_JSON = "application/fhir+json"
NO_STORE = {"Cache-Control": "no-store"}


def fhir_response(resource: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return SafeJSONResponse(resource, status_code=status, media_type=FHIR_JSON,
                            headers={**NO_STORE, **(headers or {})})


def _outcome_for(exc: Exception) -> Response:
    if isinstance(exc, FhirError):
        return fhir_response(operation_outcome(exc.message, code=exc.code, expression=exc.expression), exc.status,
                             exc.headers)
    if isinstance(exc, ServiceError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return fhir_response(operation_outcome(str(exc), code=ISSUE_CODE.get(exc.status, "processing")), exc.status,
                             headers)
    if isinstance(exc, CaseError):
        return fhir_response(operation_outcome(str(exc), code="invalid"), 422)
    if isinstance(exc, StarletteHTTPException):
        return fhir_response(operation_outcome(str(exc.detail), code=ISSUE_CODE.get(exc.status_code, "processing")),
                             exc.status_code, getattr(exc, "headers", None))
    if isinstance(exc, RequestValidationError):
        errs = exc.errors()
        first = errs[0] if errs else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return fhir_response(operation_outcome(f"{where}: {first.get('msg', 'invalid')}", expression=where or None),
                             422)
    log.exception("unhandled error in a FHIR request")
    return fhir_response(operation_outcome("an unexpected error occurred; it has been logged", code="exception"), 500)


class FhirRoute(APIRoute):
    """Turns every exception raised by the endpoint or its dependencies into an OperationOutcome."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - each kind is mapped in _outcome_for
                return _outcome_for(exc)

        return run


def _cds_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> Response:
    return SafeJSONResponse({"error": error, "error_description": description}, status_code=status,
                            headers={**NO_STORE, **(headers or {})})


class CdsRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except CdsAuthError as exc:
                return _cds_error(401, "invalid_token", exc.message,
                                  {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            except CdsError as exc:
                return _cds_error(exc.status, exc.error, exc.message)
            except StarletteHTTPException as exc:
                return _cds_error(exc.status_code, "invalid_request", str(exc.detail))
            except Exception:  # noqa: BLE001
                log.exception("unhandled error in a CDS Hooks request")
                return _cds_error(500, "server_error", "an unexpected error occurred; it has been logged")

        return run


fhir_router = APIRouter(prefix="/fhir", route_class=FhirRoute, include_in_schema=False)
cds_router = APIRouter(prefix="/cds-services", route_class=CdsRoute, include_in_schema=False)


#: The paths whose body is a whole adaptive interview (a QuestionnaireResponse with its contained Questionnaire,
#: or a CDS Hooks request with it prefetched): they get the larger body limit (``fhir_max_body_bytes``).
LARGE_BODY_PATHS = ("/fhir/Questionnaire/$next-question", "/fhir/QuestionnaireResponse/$assess",
                    f"/cds-services/{PATIENT_VIEW}", f"/cds-services/{LUMBAR_IMAGING}")


def body_refusal(status: int, detail: str) -> tuple[bytes, bytes]:
    """The body limit's refusal under ``/fhir`` (413, or 400 for a bad Content-Length) as an OperationOutcome."""
    outcome = operation_outcome(detail, code=ISSUE_CODE.get(status, "invalid"), expression=None)
    return FHIR_JSON.encode(), json.dumps(outcome).encode()


def _base_url(request: Request) -> str:
    return str(getattr(request.app.state.settings, "public_base_url", "") or "").rstrip("/")


async def _json_body(request: Request, fhir: bool = True) -> Any:
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype and not (ctype == "application/json" or ctype.endswith("+json")):
        msg = f"Content-Type: {ctype} is not supported; send application/fhir+json or application/json"
        if fhir:
            raise FhirError(msg, status=415, code="not-supported")
        raise CdsError(415, "invalid_request", msg)
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # also a number past Python's digit limit, or nesting too deep
        msg = f"body: not valid JSON ({exc})"
        if fhir:
            raise FhirError(msg, status=400, code="structure") from None
        raise CdsError(400, "invalid_request", msg) from None
    if _deeper_than(body, MAX_JSON_DEPTH):  # the operations walk and copy the body recursively
        msg = f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        if fhir:
            raise FhirError(msg, status=400, code="structure")
        raise CdsError(400, "invalid_request", msg)
    return body


MAX_JSON_DEPTH = 100  # far deeper than any FHIR resource or CDS Hooks request PainPath reads


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children)
    return False


# --- FHIR ------------------------------------------------------------------------------------------------


@fhir_router.get("/metadata")
def metadata(request: Request) -> Response:
    ckb = default_compiled()
    return fhir_response(capability_statement(version=__version__, kb_version=ckb.kb.version,
                                              base_url=_base_url(request), date=dt.date.today().isoformat()))


@fhir_router.get("/Questionnaire/painpath")
def get_questionnaire() -> Response:
    return fhir_response(questionnaire(default_compiled()))


@fhir_router.post("/Questionnaire/$next-question")
async def questionnaire_next_question(request: Request) -> Response:
    body = await _json_body(request)
    return fhir_response(await run_in_threadpool(next_question, body, default_compiled()))


@fhir_router.post("/QuestionnaireResponse/$assess")
async def questionnaire_response_assess(request: Request) -> Response:
    body = await _json_body(request)
    bundle, _ = await run_in_threadpool(assess_response, body, default_compiled())
    return fhir_response(bundle)


def _finished(db: Any, who: Any, assessment_id: str) -> Any:
    with db.write() as s:  # a clinician's read writes an audit entry, as GET /v1/assessments/{id}
        rec = store.read(s, who, assessment_id)
        if rec.status != "finished" or not rec.result:
            raise NotFoundError(f"assessment: '{assessment_id}' has no result yet (it is still in progress)")
    return rec


@fhir_router.get("/Bundle/{assessment_id}")
def get_bundle(assessment_id: str, db: DB, who: Who) -> Response:
    return fhir_response(stored_bundle(default_compiled(), _finished(db, who, assessment_id)))


@fhir_router.get("/RiskAssessment/{assessment_id}")
def get_risk_assessment(assessment_id: str, db: DB, who: Who) -> Response:
    return fhir_response(stored_risk_assessment(default_compiled(), _finished(db, who, assessment_id)))


ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _allowed(router: APIRouter, request: Request) -> list[str]:
    """Methods of the other routes whose path matches (so a wrong method is 405, not 404)."""
    allowed: set[str] = set()
    for r in router.routes:
        if not isinstance(r, APIRoute) or r.path.endswith("{rest:path}"):
            continue
        match, _ = r.matches(request.scope)
        if match != Match.NONE:
            allowed |= r.methods or set()
    return sorted(allowed)


@fhir_router.api_route("/{rest:path}", methods=ALL_METHODS)
def fhir_not_found(rest: str, request: Request) -> Response:
    allowed = _allowed(fhir_router, request)
    if allowed:
        raise FhirError(f"{request.method} is not supported here (allowed: {', '.join(allowed)})", status=405,
                        code="not-supported", headers={"Allow": ", ".join(allowed)})
    raise FhirError(f"/fhir/{rest}: not supported here (see GET /fhir/metadata)", status=404, code="not-supported")


# --- CDS Hooks -------------------------------------------------------------------------------------------


def _authenticate(request: Request, service: str, *, feedback: bool = False) -> dict[str, Any]:
    """Verify the caller's JWT (its claims); its jti is recorded in the database (shared by every worker and machine).

    A feedback call may name the service's URL or the feedback endpoint's own URL as its audience."""
    settings = request.app.state.settings
    base = _base_url(request) or str(request.base_url).rstrip("/")
    url = f"{base}/cds-services/{service}"
    return verify_jwt(request.headers.get("authorization"), issuers=getattr(settings, "cds_issuers", {}) or {},
                      audience=[url, f"{url}/feedback"] if feedback else url,
                      leeway=int(getattr(settings, "cds_clock_skew_seconds", 60)),
                      replay=DatabaseReplayGuard(request.app.state.db))


@cds_router.get("")
def cds_discovery() -> Response:
    return JSONResponse(discovery())


@cds_router.post(f"/{PATIENT_VIEW}")
async def cds_patient_view(request: Request) -> Response:
    await run_in_threadpool(_authenticate, request, PATIENT_VIEW)  # a database write: not on the event loop
    body = await _json_body(request, fhir=False)
    return SafeJSONResponse(await run_in_threadpool(patient_view, body, default_compiled(),
                                                    base_url=_base_url(request)), headers=NO_STORE)


@cds_router.post(f"/{LUMBAR_IMAGING}")
async def cds_lumbar_imaging(request: Request) -> Response:
    await run_in_threadpool(_authenticate, request, LUMBAR_IMAGING)
    body = await _json_body(request, fhir=False)
    return SafeJSONResponse(await run_in_threadpool(lumbar_imaging, body, default_compiled(),
                                                    base_url=_base_url(request)), headers=NO_STORE)


@cds_router.post("/{service}/feedback")
async def cds_feedback(service: str, request: Request) -> Response:
    """CDS Hooks 2.0 feedback on a card of one of PainPath's services: stored with the caller's tenancy, audited."""
    if service not in (PATIENT_VIEW, LUMBAR_IMAGING):
        return _cds_error(404, "not_found", f"/cds-services/{service}/feedback: no such CDS service "
                                            "(see GET /cds-services)")
    claims = await run_in_threadpool(_authenticate, request, service, feedback=True)
    entries = read_feedback(await _json_body(request, fhir=False))
    issuers = getattr(request.app.state.settings, "cds_issuers", {}) or {}
    await run_in_threadpool(store_feedback, request.app.state.db, issuer=claims["iss"], service=service,
                            entries=entries, clinic=clinic_slug(issuers, claims["iss"]))
    return SafeJSONResponse({}, headers=NO_STORE)


@cds_router.api_route("/{rest:path}", methods=ALL_METHODS)
def cds_not_found(rest: str, request: Request) -> Response:
    allowed = _allowed(cds_router, request)
    if allowed:
        return _cds_error(405, "invalid_request", f"{request.method} is not supported here",
                          {"Allow": ", ".join(allowed)})
    return _cds_error(404, "not_found", f"/cds-services/{rest}: no such CDS service (see GET /cds-services)")
