"""HTTP bodies: arbitrary JSON (and bytes) to every JSON operation of the OpenAPI document, to the FHIR operations
and to the CDS Hooks services (with a valid JWT) is answered 2xx or 4xx in the documented error format, never
5xx; deeply nested and huge bodies are refused early with a 4xx, not a 500 and not a hang.

The REST API runs on SQLite and PostgreSQL (the ``client`` fixture); FHIR and CDS Hooks (stateless) on SQLite.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import unique
from tests.fuzz import harness

DEPTH = 10_000
SLOW = 5.0  # seconds: a refusal must come quickly (the limit is about hangs, not speed)


@pytest.fixture
def client(database: Any, tmp_path: Path) -> Iterator[TestClient]:
    """The real app and database (SQLite and PostgreSQL) as tests/conftest.py's ``client``, but from its own
    client address: fuzzed logins fail by the dozen, and failures are rate-limited per address in the database
    the whole test session shares, so the shared address must not be locked out for the tests that follow."""
    from painpath.api.app import create_app
    from painpath.config import Settings

    settings = Settings(data_dir=tmp_path, database_url=database.url, auto_migrate=False)
    with TestClient(create_app(settings, db=database), client=(unique("fuzz-host"), 50000)) as c:
        yield c


def test_every_json_operation_has_a_template(client: Any) -> None:
    ops = harness.json_operations(client.app)
    assert len(ops) >= 10, ops
    missing = [f"{m} {p}" for m, p in ops if f"{m} {p}" not in harness.API_TEMPLATES]
    assert not missing, f"add a realistic body for these operations to harness.API_TEMPLATES: {missing}"


@pytest.fixture
def api_env(client: Any, database: Any) -> harness.ApiEnv:
    return harness.ApiEnv(client, database)


def test_api_bodies(client: Any, api_env: harness.ApiEnv) -> None:
    """Every JSON operation, a small budget each (both databases)."""
    for target in harness.api_targets(api_env, client.app):
        harness.run(target, harness.budget(20))


def test_fhir_operations(fhir_app: dict[str, Any]) -> None:
    for target in harness.fhir_targets(fhir_app["client"]):
        harness.run(target, harness.budget(60))


def test_cds_services(fhir_app: dict[str, Any]) -> None:
    for target in harness.cds_targets(fhir_app["client"], fhir_app["keys"]):
        harness.run(target, harness.budget(40))


# --- nesting and size ---------------------------------------------------------------------------------------


def nested(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)


def big_array(max_bytes: int) -> str:
    """A flat array just under the body limit (so it is parsed, not refused for its size)."""
    n = (max_bytes - 100) // 2
    return "[" + ",".join(["0"] * n) + "]"


def _api_urls(env: harness.ApiEnv, app: Any) -> list[tuple[str, str, dict[str, str]]]:
    out = []
    for method, path in harness.json_operations(app):
        url, headers = env.target_of(method, path)
        out.append((method, url, headers))
    return out


def _timed(client: Any, method: str, url: str, body: str | bytes, headers: dict[str, str]) -> Any:
    t0 = time.perf_counter()
    r = client.request(method, url, content=body, headers={"content-type": "application/json", **headers})
    took = time.perf_counter() - t0
    assert took < SLOW, (method, url, f"{took:.1f} s")
    return r


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_api_deep_nesting_is_a_4xx(client: Any, api_env: harness.ApiEnv, kind: str) -> None:
    for depth in (DEPTH, 900):  # 900: parsed by Python's json, left to validation
        body = nested(depth, kind)
        inner = f'{{"age": 40, "sex": "male", "findings": {{"low_back_pain": {nested(depth, kind)}}}}}'
        for method, url, headers in _api_urls(api_env, client.app):
            for b in (body, inner):
                r = _timed(client, method, url, b, headers)
                assert 400 <= r.status_code < 500, (depth, method, url, r.status_code, r.text[:200])
                harness.check_problem(r)


def test_api_huge_arrays_are_a_4xx(client: Any, api_env: harness.ApiEnv) -> None:
    limit = client.app.state.settings.max_body_bytes
    under = [big_array(limit),
             json.dumps({"age": 40, "sex": "male", "findings": {f"k{i}": True for i in range(limit // 20)}}),
             json.dumps({"answers": {f"k{i}": "present" for i in range(limit // 22)}})]
    over = big_array(limit * 4)
    for method, url, headers in _api_urls(api_env, client.app):
        for body in under:
            assert len(body) < limit
            r = _timed(client, method, url, body, headers)
            assert r.status_code in (400, 401, 403, 404, 409, 422), (method, url, r.status_code, r.text[:200])
            harness.check_problem(r)
        r = _timed(client, method, url, over, headers)
        assert r.status_code == 413, (method, url, r.status_code)
        harness.check_problem(r)


def _fhir_calls(fhir_app: dict[str, Any]) -> list[tuple[str, str]]:
    """(url, kind) of each FHIR operation and CDS service."""
    return [(harness.NEXT, "fhir"), (harness.ASSESS, "fhir"),
            *[(f"/cds-services/{s}", "cds") for s in (harness.PV, harness.IMG)]]


def _headers(fhir_app: dict[str, Any], url: str) -> dict[str, str]:
    """A valid, fresh CDS Hooks JWT for a CDS service (each JWT may be used once); nothing for FHIR."""
    if not url.startswith("/cds-services/"):
        return {}
    return {"Authorization": f"Bearer {fhir_app['keys'].token(url.rsplit('/', 1)[1])}"}


@pytest.mark.parametrize("kind", ["list", "dict"])
@pytest.mark.parametrize("depth", [DEPTH, 900, 500, 200])
def test_fhir_and_cds_deep_nesting_is_a_4xx(fhir_app: dict[str, Any], kind: str, depth: int) -> None:
    c = fhir_app["client"]
    inner = nested(depth, kind)
    shaped = {
        "fhir": [inner, '{"resourceType":"QuestionnaireResponse","status":"in-progress","item":[{"linkId":"x",'
                        f'"item":{inner}}}]}}', f'{{"resourceType":"Parameters","parameter":{inner}}}'],
        "cds": [inner, f'{{"hook":"patient-view","hookInstance":"x","context":{{"patientId":"1"}},'
                       f'"prefetch":{{"patient":{inner}}}}}', f'{{"hook":"order-select","context":{inner}}}'],
    }
    for url, which in _fhir_calls(fhir_app):
        for body in shaped[which]:
            r = _timed(c, "POST", url, body, _headers(fhir_app, url))
            assert 400 <= r.status_code < 500, (depth, url, r.status_code, r.text[:200])
            (harness.check_outcome if which == "fhir" else harness.check_cds)(r)


def test_fhir_and_cds_huge_and_odd_bodies_are_a_4xx(fhir_app: dict[str, Any]) -> None:
    c = fhir_app["client"]
    limit = fhir_app["app"].state.settings.fhir_max_body_bytes  # the FHIR operations' and CDS services' limit
    odd = [big_array(limit), big_array(limit * 4), "1" * 5000,  # a number longer than Python's int limit
           '{"resourceType": "QuestionnaireResponse", "status": "in-progress", "id": ' + "9" * 5000 + "}",
           '"\\ud800"', '{"\\ud800": 1}', "\ufeff{}", "NaN", "[1e999999]", "\x00", ""]
    for body in odd:
        for url, which in _fhir_calls(fhir_app):
            r = _timed(c, "POST", url, body.encode("utf-8", "surrogatepass"), _headers(fhir_app, url))
            assert 400 <= r.status_code < 500, (url, body[:40], r.status_code, r.text[:200])
            (harness.check_outcome if which == "fhir" else harness.check_cds)(r)
