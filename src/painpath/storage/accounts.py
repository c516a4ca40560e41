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
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from painpath.errors import AuthenticationError, ConflictError, NotFoundError, RateLimitedError, ServiceError
from painpath.storage.db import Database
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


def _password_problem(password: str) -> str | None:
    if len(password) < 10:
        return "password: must be at least 10 characters"
    if len(password) > 1024:
        return "password: must be at most 1024 characters"
    return None


def hash_password(password: str) -> str:
    problem = _password_problem(password)
    if problem:
        raise ServiceError(problem)
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


def user_problems(email: str, role: str, password: str | None = None) -> list[str]:
    """Everything wrong with a new user's details (the password only if given), without touching the database."""
    problems = []
    if not EMAIL.match(email.strip().lower()):
        problems.append("email: not a valid email address")
    if role not in ("clinician", "admin"):
        problems.append("role: must be 'clinician' or 'admin'")
    problem = None if password is None else _password_problem(password)
    return problems + ([problem] if problem else [])


def create_user(s: Session, clinic: Clinic, email: str, password: str | None = None, *, name: str = "",
                role: str = "clinician", password_hash: str | None = None) -> User:
    """A new user of ``clinic``. Give ``password_hash`` (from :func:`hash_password`, computed before the write
    transaction opens: argon2 takes ~0.1-0.5 s of CPU) or ``password`` (hashed here). Every problem with the
    input is named at once."""
    email = email.strip().lower()
    problems = user_problems(email, role, password if password_hash is None else None)
    if password_hash is None and password is None:
        problems.append("password: missing")
    if problems:
        raise ServiceError("; ".join(problems))
    if password_hash is None:
        assert password is not None
        password_hash = hash_password(password)
    if s.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError("email: a user with this email already exists")
    user = User(clinic_id=clinic.id, email=email, name=name.strip(), password_hash=password_hash, role=role)
    s.add(user)
    s.flush()
    return user


# --- rate limits ---------------------------------------------------------------------------------
#
# An attempt (a login, a claim by share code, an anonymous creation through an intake code) is counted BEFORE
# the secret is checked, in its own committed transaction, and the count and the insert are atomic: SQLite
# has one writer at a time (BEGIN IMMEDIATE), and PostgreSQL takes a transaction-level advisory lock on each
# key first. So N concurrent attempts give at most ``limit`` passes per window, never more. An attempt that
# succeeds is forgotten again (:func:`forget_attempt`), so only failures use up the allowance.

def _rate_key(*parts: str) -> str:
    return hash_secret("|".join(parts))


def _lock_keys(s: Session, keys: list[str]) -> None:
    """PostgreSQL: serialise every transaction that counts one of these keys until it commits (sorted: no deadlock)."""
    if s.get_bind().dialect.name != "postgresql":
        return  # SQLite: the write transaction already holds the database's only write lock
    for key in sorted(set(keys)):
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(key[:15], 16)})


def _retry_after(s: Session, key: str, window: int, now: float) -> int:
    oldest = s.scalar(select(func.min(RateEvent.at)).where(RateEvent.key == key, RateEvent.at > now - window))
    return max(1, int((oldest or now) + window - now) + 1)


def hit(s: Session, limits: list[tuple[str, int]], window: int, *,
        message: str = "too many failed attempts") -> list[int]:
    """Count one attempt against every (key, limit) atomically, or raise RateLimitedError when any is used up
    (then nothing is counted). Returns the ids of the events recorded, for :func:`forget_attempt`."""
    _lock_keys(s, [k for k, _ in limits])
    now = time.time()
    for key, limit in limits:
        count = s.scalar(select(func.count()).select_from(RateEvent)
                         .where(RateEvent.key == key, RateEvent.at > now - window))
        if (count or 0) >= limit:
            retry = _retry_after(s, key, window, now)
            raise RateLimitedError(f"{message}; try again in {retry} seconds", retry_after=retry)
    events = [RateEvent(key=key, at=now) for key, _ in limits]
    s.add_all(events)
    if secrets.randbelow(50) == 0:  # now and then, forget old events
        s.execute(delete(RateEvent).where(RateEvent.at < now - 86400))
    s.flush()
    return [e.id for e in events]


def count_attempt(db: Any, limits: list[tuple[str, int]], window: int, *,
                  message: str = "too many failed attempts") -> list[int]:
    """:func:`hit` in its own committed transaction (so a failure that rolls back the work still counts)."""
    with db.write() as s:
        return hit(s, limits, window, message=message)


def forget_attempt(db: Any, event_ids: list[int]) -> None:
    """The attempt succeeded: it does not use up the allowance."""
    if event_ids:
        with db.write() as s:
            s.execute(delete(RateEvent).where(RateEvent.id.in_(event_ids)))


def login_key(email: str, client: str) -> str:
    return _rate_key("login", email.strip().lower(), client)


def login_account_key(email: str) -> str:
    return _rate_key("login-account", email.strip().lower())


def login_client_key(client: str) -> str:
    return _rate_key("login-client", client)


def token_key(client: str) -> str:
    return _rate_key("token", client)


def claim_keys(clinic_id: int, client: str) -> tuple[str, str]:
    return _rate_key("claim-client", client), _rate_key("claim-clinic", str(clinic_id))


def anonymous_key(client: str) -> str:
    return _rate_key("anonymous", client)


def intake_keys(intake_code: str, client: str) -> tuple[str, str]:
    code = normalise_code(intake_code)
    return _rate_key("intake", code, client), _rate_key("intake-code", code)


# --- login and tokens ----------------------------------------------------------------------------

def _check_password(stored_hash: str | None, password: str) -> bool:
    """argon2 verification, outside any database transaction (it takes ~0.1-0.5 s of CPU)."""
    try:
        _hasher.verify(stored_hash or _DUMMY_HASH, password)
        return stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def verify_login(s: Session, email: str, password: str) -> User:
    """The active user with this email and password, or AuthenticationError (same message either way)."""
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    ok = _check_password(user.password_hash if user else None, password) and user is not None and user.active
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
    if tok is None or tok.revoked_at is not None or tok.kind not in ("session", "api"):
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
          account_attempts: int | None = None, name: str = "login") -> tuple[User, Clinic, Token, str]:
    """Count the attempt, verify the password and open a session.

    Limits, each per ``window`` seconds: ``attempts`` failures per email and client, ``account_attempts``
    (default ``4 * attempts``) per email over all clients (so spreading guesses over many addresses does not
    help), and ``10 * attempts`` per client over all emails. The attempt is counted before the password is
    checked, atomically (see :func:`hit`), so concurrent guesses cannot pass the limit; a successful login is
    not counted. The password hash is checked outside every database transaction (so outside SQLite's write
    lock). ``db`` is a :class:`painpath.storage.db.Database`.
    """
    email = email.strip().lower()
    limits = [(login_key(email, client), attempts), (login_account_key(email), account_attempts or 4 * attempts),
              (login_client_key(client), attempts * 10)]
    events = count_attempt(db, limits, window)
    with db.read() as s:
        user = s.scalar(select(User).where(User.email == email))
        stored = user.password_hash if user is not None else None
        active = user is not None and user.active
    if not (_check_password(stored, password) and active) or user is None:
        raise AuthenticationError("email or password is wrong")
    rehash = _hasher.hash(password) if _hasher.check_needs_rehash(stored or "") else None
    with db.write() as s:
        fresh = s.get(User, user.id)
        if fresh is None or not fresh.active or fresh.password_hash != stored:  # changed meanwhile
            raise AuthenticationError("email or password is wrong")
        if rehash:
            fresh.password_hash = rehash
        tok, raw = issue_token(s, fresh.clinic_id, kind="session", user_id=fresh.id, hours=session_hours, name=name)
        clinic = s.get(Clinic, fresh.clinic_id)
        assert clinic is not None
        s.execute(delete(RateEvent).where(RateEvent.id.in_(events)))
        return fresh, clinic, tok, raw


# --- user management (clinic administrators, and `painpath admin`) ---------------------------------

RESET_HOURS = 24


def get_user(s: Session, clinic_id: int | None, *, user_id: int | None = None, email: str | None = None) -> User:
    """A user of this clinic (any clinic when ``clinic_id`` is None: the command line), by id or email."""
    q = select(User)
    if user_id is not None:
        q = q.where(User.id == user_id)
    if email is not None:
        q = q.where(User.email == email.strip().lower())
    if clinic_id is not None:
        q = q.where(User.clinic_id == clinic_id)
    user = s.scalar(q)
    if user is None:
        raise NotFoundError(f"user: no user {user_id if user_id is not None else email!r} in this clinic")
    return user


def list_users(s: Session, clinic_id: int) -> list[User]:
    return list(s.scalars(select(User).where(User.clinic_id == clinic_id).order_by(User.email)))


def end_sessions(s: Session, user: User) -> int:
    """Revoke every open login session of this user (their API keys belong to the clinic and stay)."""
    now = utcnow()
    toks = s.scalars(select(Token).where(Token.user_id == user.id, Token.kind == "session",
                                         Token.revoked_at.is_(None))).all()
    for t in toks:
        t.revoked_at = now
    return len(toks)


def set_active(s: Session, user: User, active: bool) -> None:
    """Deactivate (the user cannot log in and every session ends at once) or reactivate a user."""
    user.active = active
    if not active:
        end_sessions(s, user)
        _revoke_resets(s, user)


def _revoke_resets(s: Session, user: User) -> None:
    for t in s.scalars(select(Token).where(Token.user_id == user.id, Token.kind == "reset",
                                           Token.revoked_at.is_(None))):
        t.revoked_at = utcnow()


def start_password_reset(s: Session, user: User) -> str:
    """A one-time reset code for this user (returned once, stored only as a hash, valid RESET_HOURS hours).

    The old password stops working and every session ends at once; earlier reset codes are revoked."""
    if not user.active:
        raise ConflictError("user: this user is deactivated; reactivate them first")
    _revoke_resets(s, user)
    end_sessions(s, user)
    user.password_hash = "!reset:" + secrets.token_hex(8)  # no password verifies against this
    raw = "ppr_" + new_code(16)
    s.add(Token(clinic_id=user.clinic_id, user_id=user.id, kind="reset", name="password reset",
                token_hash=hash_secret(normalise_reset(raw)), prefix=raw[:8],
                expires_at=utcnow() + dt.timedelta(hours=RESET_HOURS)))
    s.flush()
    return f"ppr_{format_code(raw[4:])}"


def normalise_reset(code: str) -> str:
    return "ppr_" + normalise_code(code.strip().removeprefix("ppr_").removeprefix("PPR_"))


def reset_limits(client: str) -> list[tuple[str, int]]:
    return [(_rate_key("reset-client", client), 10)]


def finish_password_reset(db: Any, code: str, new_password: str, client: str, *, window: int) -> User:
    """Set a new password with a one-time reset code (counted like a login attempt: 10 per client per window)."""
    pw_hash = hash_password(new_password)  # outside the write lock; also checks the length first
    events = count_attempt(db, reset_limits(client), window)
    with db.write() as s:
        tok = s.scalar(select(Token).where(Token.token_hash == hash_secret(normalise_reset(code)),
                                           Token.kind == "reset").with_for_update())
        if tok is None or tok.revoked_at is not None or (tok.expires_at and _aware(tok.expires_at) <= utcnow()):
            raise NotFoundError("code: unknown, used or expired reset code; ask your clinic administrator for a new one")
        user = s.get(User, tok.user_id)
        if user is None or not user.active:
            raise NotFoundError("code: unknown, used or expired reset code; ask your clinic administrator for a new one")
        tok.revoked_at = utcnow()
        user.password_hash = pw_hash
        end_sessions(s, user)
        s.execute(delete(RateEvent).where(RateEvent.id.in_(events)))
        return user


def clinic_exists(target: str | Database) -> bool:
    """Whether the database (a URL or an open Database) holds at least one clinic. A URL is opened just for this;
    a SQLite file that does not exist yet counts as no clinic and is not created."""
    if isinstance(target, Database):
        with target.read() as s:
            return s.scalar(select(Clinic.id).limit(1)) is not None
    from sqlalchemy import create_engine, inspect

    if target.startswith("sqlite:///"):
        from pathlib import Path

        path = Path(target.removeprefix("sqlite:///"))
        if not path.is_file():
            return False
        target = f"sqlite:///file:{path}?mode=ro&uri=true"
    engine = create_engine(target)
    try:
        with engine.connect() as c:
            if not inspect(c).has_table(Clinic.__tablename__):
                return False
            return c.execute(select(Clinic.id).limit(1)).first() is not None
    finally:
        engine.dispose()
