"""Fixtures for the FHIR and CDS Hooks tests: the real app on its own SQLite database, EHR signing keys."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from painpath.engine import default_compiled
from painpath.fhir import codes as C
from tests.fhir import official

ISSUER = "https://ehr.example.org"
OTHER_ISSUER = "https://rogue.example.org"
BASE_URL = "https://painpath.example.org"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


class ValidatingClient(TestClient):
    """A test client that checks every FHIR resource the app answers with against the official definitions."""

    def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        r = super().request(*args, **kwargs)
        if r.headers.get("content-type", "").startswith("application/fhir+json"):
            errors = official.check(r.json())
            assert not errors, f"{r.request.method} {r.request.url.path}: " + "\n".join(errors)
        return r


def pytest_terminal_summary(terminalreporter: Any) -> None:
    rep = official.REPORT
    if not rep.resources:
        return
    errors = len(rep.schema_errors) + len(rep.constraint_errors) + len(rep.profile_errors)
    terminalreporter.write_sep("-", "FHIR resources checked with the official definitions")
    terminalreporter.write_line(
        f"{rep.resources} resources ({', '.join(f'{k} {v}' for k, v in sorted(rep.by_type.items()))}); "
        f"SDC profiles: {', '.join(f'{k} {v}' for k, v in sorted(rep.profiles.items())) or 'none'}; "
        f"{rep.constraints_run} FHIRPath constraint evaluations; errors: R4 JSON schema {len(rep.schema_errors)}, "
        f"R4 constraints {len(rep.constraint_errors)}, SDC profiles {len(rep.profile_errors)} (total {errors})")
    for w in sorted(rep.warnings):
        terminalreporter.write_line(f"warning (not an error): {w}")


class Keys:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ec384 = ec.generate_private_key(ec.SECP384R1())
        self.other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rsa_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key(), as_dict=True)
        ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key(), as_dict=True)
        ec384_jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.ec384.public_key(), as_dict=True)
        self.jwks = {"keys": [rsa_jwk | {"kid": "rsa-1", "use": "sig"}, ec_jwk | {"kid": "ec-1", "use": "sig"},
                              ec384_jwk | {"kid": "ec-384", "use": "sig", "alg": "ES384"}]}
        other = jwt.algorithms.RSAAlgorithm.to_jwk(self.other_rsa.public_key(), as_dict=True)
        self.other_jwks = {"keys": [other | {"kid": "rsa-1"}]}

    def token(self, service: str, *, alg: str = "RS384", iss: str = ISSUER, kid: str | None = None,
              aud: str | None = None, lifetime: int = 300, drop: tuple[str, ...] = (), key: Any = None,
              **extra: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": iss, "sub": "ehr-client", "aud": aud or f"{BASE_URL}/cds-services/{service}",
                                  "exp": now + lifetime, "iat": now, "jti": str(uuid.uuid4())} | extra
        for k in drop:
            claims.pop(k, None)
        if key is None:
            key = {"ES256": self.ec, "ES384": self.ec384}.get(alg, self.rsa)
        kid = kid or {"ES256": "ec-1", "ES384": "ec-384"}.get(alg, "rsa-1")
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="session")
def app_env(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Iterator[dict[str, Any]]:
    from painpath.api.app import create_app
    from painpath.config import Settings

    tmp: Path = tmp_path_factory.mktemp("fhir")
    settings = Settings(data_dir=tmp, database_url=None, public_base_url=BASE_URL,
                        cds_issuers={ISSUER: keys.jwks}, cds_clock_skew_seconds=30)
    app = create_app(settings)
    with ValidatingClient(app) as c:
        yield {"client": c, "app": app, "settings": settings}


@pytest.fixture
def fc(app_env: dict[str, Any]) -> TestClient:
    return app_env["client"]  # type: ignore[no-any-return]


# --- building answers ----------------------------------------------------------------------------------------


def answer_value(v: str) -> dict[str, Any]:
    return {"valueCoding": dict(C.CODING_OF[v])}


def about_you(age: int, sex: str) -> dict[str, Any]:
    return {"linkId": C.ABOUT_YOU, "item": [
        {"linkId": "age", "answer": [{"valueInteger": age}]},
        {"linkId": "sex", "answer": [{"valueCoding": dict(C.FEMALE if sex == "female" else C.MALE)}]}]}


def completed_response(age: int, sex: str, answers: dict[str, str], *, mode: str = "self",
                       subject: dict[str, Any] | None = None) -> dict[str, Any]:
    """A QuestionnaireResponse to the static PainPath Questionnaire (groups in its order)."""
    ckb = default_compiled()
    items = [about_you(age, sex)]
    for name, sc in ckb.kb.interview.screens.items():
        got = [{"linkId": k, "answer": [answer_value(answers[k])]} for k in sc.findings if k in answers]
        if got:
            items.append({"linkId": name, "item": got})
    qr: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "completed",
                          "questionnaire": C.QUESTIONNAIRE_URL, "item": items,
                          "extension": [{"url": C.EXT_MODE, "valueCode": mode}]}
    if subject:
        qr["subject"] = subject
    return qr
