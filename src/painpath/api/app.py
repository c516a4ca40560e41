"""Moved to :mod:`painpath.asgi`, the application factory that wires the REST API, the web pages and FHIR
together; kept so that existing imports (``from painpath.api.app import create_app``) keep working."""

from painpath.asgi import API_VERSION, DESCRIPTION, app_factory, create_app

__all__ = ["API_VERSION", "DESCRIPTION", "app_factory", "create_app"]
