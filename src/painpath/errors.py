"""PainPath's exception tree.

    PainPathError
    ├── KnowledgeBaseError     a knowledge-base file is missing, malformed or inconsistent
    ├── CaseError              a case (file, dict or answer) is malformed; names the file and key
    └── ServiceError           a stored-data operation was refused (each maps to one HTTP status)
        ├── NotFoundError          no such record visible to the caller (404)
        ├── ConflictError          the record's state does not allow it (409)
        ├── AuthenticationError    missing, wrong, expired or revoked credentials (401)
        ├── PermissionDeniedError  authenticated, but not allowed (403)
        └── RateLimitedError       too many failed attempts (429)
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "AuthenticationError",
    "CaseError",
    "ConflictError",
    "KnowledgeBaseError",
    "NotFoundError",
    "PainPathError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServiceError",
]


class PainPathError(Exception):
    """Base class of every error PainPath raises on purpose."""


class ConfigError(PainPathError, ValueError):
    """A setting from the environment (PAINPATH_*, DATABASE_URL) is invalid; the message names each one."""


class KnowledgeBaseError(PainPathError, ValueError):
    """The knowledge base failed validation. ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = problems[0] if problems else "invalid knowledge base"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(head + more)


class CaseError(PainPathError, ValueError):
    """A case could not be read. The message names the file (if any) and the key."""


class ServiceError(PainPathError):
    status = 400
    title = "Bad request"


class NotFoundError(ServiceError):
    status = 404
    title = "Not found"


class ConflictError(ServiceError):
    status = 409
    title = "Conflict"


class AuthenticationError(ServiceError):
    status = 401
    title = "Not authenticated"


class PermissionDeniedError(ServiceError):
    status = 403
    title = "Forbidden"


class RateLimitedError(ServiceError):
    status = 429
    title = "Too many requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
