"""Clinics, clinician users, bearer tokens and rate limits.

* Passwords are hashed with argon2id (argon2-cffi defaults).
* Tokens are 256-bit random strings; only their SHA-256 is stored, so a stolen
  database does not give working tokens. The prefix says what a token is:
  ``pps_`` clinician login session, ``ppk_`` integration API key, ``ppp_``
  a patient's private token for one assessment.
* Failed logins and bad tokens are counted in the database, so the limits hold
  across worker processes and machines.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from painpath.errors import AuthenticationError, ConflictError, NotFoundError, RateLimitedError, ServiceError
from painpath.storage.models import AssessmentRecord, Clinic, RateEvent, Token, User, utcnow

_hasher = PasswordHasher()
# a real hash to verify against when the email is unknown, so timing does not reveal which emails exist
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no I, L, O, U, 0, 1
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")

PrincipalKind = Literal["patient", "clinician", "api"]


@dataclass(frozen=True)
class Principal:
    """Who is calling. Clinicians and API keys act for one clinic; a patient token for one assessment."""

    kind: PrincipalKind
    clinic_id: int | None = None
    user_id: int | None = None
    token_id: int | None = None
    assessment_id: str | None = None
    role: str = "clinician"

    @property
    def is_clinic(self) -> bool:
        return self.kind in ("clinician", "api")


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def new_code(length: int = 12) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def share_code_for(patient_token: str) -> str:
    """The share code that belongs to a patient token (derived, so whoever holds the token can show it again)."""
    digest = hashlib.sha256(("share-code|" + patient_token).encode("utf-8")).digest()
    n = int.from_bytes(digest[:16], "big")
    out = []
    for _ in range(12):
        n, r = divmod(n, len(CODE_ALPHABET))
        out.append(CODE_ALPHABET[r])
    return "".join(out)


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", code.upper())


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise ServiceError("password: must be at least 10 characters")
    if len(password) > 1024:
        raise ServiceError("password: must be at most 1024 characters")
    return _hasher.hash(password)


# --- clinics and users -------------------------------------------------------------------------

def create_clinic(s: Session, slug: str, name: str) -> Clinic:
    if not SLUG.match(slug):
        raise ServiceError("slug: 2-63 lower-case letters, digits or '-', starting with a letter or digit")
    if not name.strip():
        raise ServiceError("name: must not be empty")
    if s.scalar(select(Clinic.id).where(Clinic.slug == slug)) is not None:
        raise ConflictError(f"slug: a clinic '{slug}' already exists")
    clinic = Clinic(slug=slug, name=name.strip(), intake_code=new_code(8))
    s.add(clinic)
    s.flush()
    return clinic


def get_clinic(s: Session, slug: str) -> Clinic:
    clinic = s.scalar(select(Clinic).where(Clinic.slug == slug))
    if clinic is None:
        raise NotFoundError(f"clinic: no clinic '{slug}'")
    return clinic


def create_user(s: Session, clinic: Clinic, email: str, password: str, *, name: str = "", role: str = "clinician") -> User:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise ServiceError("email: not a valid email address")
    if role not in ("clinician", "admin"):
        raise ServiceError("role: must be 'clinician' or 'admin'")
    if s.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError("email: a user with this email already exists")
    user = User(clinic_id=clinic.id, email=email, name=name.strip(), password_hash=hash_password(password), role=role)
    s.add(user)
    s.flush()
    return user


# --- rate limits ---------------------------------------------------------------------------------

def _rate_key(*parts: str) -> str:
    return hash_secret("|".join(parts))


def check_rate(s: Session, key: str, limit: int, window: int) -> None:
    now = time.time()
    count = s.scalar(select(func.count()).select_from(RateEvent).where(RateEvent.key == key, RateEvent.at > now - window))
    if (count or 0) >= limit:
        oldest = s.scalar(select(func.min(RateEvent.at)).where(RateEvent.key == key, RateEvent.at > now - window))
        retry = max(1, int((oldest or now) + window - now) + 1)
        raise RateLimitedError(f"too many failed attempts; try again in {retry} seconds", retry_after=retry)


def record_failure(s: Session, key: str, window: int) -> None:
    now = time.time()
    s.add(RateEvent(key=key, at=now))
    if secrets.randbelow(50) == 0:  # now and then, forget old events
        s.execute(delete(RateEvent).where(RateEvent.at < now - 86400))


def login_key(email: str, client: str) -> str:
    return _rate_key("login", email.strip().lower(), client)


def login_client_key(client: str) -> str:
    return _rate_key("login-client", client)


def token_key(client: str) -> str:
    return _rate_key("token", client)


# --- login and tokens ----------------------------------------------------------------------------

def verify_login(s: Session, email: str, password: str) -> User:
    """The active user with this email and password, or AuthenticationError (same message either way)."""
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        raise AuthenticationError("email or password is wrong")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def issue_token(s: Session, clinic_id: int, *, kind: str, name: str = "", user_id: int | None = None,
                hours: int | None = None) -> tuple[Token, str]:
    raw = new_token("pps" if kind == "session" else "ppk")
    expires = utcnow() + dt.timedelta(hours=hours) if hours else None
    tok = Token(clinic_id=clinic_id, user_id=user_id, kind=kind, name=name[:200], token_hash=hash_secret(raw),
                prefix=raw[:10], expires_at=expires)
    s.add(tok)
    s.flush()
    return tok, raw


def revoke_token(s: Session, clinic_id: int, token_id: int) -> Token:
    tok = s.scalar(select(Token).where(Token.id == token_id, Token.clinic_id == clinic_id))
    if tok is None:
        raise NotFoundError(f"token: no token {token_id} in this clinic")
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
    return tok


def list_tokens(s: Session, clinic_id: int) -> list[Token]:
    return list(s.scalars(select(Token).where(Token.clinic_id == clinic_id, Token.kind == "api").order_by(Token.id)))


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def resolve_token(s: Session, raw: str) -> Principal | None:
    """The principal a bearer token stands for, or None when it is unknown, expired or revoked."""
    if raw.startswith("ppp_"):
        aid = s.scalar(select(AssessmentRecord.id).where(AssessmentRecord.patient_token_hash == hash_secret(raw)))
        return Principal(kind="patient", assessment_id=aid) if aid else None
    if not raw.startswith(("pps_", "ppk_")):
        return None
    tok = s.scalar(select(Token).where(Token.token_hash == hash_secret(raw)))
    if tok is None or tok.revoked_at is not None:
        return None
    now = utcnow()
    if tok.expires_at is not None and _aware(tok.expires_at) <= now:
        return None
    role = "integration"
    if tok.user_id is not None:
        user = s.get(User, tok.user_id)
        if user is None or not user.active:
            return None
        role = user.role
    return Principal(kind="clinician" if tok.kind == "session" else "api", clinic_id=tok.clinic_id,
                     user_id=tok.user_id, token_id=tok.id, role=role)


def login(db: Any, email: str, password: str, client: str, *, attempts: int, window: int, session_hours: int,
          name: str = "login") -> tuple[User, Clinic, Token, str]:
    """Check the rate limits, verify the password and open a session; count the failure if it is wrong.

    Limits: ``attempts`` failures per email and client, and ``10 * attempts`` per client over all emails
    (so trying many emails from one address is slowed too). ``db`` is a :class:`painpath.storage.db.Database`.
    """
    keys = [(login_key(email, client), attempts), (login_client_key(client), attempts * 10)]
    with db.read() as s:
        for key, limit in keys:
            check_rate(s, key, limit, window)
    try:
        with db.write() as s:
            user = verify_login(s, email, password)
            tok, raw = issue_token(s, user.clinic_id, kind="session", user_id=user.id, hours=session_hours, name=name)
            clinic = s.get(Clinic, user.clinic_id)
            assert clinic is not None
            return user, clinic, tok, raw
    except AuthenticationError:
        with db.write() as s:
            for key, _limit in keys:
                record_failure(s, key, window)
        raise
