"""Typed SQLAlchemy 2 ORM models. Changing them needs an Alembic migration (``migrations/versions``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """``DateTime(timezone=True)`` that always reads back an aware UTC datetime (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.astimezone(dt.UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON}


class Clinic(Base):
    __tablename__ = "clinics"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    intake_code: Mapped[str] = mapped_column(String(32), unique=True, comment="public code for the clinic's intake link")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255), comment="argon2id")
    role: Mapped[str] = mapped_column(String(16), default="clinician", comment="clinician | admin")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    clinic: Mapped[Clinic] = relationship()


class Token(Base):
    """Bearer tokens: clinician login sessions and integration API keys. Only a SHA-256 hash is stored."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), comment="session | api")
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), comment="first characters, to recognise a token in lists")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class AssessmentRecord(Base):
    """One stored interview and, once finished, its result. ``state`` is the interview state JSON."""

    __tablename__ = "assessments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="SET NULL"), index=True)
    followup_of: Mapped[str | None] = mapped_column(ForeignKey("assessments.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="in_progress", comment="in_progress | finished")
    mode: Mapped[str] = mapped_column(String(16))
    setting: Mapped[str] = mapped_column(String(32))
    patient_ref: Mapped[str | None] = mapped_column(String(64), default=None, comment="the clinic's own reference")
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None, comment="pain and PSFS snapshot")
    followup: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None, comment="comparison with the previous")
    history: Mapped[list[Any] | None] = mapped_column(JSON, default=None,
                                                      comment="earlier results, kept when a finished assessment is amended")
    clinic_findings: Mapped[list[Any] | None] = mapped_column(
        JSON, default=None, comment="findings a clinician or API key answered: a patient may not change them")
    triage_level: Mapped[str | None] = mapped_column(String(16), default=None)
    top_condition: Mapped[str | None] = mapped_column(String(64), default=None)
    kb_version: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(32))
    patient_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    share_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_assessments_clinic_created", "clinic_id", "created_at"),)


class AuditEntry(Base):
    """Append-only: who (a clinician, an API key or a patient's token) did what to which assessment, and when.

    A patient's change to an assessment no clinic has yet has no ``clinic_id``; the clinic that receives the
    assessment later receives these entries too."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(16), default="clinic", server_default="clinic",
                                       comment="clinic (a clinician or API key) | patient")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="SET NULL"), default=None)
    action: Mapped[str] = mapped_column(String(32))
    assessment_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)
    detail: Mapped[str] = mapped_column(Text, default="")


class RateEvent(Base):
    """Failed logins and bad tokens, shared by every worker and machine through the database."""

    __tablename__ = "rate_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), index=True)
    at: Mapped[float] = mapped_column(Float, index=True, comment="seconds since the epoch")


class UsedJwt(Base):
    """CDS Hooks JWTs already accepted, until they expire: a replayed token is refused by every worker and machine."""

    __tablename__ = "cds_used_jwts"
    key: Mapped[str] = mapped_column(String(64), primary_key=True, comment="SHA-256 of issuer and jti")
    expires_at: Mapped[float] = mapped_column(Float, index=True, comment="seconds since the epoch")


class CdsFeedback(Base):
    """CDS Hooks feedback (``POST /cds-services/{id}/feedback``): what a clinician did with a card, one row each.

    Tenancy: the JWT issuer that sent it, and that issuer's clinic when the issuer is linked to one."""

    __tablename__ = "cds_feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True,
                                                  default=None)
    issuer: Mapped[str] = mapped_column(String(255), index=True, comment="iss of the calling CDS client's JWT")
    service: Mapped[str] = mapped_column(String(64), comment="CDS service id")
    card: Mapped[str] = mapped_column(String(64), comment="uuid of the card acted on")
    outcome: Mapped[str] = mapped_column(String(16), comment="accepted | overridden")
    outcome_at: Mapped[dt.datetime] = mapped_column(comment="outcomeTimestamp")
    accepted_suggestions: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    override_reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None, comment="a Coding")
    user_comment: Mapped[str | None] = mapped_column(Text, default=None)
