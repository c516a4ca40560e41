"""Moved to :mod:`painpath.http.problems` (shared by the REST API, the web pages and FHIR); kept so that
existing imports keep working."""

from painpath.http.problems import *  # noqa: F403
from painpath.http.problems import __all__ as __all__
