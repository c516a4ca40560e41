"""Moved to :mod:`painpath.http.deps` (shared by the REST API, the web pages and FHIR); kept so that
existing imports keep working."""

from painpath.http.deps import *  # noqa: F403
from painpath.http.deps import __all__ as __all__
