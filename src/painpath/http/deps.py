"""Request dependencies: the database, and who is calling (from the bearer token)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from painpath.config import Settings
from painpath.errors import AuthenticationError, PermissionDeniedError
from painpath.storage.accounts import Principal, hit, resolve_token, token_key
from painpath.storage.db import Database
from painpath.storage.models import Token, utcnow

__all__ = [
    "AdminWho",
    "ClinicWho",
    "DB",
    "MaybeWho",
    "SettingsDep",
    "Who",
    "admin_principal",
    "bearer",
    "client_key",
    "clinic_principal",
    "get_db",
    "get_settings",
    "optional_principal",
    "principal",
]

bearer = HTTPBearer(auto_error=False, description="a clinician session token (pps_), an API key (ppk_) "
                    "or a patient's private token for one assessment (ppp_)")


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def client_key(request: Request) -> str:
    """The client's address: the peer, or the address a trusted proxy reported in X-Forwarded-For (uvicorn
    rewrites it only for the proxies listed in PAINPATH_FORWARDED_ALLOW_IPS; see docs/deployment.md)."""
    return request.client.host if request.client else "unknown"


def optional_principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    db: Annotated[Database, Depends(get_db)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Principal | None:
    if creds is None:
        return None
    raw = creds.credentials
    with db.read() as s:
        who = resolve_token(s, raw) if len(raw) <= 200 else None
    if who is None:
        key = token_key(client_key(request))
        with db.write() as s:  # counted atomically: concurrent guesses cannot pass the limit
            hit(s, [(key, settings.token_failures)], settings.token_window_seconds)
        raise AuthenticationError("token: unknown, expired or revoked bearer token")
    if who.token_id is not None:
        _touch(db, who.token_id)
    return who


def _touch(db: Database, token_id: int) -> None:
    """Record when a token was last used, at most once a minute (keeps reads cheap)."""
    with db.read() as s:
        last = s.get(Token, token_id).last_used_at  # type: ignore[union-attr]  # the token was just resolved, so its row exists
    now = utcnow()
    if last is None or (now - (last if last.tzinfo else last.replace(tzinfo=dt.UTC))).total_seconds() > 60:
        with db.write() as s:
            tok = s.get(Token, token_id)
            if tok is not None:
                tok.last_used_at = now


def principal(who: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if who is None:
        raise AuthenticationError("authorization: a bearer token is needed")
    return who


def clinic_principal(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not who.is_clinic:
        raise PermissionDeniedError("authorization: this needs a clinician's or API key's token")
    return who


def admin_principal(who: Annotated[Principal, Depends(clinic_principal)]) -> Principal:
    if who.role != "admin":
        raise PermissionDeniedError("authorization: this needs a clinic administrator's login")
    return who


DB = Annotated[Database, Depends(get_db)]
MaybeWho = Annotated[Principal | None, Depends(optional_principal)]
Who = Annotated[Principal, Depends(principal)]
ClinicWho = Annotated[Principal, Depends(clinic_principal)]
AdminWho = Annotated[Principal, Depends(admin_principal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
