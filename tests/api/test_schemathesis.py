"""Property-based API test: schemathesis generates requests for every operation in the OpenAPI document.

Runs the real app on a real (temporary) SQLite database, with schemathesis' default generation (valid and
invalid data). For every operation it checks that:

* the server never answers 5xx (the project's rule: bad input of any kind gets a clear 4xx, never 5xx);
* the status code is one the OpenAPI document lists for that operation;
* the Content-Type is the documented one (errors: ``application/problem+json``);
* the body validates against the documented schema.

Requests are sent as a clinic administrator (so the clinic endpoints are exercised beyond 401), as the
patient of one stored assessment, or with no credentials. Every few requests the generated data is made
realistic (a real assessment id, finding keys, screen names, login, share code or API key id) so the
operations also reach their success paths; ``test_every_operation_reached_success`` checks they did.
Bounded by ``MAX_EXAMPLES`` per operation (about 20 s on the 2-core development machine).
One database is enough for the suite (SQLite); ``PAINPATH_FUZZ_DB=postgresql`` runs it on a fresh
PostgreSQL database instead. The regression tests at the end (both databases) pin what it found.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@fuzz.example.org"
ADMIN_ID = 7_654_321


class Env:
    """The app on its own database, the credentials and real ids the generated requests use, and a tally."""

    def __init__(self, tmp: Path, database_url: str | None = None) -> None:
        from sqlalchemy import update

        from painpath import services
        from painpath.api.app import create_app
        from painpath.config import Settings
        from painpath.engine import default_compiled
        from painpath.storage import accounts
        from painpath.storage import assessments as store
        from painpath.storage.db import Database, upgrade
        from painpath.storage.models import User

        self.settings = Settings(data_dir=tmp, database_url=database_url, auto_migrate=False)
        upgrade(self.settings.url)
        self.db = Database(self.settings.url)
        self.app = create_app(self.settings, db=self.db)
        self.seen: dict[str, Counter[int]] = {}
        kb = default_compiled().kb
        self.finding_keys, self.condition_keys = list(kb.finding_keys), list(kb.condition_keys)
        self.screens = list(kb.interview.screens)
        with self.db.write() as s:
            clinic = accounts.create_clinic(s, "fuzz-clinic", "Fuzz Clinic")
            user = accounts.create_user(s, clinic, ADMIN_EMAIL, PASSWORD, role="admin")
            # the user-management operations act on the victim, never on the admin (generated ids such as 1 would
            # otherwise end the admin's sessions or reset its password, and every later request would be a 401)
            s.execute(update(User).where(User.id == user.id).values(id=ADMIN_ID))
            s.expire_all()
            user = s.get(User, ADMIN_ID)
            self.victim_id = accounts.create_user(s, clinic, "victim@fuzz.example.org", PASSWORD).id
            self.clinic_id, self.user_id = clinic.id, user.id
            _, self.admin_token = accounts.issue_token(s, clinic.id, kind="session", user_id=user.id, hours=12)
            self.api_key_id = accounts.issue_token(s, clinic.id, kind="api", name="fuzz key")[0].id
            admin = accounts.resolve_token(s, self.admin_token)
            assert admin is not None
            mine = services.create(store.AssessmentStore(s, admin), age=47, sex="female")  # the patient token's assessment
            self.patient_assessment_id, self.patient_token = mine.record.id, mine.patient_token
            self.clinic_assessment_id = services.create(store.AssessmentStore(s, admin), age=60, sex="male").record.id
            self.share_code = services.create(store.AssessmentStore(s, None), age=35, sex="female").share_code  # not yet shared

    def make_realistic(self, case: Any, who: str) -> None:
        """Swap generated identifiers for real ones (the other generated values are kept)."""
        path = case.path_parameters or {}
        if "assessment_id" in path:
            path["assessment_id"] = self.clinic_assessment_id if who == "admin" else self.patient_assessment_id
        if "key" in path:
            keys = self.condition_keys if case.operation.path.startswith("/v1/conditions") else self.finding_keys
            path["key"] = keys[len(str(path["key"])) % len(keys)]
        if "token_id" in path:
            path["token_id"] = self.api_key_id
        if "user_id" in path:
            path["user_id"] = self.victim_id
        if not isinstance(case.body, dict):
            return
        body = dict(case.body)
        keys = self.finding_keys
        for name in ("answers", "findings"):
            if isinstance(body.get(name), dict):
                body[name] = {keys[i % len(keys)]: v for i, v in enumerate(body[name].values())}
            elif isinstance(body.get(name), list):
                body[name] = [keys[i % len(keys)] for i in range(len(body[name]))]
        if isinstance(body.get("screen"), str):
            body["screen"] = self.screens[len(body["screen"]) % len(self.screens)]
        if case.operation.path == "/v1/auth/login":
            body.update(email=ADMIN_EMAIL, password=PASSWORD)
        if case.operation.path == "/v1/clinic/claim":
            body["share_code"] = self.share_code
        if case.operation.path == "/v1/auth/reset-password":
            body["code"] = self.reset_code()
        case.body = body

    def token_for(self, who: str, case: Any) -> str | None:
        if who == "admin" and case.operation.path == "/v1/auth/logout":
            return self.session_token()  # logout ends the session it is called with
        return {"admin": self.admin_token, "patient": self.patient_token, "none": None}[who]

    def reset_code(self) -> str:
        """A fresh one-time reset code for the victim (and no limit left over from the failed tries)."""
        from sqlalchemy import delete

        from painpath.storage import accounts
        from painpath.storage.models import RateEvent, User

        with self.db.write() as s:
            s.execute(delete(RateEvent))
            user = s.get(User, self.victim_id)
            accounts.set_active(s, user, True)
            return accounts.start_password_reset(s, user)

    def session_token(self) -> str:
        from painpath.storage import accounts

        with self.db.write() as s:
            return accounts.issue_token(s, self.clinic_id, kind="session", user_id=self.user_id, hours=1)[1]

    def close(self) -> None:
        self.db.dispose()


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Any:
    url = request.getfixturevalue("pg_url") if os.environ.get("PAINPATH_FUZZ_DB") == "postgresql" else None
    env = Env(tmp_path_factory.mktemp("schemathesis"), url)
    yield env
    env.close()


class _NoDatabase:
    """Stands in for the database of the app that only serves the OpenAPI document at collection time."""


def _spec_app() -> Any:
    from painpath.api.app import create_app
    from painpath.config import Settings

    return create_app(Settings(data_dir=Path("unused"), database_url=None, auto_migrate=False),
                      db=_NoDatabase())  # type: ignore[arg-type]


# The document is read from the app itself (collection needs it before fixtures run); every request then
# goes to the fully set-up app of ``fuzz_env`` (``app=`` in ``call_and_validate``). (``from_fixture`` would
# avoid this, but its lazy loader does not work with pytest 9.)
schema = schemathesis.openapi.from_asgi("/openapi.json", _spec_app())

# Who calls, and whether the request is made realistic: cycled through request by request (schemathesis
# does not allow extra @given strategies next to schema examples).
CALLERS = itertools.cycle([("admin", False), ("admin", True), ("patient", True), ("admin", True), ("none", False),
                           ("patient", False)])


FUZZ_SETTINGS = {"deadline": None, "database": None, "derandomize": True, "suppress_health_check": list(HealthCheck)}
SLOW = "/v1/auth/login"  # every login verifies an argon2 hash (0.1-0.3 s), so it gets fewer examples


def _call(case: Any, env: Env) -> None:
    who, realistic = next(CALLERS)
    if realistic:
        env.make_realistic(case, who)
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    token = env.token_for(who, case)
    response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"} if token else {},
                                      checks=CHECKS, app=env.app)
    env.seen.setdefault(case.operation.label, Counter())[response.status_code] += 1


@schema.exclude(path=SLOW).parametrize()
@settings(max_examples=MAX_EXAMPLES, **FUZZ_SETTINGS)
def test_api_conforms_to_its_schema(case: Any, fuzz_env: Env) -> None:
    _call(case, fuzz_env)


@schema.include(path=SLOW).parametrize()
@settings(max_examples=5, **FUZZ_SETTINGS)
def test_login_conforms_to_its_schema(case: Any, fuzz_env: Env) -> None:
    _call(case, fuzz_env)


def test_every_operation_reached_success(fuzz_env: Env) -> None:
    """The fuzzing above got past authentication and validation: every operation answered 2xx at least once."""
    labels = {op.ok().label for op in schema.get_all_operations()}
    if not labels <= set(fuzz_env.seen):
        pytest.skip("only part of the schemathesis test ran")
    summary = "; ".join(f"{k} {dict(sorted(v.items()))}" for k, v in sorted(fuzz_env.seen.items()))
    never = sorted(k for k in labels if not any(200 <= code < 300 for code in fuzz_env.seen[k]))
    assert not never, f"never answered 2xx: {never}\n{summary}"


# --- regressions for what the fuzzing found (both databases) ---------------------------------------------

def test_token_id_out_of_range_is_422_not_500(client, make_clinic) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import login

    h = login(client, make_clinic(("admin",))["admin_email"])
    for token_id in (2**31, 2**64 + 5):  # PostgreSQL INTEGER overflow; SQLite overflow past 64 bits
        r = client.delete(f"/v1/clinic/tokens/{token_id}", headers=h)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == "path.token_id"


def test_nul_characters_are_400_not_500(client, make_clinic) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import login

    h = login(client, make_clinic(("admin",))["admin_email"])
    requests = [("GET", "/v1/assessments/a%00b", None), ("GET", "/v1/clinic/audit?assessment_id=a%00b", None),
                ("POST", "/v1/clinic/tokens", {"name": "key\x00"}),
                ("POST", "/v1/assessments", {"age": 40, "sex": "male", "patient_ref": "ref\x00"})]
    for method, path, body in requests:
        r = client.request(method, path, json=body, headers=h)
        assert r.status_code == 400 and "NUL character" in r.json()["detail"], (path, r.text)
    r = client.post("/v1/auth/login", json={"email": "a\x00b@example.org", "password": "whatever12"})
    assert r.status_code == 400 and "NUL character" in r.json()["detail"]


def test_errors_are_documented_as_problem_json() -> None:
    spec = _spec_app().openapi()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for code, resp in op["responses"].items():
                if int(code) >= 400:
                    assert list(resp["content"]) == ["application/problem+json"], (method, path, code)
            if "{" in path:
                assert "404" in op["responses"], (method, path)


def test_each_operation_has_its_own_test_id(request: pytest.FixtureRequest) -> None:
    """A failing schemathesis case names its operation (tests/api/conftest.py), so it can be told apart."""
    ids = [i.nodeid for i in request.session.items if getattr(i, "operation_label", None)]
    if not ids:
        pytest.skip("the schemathesis tests were not collected in this run")
    assert len(ids) == len(set(ids)), sorted(ids)
    assert all(i.endswith(f"[{it.operation_label}]") for i, it in  # type: ignore[attr-defined]
               zip(ids, [x for x in request.session.items if getattr(x, "operation_label", None)], strict=True))
