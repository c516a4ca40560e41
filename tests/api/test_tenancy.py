"""Tenancy through the API: a clinic, an API key or a patient token reaches only its own assessments, and a record
it cannot see is reported as not found (404, never 403), whatever the endpoint."""

from __future__ import annotations

import csv
import io

from painpath.storage import accounts
from tests.conftest import login

ANSWERS = {"low_back_pain": "present", "pain_below_knee": "present"}

# One request per endpoint that takes an assessment id: (method, route template) -> JSON body.
# test_every_assessment_endpoint_is_covered fails when routes_stored gains an endpoint missing here.
ID_ENDPOINTS: dict[tuple[str, str], dict | None] = {  # type: ignore[type-arg]
    ("GET", "/v1/assessments/{assessment_id}"): None,
    ("PUT", "/v1/assessments/{assessment_id}/answers"): {"answers": {"calf_pain": "present"}},
    ("POST", "/v1/assessments/{assessment_id}/withdraw"): {"findings": ["low_back_pain"]},
    ("PUT", "/v1/assessments/{assessment_id}/outcome"): {"pain": 4, "psfs": [{"activity": "walking", "score": 5}]},
    ("POST", "/v1/assessments/{assessment_id}/finish"): None,
    ("POST", "/v1/assessments/{assessment_id}/followups"): None,
    ("GET", "/v1/assessments/{assessment_id}/followups"): None,
    ("POST", "/v1/assessments/{assessment_id}/amend"): {"answers": {"calf_pain": "present"}},
}


def _routes(client) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every (method, path) of the API that takes an assessment id, from the OpenAPI document."""
    paths = client.app.openapi()["paths"]
    return {(m.upper(), path) for path, ops in paths.items() if "{assessment_id}" in path for m in ops}


def _new(client, headers=None, **body):  # type: ignore[no-untyped-def]
    r = client.post("/v1/assessments", headers=headers or {}, json={"age": 50, "sex": "female", **body})
    assert r.status_code == 201, r.text
    d = r.json()
    return d, d["assessment"]["id"], {"Authorization": f"Bearer {d['patient_token']}"}


def _finished(client, headers=None, **body):  # type: ignore[no-untyped-def]
    d, aid, h = _new(client, headers, **body)
    hh = headers or h
    assert client.put(f"/v1/assessments/{aid}/answers", headers=hh, json={"answers": ANSWERS}).status_code == 200
    assert client.put(f"/v1/assessments/{aid}/outcome", headers=hh, json={"pain": 6}).status_code == 200
    assert client.post(f"/v1/assessments/{aid}/finish", headers=hh).status_code == 200
    return d, aid, h


def _call(client, method: str, template: str, aid: str, headers):  # type: ignore[no-untyped-def]
    body = ID_ENDPOINTS[(method, template)]
    kw = {"json": body} if body is not None else {}
    return client.request(method, template.replace("{assessment_id}", aid), headers=headers, **kw)


def _assert_hidden(client, aid: str, headers, owner_headers) -> None:  # type: ignore[no-untyped-def]
    """Every assessment endpoint answers 404 (not 403) for ``aid``, and the record is unchanged afterwards."""
    before = client.get(f"/v1/assessments/{aid}", headers=owner_headers).json()
    fus_before = client.get(f"/v1/assessments/{aid}/followups", headers=owner_headers).json()
    for method, template in sorted(_routes(client)):
        r = _call(client, method, template, aid, headers)
        assert r.status_code == 404, f"{method} {template}: {r.status_code} {r.text}"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"].startswith("assessment:"), r.json()
    after = client.get(f"/v1/assessments/{aid}", headers=owner_headers).json()
    assert after == before, "a refused request changed the record"
    assert client.get(f"/v1/assessments/{aid}/followups", headers=owner_headers).json() == fus_before


def test_every_assessment_endpoint_is_covered(client):
    routes = _routes(client)
    missing = routes - set(ID_ENDPOINTS)
    assert not missing, f"add these endpoints to ID_ENDPOINTS (and so to the tenancy tests): {sorted(missing)}"
    assert len(routes) >= 7


def test_clinic_cannot_reach_another_clinics_assessments(client, make_clinic):
    a, b = make_clinic(("clinician",)), make_clinic(("clinician",))
    ah, bh = login(client, a["clinician_email"]), login(client, b["clinician_email"])
    # B's records: in progress (created by B), finished (created by B) and a patient's one B claimed
    _, b_open, _ = _new(client, bh, patient_ref="B-OPEN")
    _, b_done, _ = _finished(client, bh, patient_ref="B-DONE")
    shared, b_claimed, ph = _new(client)
    assert client.post("/v1/clinic/claim", headers=bh, json={"share_code": shared["share_code"]}).status_code == 200
    _, a_own, _ = _new(client, ah)
    for aid in (b_open, b_done, b_claimed):
        _assert_hidden(client, aid, ah, bh)
    # claiming B's record with its share code: the same 404 as an unknown code (its existence does not leak)
    r = client.post("/v1/clinic/claim", headers=ah, json={"share_code": shared["share_code"]})
    unknown = client.post("/v1/clinic/claim", headers=ah, json={"share_code": "ABCD-EFGH-JKMN"})
    assert r.status_code == unknown.status_code == 404 and r.json()["detail"] == unknown.json()["detail"]
    assert r.json()["detail"].startswith("share_code:")
    _assert_hidden(client, b_claimed, ah, bh)
    assert client.get(f"/v1/assessments/{b_claimed}", headers=bh).status_code == 200
    # lists and exports hold only A's own
    b_ids = {b_open, b_done, b_claimed}
    items = client.get("/v1/clinic/assessments?limit=500", headers=ah).json()["items"]
    assert [x["id"] for x in items] == [a_own]
    for q in ("?status=finished", "?status=in_progress", "?level=soon", "?level=self_care", "?offset=0&limit=1"):
        assert not {x["id"] for x in client.get(f"/v1/clinic/assessments{q}", headers=ah).json()["items"]} & b_ids
    rows = list(csv.DictReader(io.StringIO(client.get("/v1/clinic/export?format=csv", headers=ah).text)))
    assert [row["id"] for row in rows] == [a_own]
    js = client.get("/v1/clinic/export?format=json", headers=ah).json()["assessments"]
    assert [x["id"] for x in js] == [a_own]
    # B still sees its own
    assert b_ids <= {x["id"] for x in client.get("/v1/clinic/assessments?limit=500", headers=bh).json()["items"]}
    # a follow-up started by B is B's too
    r = client.post(f"/v1/assessments/{b_done}/followups", headers=bh)
    assert r.status_code == 201
    _assert_hidden(client, r.json()["assessment"]["id"], ah, bh)


def test_patient_token_reaches_only_its_own_assessment(client, make_clinic):
    _, x, xh = _finished(client)
    _, y_open, yh = _new(client)
    _, y_done, y2h = _finished(client)
    for aid, owner in ((y_open, yh), (y_done, y2h)):
        _assert_hidden(client, aid, xh, owner)
    # nor does it act as a clinic
    for method, path in (("GET", "/v1/clinic/assessments"), ("GET", "/v1/clinic/export"), ("GET", "/v1/clinic"),
                         ("GET", "/v1/clinic/audit"), ("GET", "/v1/clinic/tokens")):
        assert client.request(method, path, headers=xh).status_code == 403
    d, _, _ = _new(client)
    assert client.post("/v1/clinic/claim", headers=xh, json={"share_code": d["share_code"]}).status_code == 403
    # a follow-up's own token does not reach its first assessment's siblings in another chain
    fu = client.post(f"/v1/assessments/{x}/followups", headers=xh).json()
    fh = {"Authorization": f"Bearer {fu['patient_token']}"}
    _assert_hidden(client, y_done, fh, y2h)
    # a clinic's assessment is not reachable by a patient token either
    clinic = make_clinic(("clinician",))
    ch = login(client, clinic["clinician_email"])
    _, c_aid, _ = _new(client, ch)
    _assert_hidden(client, c_aid, xh, ch)


def test_api_key_sees_only_its_clinic(client, database, make_clinic):
    a, b = make_clinic(("clinician",)), make_clinic(("clinician",))
    bh = login(client, b["clinician_email"])
    with database.write() as s:
        _, raw = accounts.issue_token(s, int(a["id"]), kind="api", name="EHR")  # type: ignore[call-overload]
    kh = {"Authorization": f"Bearer {raw}"}
    _, a_aid, _ = _new(client, kh, patient_ref="A-1")
    assert client.get(f"/v1/assessments/{a_aid}", headers=kh).status_code == 200
    _, b_aid, _ = _finished(client, bh)
    _assert_hidden(client, b_aid, kh, bh)
    assert [x["id"] for x in client.get("/v1/clinic/assessments", headers=kh).json()["items"]] == [a_aid]
    rows = list(csv.DictReader(io.StringIO(client.get("/v1/clinic/export", headers=kh).text)))
    assert [row["id"] for row in rows] == [a_aid]
    assert [x["id"] for x in client.get("/v1/clinic/export?format=json", headers=kh).json()["assessments"]] == [a_aid]
    # and B cannot see what A's key created
    _assert_hidden(client, a_aid, bh, kh)
