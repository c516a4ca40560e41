"""The one application factory: ``create_app()`` (and ``app_factory`` for uvicorn's --factory).

This is the composition root. It alone imports all the HTTP front ends -- the REST API (``painpath.api``), the
web pages (``painpath.web``), FHIR and CDS Hooks (``painpath.fhir``) -- and mounts them side by side on one
FastAPI app; they share only ``painpath.http`` (dependencies, problem responses) and never import each other
(``tests/test_architecture.py``)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from painpath.api import docs, routes_engine, routes_stored
from painpath.api.middleware import AccessLog, ApiCors, BodyLimit
from painpath.careplan import load_care_content
from painpath.config import Settings, get_settings
from painpath.engine import CompiledKB, default_compiled
from painpath.fhir import routes as fhir_routes
from painpath.fhir.operations import largest_adaptive_response
from painpath.http import problems
from painpath.storage.db import Database, upgrade

API_VERSION = "1"
DESCRIPTION = """
PainPath answers three questions about leg pain: where it comes from, how urgent it is, and what to do.

* **Engine** endpoints are stateless: send findings or an interview state, get a result or the next question.
* **Assessments** are stored interviews. A patient needs no account: creating one returns a private token
  (for that assessment only) and a share code to give to a clinic.
* **Clinic** endpoints need a clinician's login token or an API key; a clinic sees only its own assessments,
  and every read is audited.

Every error is `application/problem+json` naming the field. PainPath gives information, not a diagnosis,
and does not replace a clinician.
"""


def create_app(settings: Settings | None = None, *, db: Database | None = None, web: bool = True) -> FastAPI:
    settings = settings or get_settings()
    database = db or Database(settings.url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            upgrade(database.url)
        ckb = default_compiled()  # load and check the knowledge base before taking requests
        _check_fhir_limit(settings, ckb)
        load_care_content()  # and the care-plan content (else the first /v1/assess requests all load it at once)
        yield
        if db is None:
            database.dispose()

    # the document's version is the API's (/v1), not the software's: versions are not told to anonymous callers
    app = FastAPI(title="PainPath API", version=API_VERSION, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.db = database
    problems.install(app)
    docs.install(app)  # /docs from files installed with PainPath (works offline, strict CSP)
    app.include_router(routes_engine.router)
    app.include_router(routes_stored.router)
    app.include_router(fhir_routes.fhir_router)
    app.include_router(fhir_routes.cds_router)
    if web:
        from painpath import web as web_pages

        web_pages.install(app)
    # the FHIR operations carry the whole interview in every request: their own, larger limit (never smaller)
    large = max(settings.fhir_max_body_bytes, settings.max_body_bytes)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       path_limits=dict.fromkeys(fhir_routes.LARGE_BODY_PATHS, large),
                       refusals={"/fhir": fhir_routes.body_refusal})
    if settings.cors_origin_list:  # opt-in (PAINPATH_CORS_ORIGINS); inside the access log, so preflights are logged
        app.add_middleware(ApiCors, origins=settings.cors_origin_list)
    app.add_middleware(AccessLog)
    _configure_logging()
    return app


def _check_fhir_limit(settings: Settings, ckb: CompiledKB) -> None:
    """Warn when the FHIR operations' body limit is below the largest adaptive QuestionnaireResponse."""
    need = len(json.dumps(largest_adaptive_response(ckb)))
    if max(settings.fhir_max_body_bytes, settings.max_body_bytes) < need:
        logging.getLogger("painpath").warning(
            "PAINPATH_FHIR_MAX_BODY_BYTES=%d is below the largest adaptive QuestionnaireResponse (%d bytes): long "
            "$next-question interviews may be refused with 413", settings.fhir_max_body_bytes, need)


def _configure_logging() -> None:
    log = logging.getLogger("painpath")
    log.setLevel(logging.INFO)
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        log.addHandler(handler)
        log.propagate = False


__all__ = ["API_VERSION", "DESCRIPTION", "app_factory", "create_app"]


def app_factory() -> FastAPI:
    return create_app()
