"""Interactive API documentation at ``/docs`` that works without internet access.

Swagger UI's files come from the ``swagger-ui-bundle`` package on PyPI (a runtime dependency, so they are
installed with PainPath, not fetched by the browser from a CDN) and are served under ``/docs/assets/``.
FastAPI's own page would start Swagger UI with an inline script; this page starts it from
``/docs/init.js`` instead, so it carries a strict Content Security Policy of its own: nothing but this
origin, no inline script, no inline style elements, no eval. (Swagger UI styles elements from JavaScript
through the CSSOM, which ``style-src 'self'`` allows.) ReDoc is not offered: no maintained package ships it
for Python, and one set of docs is enough.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["CSP", "install", "swagger_ui_dir"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")

INIT_JS = """// Starts Swagger UI on the OpenAPI document of this server (served from this origin only).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    tryItOutEnabled: false
  });
});
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>PainPath API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <noscript>The interactive documentation needs JavaScript. The API description itself is at
    <a href="/openapi.json">/openapi.json</a>.</noscript>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""


def swagger_ui_dir() -> Path:
    """The directory of Swagger UI's files as installed by the swagger-ui-bundle package."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(swagger_ui_path)


def _headers() -> dict[str, str]:
    return {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache"}


def install(app: FastAPI) -> None:
    """Serve ``/docs`` (create the app with ``docs_url=None`` so FastAPI's CDN page is not registered)."""

    @app.get("/docs", include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(PAGE, headers=_headers())

    @app.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(INIT_JS, media_type="text/javascript", headers=_headers())

    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_dir()), name="docs-assets")
