"""FHIR errors: :class:`FhirError` carries an HTTP status, an issue code and the element it concerns."""

from __future__ import annotations

from typing import Any

from painpath.errors import PainPathError


class FhirError(PainPathError):
    """Refused FHIR input or request. ``expression`` names the element (FHIRPath-like, with indexes)."""

    def __init__(self, message: str, *, expression: str | None = None, status: int = 422, code: str = "invalid",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message, self.expression, self.status, self.code = message, expression, status, code
        self.headers = headers


def operation_outcome(message: str, *, code: str = "invalid", expression: str | None = None,
                      severity: str = "error") -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


ISSUE_CODE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
              406: "not-supported", 409: "conflict", 413: "too-costly", 415: "not-supported", 422: "invalid",
              429: "throttled", 500: "exception"}
