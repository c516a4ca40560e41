"""CDS Hooks 2.0 feedback: ``POST /cds-services/{id}/feedback`` (what the clinician did with a card).

The body is ``{"feedback": [Feedback, ...]}``; each Feedback has ``card`` (the card's uuid), ``outcome``
(``accepted`` | ``overridden``), ``outcomeTimestamp`` (an instant), ``acceptedSuggestions`` (``[{"id"}]``, only
with ``accepted``) and ``overrideReason`` (``{"reason": Coding, "userComment"}``, only with ``overridden``).
Every problem of the body is reported at once (400 ``invalid_request``). Each entry is stored with the calling
JWT's issuer and, when ``PAINPATH_CDS_ISSUERS`` links that issuer to a clinic (``"clinic": "<slug>"``), the
clinic; the clinic's audit log gets one entry per request.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from painpath.fhir.cds import CdsError
from painpath.storage.db import Database
from painpath.storage.models import AuditEntry, CdsFeedback, Clinic

__all__ = ["Feedback", "clinic_slug", "read_feedback", "store_feedback"]

log = logging.getLogger("painpath.fhir")
MAX_ENTRIES = 100
MAX_COMMENT = 4000
OUTCOMES = ("accepted", "overridden")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass
class Feedback:
    card: str
    outcome: str
    outcome_at: dt.datetime
    accepted_suggestions: list[dict[str, str]] | None = None
    override_reason: dict[str, Any] | None = None
    user_comment: str | None = None


def _short_str(value: Any, limit: int = 255) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def _entry(e: Any, at: str, problems: list[str]) -> Feedback | None:
    if not isinstance(e, dict):
        problems.append(f"{at}: must be an object")
        return None
    start = len(problems)
    card, outcome, when = e.get("card"), e.get("outcome"), e.get("outcomeTimestamp")
    if not isinstance(card, str) or not UUID.match(card):
        problems.append(f"{at}.card: required, the uuid of the card")
    if outcome not in OUTCOMES:
        problems.append(f"{at}.outcome: required, 'accepted' or 'overridden' (got {outcome!r})")
    outcome_at = None
    if not isinstance(when, str) or not INSTANT.match(when):
        problems.append(f"{at}.outcomeTimestamp: required, an instant with a time zone (e.g. 2026-12-02T08:00:00Z)")
    else:
        try:
            outcome_at = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"{at}.outcomeTimestamp: {when!r} is not a valid date and time")
    accepted = e.get("acceptedSuggestions")
    if accepted is not None:
        if outcome == "overridden":
            problems.append(f"{at}.acceptedSuggestions: only with outcome 'accepted'")
        elif not isinstance(accepted, list) or not all(isinstance(a, dict) and _short_str(a.get("id"))
                                                       for a in accepted):
            problems.append(f"{at}.acceptedSuggestions: must be an array of objects with an 'id'")
    reason = e.get("overrideReason")
    comment = None
    coding = None
    if reason is not None:
        if outcome == "accepted":
            problems.append(f"{at}.overrideReason: only with outcome 'overridden'")
        elif not isinstance(reason, dict):
            problems.append(f"{at}.overrideReason: must be an object with 'reason' (a Coding) and/or 'userComment'")
        else:
            coding = reason.get("reason")
            if coding is not None and not (isinstance(coding, dict) and _short_str(coding.get("code"))
                                           and all(_short_str(coding.get(k), 1000) for k in ("system", "display")
                                                   if k in coding)):
                problems.append(f"{at}.overrideReason.reason: must be a Coding (system, code, display)")
            comment = reason.get("userComment")
            if comment is not None and not (isinstance(comment, str) and len(comment) <= MAX_COMMENT):
                problems.append(f"{at}.overrideReason.userComment: must be a string of at most {MAX_COMMENT} "
                                "characters")
    if len(problems) > start or outcome_at is None:
        return None
    assert isinstance(card, str) and isinstance(outcome, str)  # checked above: a problem otherwise
    return Feedback(card=card.lower(), outcome=outcome, outcome_at=outcome_at,
                    accepted_suggestions=[{"id": a["id"]} for a in accepted] if accepted is not None else None,
                    override_reason={k: coding[k] for k in ("system", "code", "display") if k in coding}
                    if coding else None,
                    user_comment=comment)


def read_feedback(body: Any) -> list[Feedback]:
    """The feedback entries of a request body, or :class:`CdsError` (400) naming every problem."""
    if not isinstance(body, dict):
        raise CdsError(400, "invalid_request", "body: expected a JSON object with a 'feedback' array")
    entries = body.get("feedback")
    if not isinstance(entries, list) or not entries:
        raise CdsError(400, "invalid_request", "feedback: required, an array of one or more Feedback objects")
    if len(entries) > MAX_ENTRIES:
        raise CdsError(400, "invalid_request", f"feedback: at most {MAX_ENTRIES} entries in one request")
    problems: list[str] = []
    out = [_entry(e, f"feedback[{i}]", problems) for i, e in enumerate(entries)]
    if problems:
        raise CdsError(400, "invalid_request", "; ".join(problems))
    return [f for f in out if f is not None]


def clinic_slug(issuers: Mapping[str, Any], iss: str) -> str | None:
    """The clinic an issuer is linked to (``"clinic": "<slug>"`` beside its keys in PAINPATH_CDS_ISSUERS)."""
    entry = issuers.get(iss)
    slug = entry.get("clinic") if isinstance(entry, Mapping) else None
    return slug if isinstance(slug, str) and slug else None


def store_feedback(db: Database, *, issuer: str, service: str, entries: list[Feedback],
                   clinic: str | None) -> int | None:
    """Store the entries (one transaction) and audit them in the clinic's log; returns the clinic id (or None)."""
    with db.write() as s:
        clinic_id = None
        if clinic:
            clinic_id = s.scalar(select(Clinic.id).where(Clinic.slug == clinic))
            if clinic_id is None:
                log.warning("CDS issuer is linked to clinic %r, which does not exist: feedback stored without a "
                            "clinic", clinic)
        for f in entries:
            s.add(CdsFeedback(clinic_id=clinic_id, issuer=issuer, service=service, card=f.card, outcome=f.outcome,
                              outcome_at=f.outcome_at, accepted_suggestions=f.accepted_suggestions,
                              override_reason=f.override_reason, user_comment=f.user_comment))
        if clinic_id is not None:
            counts = {o: sum(f.outcome == o for f in entries) for o in OUTCOMES}
            s.add(AuditEntry(clinic_id=clinic_id, action="cds_feedback",
                             detail=f"{service}: {counts['accepted']} accepted, {counts['overridden']} overridden "
                                    f"(CDS client {issuer})"))
    log.info("CDS feedback stored: service %s, %d entries", service, len(entries))
    return clinic_id
