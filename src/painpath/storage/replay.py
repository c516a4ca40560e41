"""Replay protection for CDS Hooks JWTs, kept in the database.

Implements the ``check_and_add`` contract of :class:`painpath.fhir.cds_auth.ReplayCache` (which lives in one
process's memory), so a token accepted by one worker or machine is refused by all the others. The issuer and
``jti`` are stored only as a SHA-256 digest (any length, any characters); rows are deleted once expired.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from painpath.storage.db import Database
from painpath.storage.models import UsedJwt


class DatabaseReplayGuard:
    def __init__(self, db: Database) -> None:
        self.db = db

    def check_and_add(self, iss: str, jti: str, exp: float) -> bool:
        """True when this (issuer, jti) is new and is now recorded until ``exp``; False when it was already used."""
        key = hashlib.sha256(f"{iss}\x00{jti}".encode("utf-8", "surrogatepass")).hexdigest()
        try:
            with self.db.write() as s:
                # expired ids may be used again, and the table holds only live tokens
                s.execute(delete(UsedJwt).where(UsedJwt.expires_at < time.time()))
                s.add(UsedJwt(key=key, expires_at=exp))
        except IntegrityError:  # the primary key: another request (any worker) recorded it first
            return False
        return True
