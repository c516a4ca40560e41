"""CDS Hooks 2.0 authentication of the calling EHR: a signed JWT in ``Authorization: Bearer <JWT>``.

Rules (see docs/fhir.md):

* asymmetric algorithms only: RS256, RS384, ES256, ES384 (``none`` and HS* are refused before anything else);
* ``iss`` must be a configured issuer (``PAINPATH_CDS_ISSUERS``: issuer -> JWKS, inline JSON); the key is
  chosen by ``kid`` (which may be left out only when the issuer has one key). Keys are never fetched:
  ``jku``, ``x5u`` and embedded ``jwk`` headers are ignored;
* ``aud`` must equal the service's full URL; ``exp``, ``iat`` and ``jti`` are required, ``exp`` not passed and
  ``iat`` not in the future (both with ``PAINPATH_CDS_CLOCK_SKEW_SECONDS`` of leeway);
* a ``jti`` already seen from the same issuer (until its ``exp``) is a replay and refused: ``replay`` is any object
  with ``check_and_add(iss, jti, exp) -> bool``; the service passes ``painpath.storage.replay.DatabaseReplayGuard``
  (shared by every worker and machine), :class:`ReplayCache` keeps them in this process's memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import jwt

__all__ = ["ALLOWED_ALGORITHMS", "CdsAuthError", "ReplayCache", "ReplayGuard", "verify_jwt"]

ALLOWED_ALGORITHMS = ("RS256", "RS384", "ES256", "ES384")


class CdsAuthError(Exception):
    """401: the request is not from an allowed, correctly signed CDS client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ReplayCache:
    """``jti`` values seen per issuer, until their ``exp`` (bounded; in this process only)."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def check_and_add(self, iss: str, jti: str, exp: float) -> bool:
        """True when new (and now recorded); False when it was already used."""
        now = time.time()
        with self._lock:
            if len(self._seen) >= self.max_entries:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
                if len(self._seen) >= self.max_entries:
                    oldest = sorted(self._seen, key=self._seen.__getitem__)[: self.max_entries // 10]
                    for k in oldest:
                        del self._seen[k]
            key = (iss, jti)
            if key in self._seen and self._seen[key] > now:
                return False
            self._seen[key] = exp
            return True


def _keys(jwks: Any) -> list[dict[str, Any]]:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    return [k for k in keys if isinstance(k, dict)] if isinstance(keys, list) else []


class ReplayGuard(Protocol):
    def check_and_add(self, iss: str, jti: str, exp: float) -> bool: ...


def verify_jwt(authorization: str | None, *, issuers: Mapping[str, Any], audience: str | Sequence[str],
               leeway: int = 60, replay: ReplayGuard | None = None) -> dict[str, Any]:
    """The verified claims, or :class:`CdsAuthError` saying what is wrong.

    ``audience``: the service's URL, or several accepted URLs (the feedback endpoint accepts the service's URL and
    its own)."""
    audiences = [audience] if isinstance(audience, str) else list(audience)
    if not authorization:
        raise CdsAuthError("authorization: a CDS Hooks JWT is required (Authorization: Bearer <JWT>)")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise CdsAuthError("authorization: expected 'Bearer <JWT>'")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"token: not a well-formed JWT ({exc})") from None
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise CdsAuthError(f"alg: {alg!r} is not allowed (allowed: {', '.join(ALLOWED_ALGORITHMS)})")
    iss = unverified.get("iss")
    if not isinstance(iss, str) or not iss:
        raise CdsAuthError("iss: required")
    if iss not in issuers:
        raise CdsAuthError("iss: this issuer is not an allowed CDS client")
    keys = _keys(issuers[iss])
    kid = header.get("kid")
    if kid is not None:
        candidates = [k for k in keys if k.get("kid") == kid]
    elif len(keys) == 1:
        candidates = keys
    else:
        raise CdsAuthError("kid: required (the issuer has more than one key)")
    if not candidates:
        raise CdsAuthError("kid: no key with this id is configured for the issuer")
    jwk = candidates[0]
    aud = unverified.get("aud")
    audience = aud if isinstance(aud, str) and aud in audiences else audiences[0]
    if jwk.get("alg") not in (None, alg):
        raise CdsAuthError(f"alg: the key '{kid}' is for {jwk.get('alg')}, not {alg}")
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise CdsAuthError(f"kid: the configured key cannot verify {alg} ({exc})") from None
    try:
        claims = jwt.decode(token, key=key, algorithms=[alg], audience=audience, issuer=iss, leeway=leeway,
                            options={"require": ["exp", "iat", "jti", "iss", "aud"], "strict_aud": True})
    except jwt.MissingRequiredClaimError as exc:
        raise CdsAuthError(f"{exc.claim}: required") from None
    except jwt.ExpiredSignatureError:
        raise CdsAuthError("exp: the token has expired") from None
    except jwt.InvalidAudienceError:
        raise CdsAuthError(f"aud: must be this service's URL, {' or '.join(audiences)}") from None
    except jwt.ImmatureSignatureError:
        raise CdsAuthError("iat: the token is issued in the future") from None
    except jwt.InvalidSignatureError:
        raise CdsAuthError("signature: does not verify with the issuer's key") from None
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"token: {exc}") from None
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise CdsAuthError("jti: required (a unique string)")
    if replay is not None and not replay.check_and_add(iss, jti, float(claims["exp"]) + leeway):
        raise CdsAuthError("jti: this token was already used")
    return claims
