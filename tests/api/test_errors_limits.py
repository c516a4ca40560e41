"""Errors are problem+json naming the field; size and count limits; no personal data in the logs; headers."""

from __future__ import annotations

import logging
import re

from tests.conftest import login, unique

PROBLEM = "application/problem+json"


def assert_problem(r, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body = r.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance", "errors"}
    assert body["status"] == status and isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    for e in body["errors"]:
        assert set(e) >= {"field", "message"}
    if field is not None:
        assert body["detail"].startswith(f"{field}:"), body["detail"]
        assert field in [e["field"] for e in body["errors"]], body["errors"]
    return body


def _new(client, **body):  # type: ignore[no-untyped-def]
    r = client.post("/v1/assessments", json={"age": 40, "sex": "male", **body})
    assert r.status_code == 201, r.text
    d = r.json()
    return d["assessment"]["id"], {"Authorization": f"Bearer {d['patient_token']}"}


# --- problem+json for every kind of error -------------------------------------------------------

def test_404_problems(client):
    body = assert_problem(client.get("/v1/conditions/no_such_condition"), 404, "key")
    assert "no_such_condition" in body["detail"] and body["instance"] == "/v1/conditions/no_such_condition"
    assert_problem(client.get("/v1/no/such/route"), 404)
    aid, h = _new(client)
    assert_problem(client.get("/v1/assessments/00000000-0000-0000-0000-000000000000", headers=h), 404, "assessment")


def test_401_problems(client):
    r = client.get("/v1/me")
    body = assert_problem(r, 401, "authorization")
    assert r.headers["www-authenticate"] == "Bearer"
    assert body["title"] == "Not authenticated"
    r = client.get("/v1/me", headers={"Authorization": "Bearer pps_not-a-real-token"})
    assert_problem(r, 401, "token")
    assert r.headers["www-authenticate"] == "Bearer"


def test_403_problems(client, make_clinic):
    _, h = _new(client)
    assert_problem(client.get("/v1/clinic/assessments", headers=h), 403, "authorization")
    clinic = make_clinic(("clinician",))
    ch = login(client, clinic["clinician_email"])
    body = assert_problem(client.get("/v1/clinic/audit", headers=ch), 403, "authorization")
    assert body["title"] == "Forbidden"


def test_409_problem(client):
    aid, h = _new(client)
    client.put(f"/v1/assessments/{aid}/answers", headers=h, json={"answers": {"low_back_pain": "present"}})
    assert_problem(client.put(f"/v1/assessments/{aid}/answers", headers=h,
                              json={"answers": {"calf_pain": "present"}, "revision": 0}), 409, "revision")
    client.post(f"/v1/assessments/{aid}/finish", headers=h)
    body = assert_problem(client.put(f"/v1/assessments/{aid}/answers", headers=h,
                                     json={"answers": {"calf_pain": "present"}}), 409, "status")
    assert body["title"] == "Conflict"


def test_422_names_the_field(client):
    body = assert_problem(client.post("/v1/assessments", json={"age": 500, "sex": "female"}), 422, "body.age")
    assert body["errors"][0]["message"]
    assert_problem(client.post("/v1/assessments", json={"age": 40}), 422, "body.sex")
    assert_problem(client.post("/v1/assess", json={"age": 40, "sex": "male", "surprise": 1}), 422, "body.surprise")
    assert_problem(client.get("/v1/clinic/assessments?limit=0"), 401)  # authentication comes first
    # several invalid fields are each listed
    body = assert_problem(client.post("/v1/assessments", json={"age": -1, "sex": "other"}), 422)
    assert {"body.age", "body.sex"} <= {e["field"] for e in body["errors"]}


def test_malformed_json_body(client):
    r = client.post("/v1/assess", content=b'{"age": 40, "sex": ', headers={"content-type": "application/json"})
    body = assert_problem(r, 422)
    assert body["detail"].startswith("body") and "JSON" in body["detail"]
    aid, h = _new(client)
    r = client.put(f"/v1/assessments/{aid}/answers", content=b"{not json",
                   headers={**h, "content-type": "application/json"})
    assert_problem(r, 422)


def test_unknown_finding_key_names_it(client):
    aid, h = _new(client)
    body = assert_problem(client.put(f"/v1/assessments/{aid}/answers", headers=h,
                                     json={"answers": {"low_back_pain": "present", "no_such_finding": "present"}}),
                          422, "answers.no_such_finding")
    assert body["errors"] == [{"field": "answers.no_such_finding", "message": body["detail"]}]
    # nothing was stored
    assert client.get(f"/v1/assessments/{aid}", headers=h).json()["revision"] == 0
    assert_problem(client.post(f"/v1/assessments/{aid}/withdraw", headers=h, json={"findings": ["no_such_finding"]}),
                   422, "findings.no_such_finding")
    assert_problem(client.post("/v1/assess", json={"age": 40, "sex": "male", "findings": {"no_such_finding": True}}),
                   422, "body.findings.no_such_finding")
    assert_problem(client.put(f"/v1/assessments/{aid}/answers", headers=h,
                              json={"answers": {"low_back_pain": "maybe"}}), 422, "body.answers.low_back_pain")
    assert_problem(client.put(f"/v1/assessments/{aid}/answers", headers=h,
                              json={"answers": {"low_back_pain": "present"}, "screen": "no_such_screen"}), 422, "screen")


# --- limits --------------------------------------------------------------------------------------

def test_body_over_limit_with_content_length(make_client):
    c = make_client(max_body_bytes=2048)
    big = {"age": 40, "sex": "male", "findings": {f"k{i:04d}": True for i in range(200)}}
    r = c.post("/v1/assess", json=big)
    body = assert_problem(r, 413, "body")
    assert "2048" in body["detail"]
    # a body under the limit still works
    assert c.post("/v1/assess", json={"age": 40, "sex": "male"}).status_code == 200


def test_body_over_limit_without_content_length(make_client):
    c = make_client(max_body_bytes=2048)

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"age": 40, "sex": "male", "id": "'
        for _ in range(10):
            yield b"x" * 512
        yield b'"}'

    r = c.post("/v1/assess", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    body = assert_problem(r, 413, "body")
    assert "2048" in body["detail"]

    def small():  # type: ignore[no-untyped-def]
        yield b'{"age": 40, '
        yield b'"sex": "male"}'

    r = c.post("/v1/assess", content=small(), headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text


def test_too_many_answers_in_one_request(make_client):
    c = make_client(max_answers_per_request=3)
    aid, h = _new(c)
    keys = ["low_back_pain", "buttock_pain", "calf_pain", "foot_pain"]
    r = c.put(f"/v1/assessments/{aid}/answers", headers=h, json={"answers": {k: "present" for k in keys}})
    assert 400 <= r.status_code < 500
    assert_problem(r, r.status_code, "answers")
    assert c.get(f"/v1/assessments/{aid}", headers=h).json()["revision"] == 0
    r = c.put(f"/v1/assessments/{aid}/answers", headers=h, json={"answers": {k: "present" for k in keys[:3]}})
    assert r.status_code == 200


# --- logs and headers ----------------------------------------------------------------------------

ACCESS_LINE = re.compile(r"^(GET|POST|PUT|DELETE|PATCH) (\S+) (\d{3}) \d+\.\dms$")


def test_no_personal_data_in_logs(client, make_clinic, caplog):
    clinic = make_clinic(("clinician",))
    ch = login(client, clinic["clinician_email"])
    email = f"zebra-{unique('pii')}@example.org"
    ref = "MRN-" + unique("qx").upper()
    age = 113
    root = logging.getLogger()
    pp = logging.getLogger("painpath")
    for lg in (root, pp):
        lg.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    try:
        assert client.post("/v1/auth/login", json={"email": email, "password": "wrong password here"}).status_code == 401
        r = client.post("/v1/assessments", json={"age": age, "sex": "female"})
        assert r.status_code == 201
        data = r.json()
        aid, token, share = data["assessment"]["id"], data["patient_token"], data["share_code"]
        h = {"Authorization": f"Bearer {token}"}
        client.put(f"/v1/assessments/{aid}/answers?note={ref}", headers=h,
                   json={"answers": {"bladder_problem_new": "present"}})
        assert client.post("/v1/clinic/claim", headers=ch, json={"share_code": share}).status_code == 200
        r = client.post("/v1/assessments", headers=ch, json={"age": age, "sex": "male", "patient_ref": ref})
        assert r.status_code == 201
        client.get(f"/v1/assessments/{aid}", headers=ch)
        client.get(f"/v1/clinic/export?format=csv&q={email}", headers=ch)
        client.get("/v1/assessments/not-an-id-" + ref, headers=ch)
    finally:
        for lg in (root, pp):
            lg.removeHandler(caplog.handler)
    messages = [rec.getMessage() for rec in caplog.records if rec.name.startswith("painpath")]
    assert messages, "the access log wrote nothing"
    text = "\n".join(messages)
    for secret in (email, ref, aid, token, share, share.replace("-", ""), "bladder", "female",
                   clinic["clinician_email"], ch["Authorization"].split()[1]):
        assert secret not in text, f"{secret!r} reached the log"
    for m in (r.getMessage() for r in caplog.records if r.name == "painpath.access"):
        mm = ACCESS_LINE.match(m)
        assert mm, m
        assert str(age) not in m.rsplit(" ", 1)[0]  # the age never appears (only the timing may hold digits)
    assert "PUT /v1/assessments/{assessment_id}/answers 200" in text
    assert "GET /v1/assessments/{assessment_id} 200" in text
    assert "POST /v1/auth/login 401" in text
    assert "GET /v1/assessments/{assessment_id} 404" in text


def test_security_headers(client):
    for path in ("/v1/health", "/v1/conditions/nope", "/openapi.json"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert client.get("/v1/health").headers["cache-control"] == "no-store"
    assert client.get("/v1/conditions/nope").headers["cache-control"] == "no-store"
    r = client.post("/v1/assessments", json={"age": 40, "sex": "male"})
    assert r.headers["cache-control"] == "no-store"
