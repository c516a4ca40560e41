"""GET /fhir/Bundle/{id} and /fhir/RiskAssessment/{id}: stored finished assessments, with the same
authorisation and tenancy as GET /v1/assessments/{id}."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from painpath.engine import default_compiled
from painpath.fhir import codes as C
from painpath.fhir.questionnaire import read_response
from painpath.storage import accounts
from painpath.storage.models import AuditEntry
from tests.fhir.r4 import validate

ANSWERS = {"low_back_pain": "present", "buttock_pain": "present", "posterior_thigh_pain": "present",
           "calf_pain": "present", "pain_below_knee": "present", "leg_pain_worse_than_back": "present",
           "pain_shooting_electric": "present", "worse_cough_sneeze_strain": "present", "saddle_numbness": "absent",
           "bladder_problem_new": "absent", "fever_unwell": "unknown"}


def _clinic_key(app_env: dict[str, Any]) -> tuple[int, dict[str, str]]:
    db = app_env["app"].state.db
    slug = f"fhir-{uuid.uuid4().hex[:8]}"
    with db.write() as s:
        clinic = accounts.create_clinic(s, slug, f"Clinic {slug}")
        _, raw = accounts.issue_token(s, clinic.id, kind="api", name="ehr")
        return clinic.id, {"Authorization": f"Bearer {raw}"}


@pytest.fixture(scope="module")
def stored(app_env: dict[str, Any]) -> dict[str, Any]:
    c: TestClient = app_env["client"]
    clinic_a, key_a = _clinic_key(app_env)
    clinic_b, key_b = _clinic_key(app_env)
    r = c.post("/v1/assessments", json={"age": 41, "sex": "female", "patient_ref": "MRN-0042"}, headers=key_a)
    assert r.status_code == 201, r.text
    created = r.json()
    aid = created["assessment"]["id"]
    r = c.put(f"/v1/assessments/{aid}/answers", json={"answers": ANSWERS, "screen": "where"}, headers=key_a)
    assert r.status_code == 200, r.text
    r = c.post(f"/v1/assessments/{aid}/finish", headers=key_a)
    assert r.status_code == 200, r.text
    unfinished = c.post("/v1/assessments", json={"age": 30, "sex": "male"}, headers=key_a).json()["assessment"]["id"]
    return {"id": aid, "record": r.json(), "key_a": key_a, "key_b": key_b, "clinic_a": clinic_a,
            "patient": {"Authorization": f"Bearer {created['patient_token']}"}, "unfinished": unfinished}


def _get(fc: TestClient, path: str, headers: dict[str, str] | None, status: int) -> dict[str, Any]:
    r = fc.get(path, headers=headers or {})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = r.json()
    validate(body)
    return body  # type: ignore[no-any-return]


def test_bundle_of_a_stored_assessment(fc: TestClient, stored: dict[str, Any], app_env: dict[str, Any]) -> None:
    aid = stored["id"]
    b = _get(fc, f"/fhir/Bundle/{aid}", stored["key_a"], 200)
    assert b["id"] == aid and b["identifier"] == {"system": C.ASSESSMENT_ID_SYSTEM, "value": aid}
    for e in b["entry"]:
        validate(e["resource"])
    qr = b["entry"][0]["resource"]
    assert qr["status"] == "completed" and qr["identifier"]["value"] == aid
    assert qr["questionnaire"] == f"{C.QUESTIONNAIRE_URL}|{stored['record']['kb_version']}"
    assert qr["subject"]["identifier"] == {"system": f"{C.PATIENT_REF_SYSTEM}/clinic-{stored['clinic_a']}",
                                           "value": "MRN-0042"}
    ra = next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    result = stored["record"]["result"]
    assert ra["id"] == aid
    conditions = [p for p in ra["prediction"] if p["outcome"]["coding"][0]["code"] != "other"]
    assert conditions[0]["outcome"]["text"] == result["conditions"][0]["name"]
    assert all(any(c["system"] == C.ICD10CM for c in p["outcome"]["coding"]) for p in conditions)
    tri = next(e["resource"] for e in b["entry"] if e["resource"].get("code", {}).get("coding", [{}])[0].get("code")
               == "triage-disposition")
    assert tri["valueCodeableConcept"]["coding"][0]["code"] == stored["record"]["triage_level"]
    again = _get(fc, f"/fhir/Bundle/{aid}", stored["key_a"], 200)
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in b["entry"]]  # stable ids
    with app_env["app"].state.db.read() as s:
        reads = s.query(AuditEntry).filter_by(assessment_id=aid, action="read").count()
    assert reads >= 2  # every read by a clinic is audited, as for /v1


def test_risk_assessment_of_a_stored_assessment(fc: TestClient, stored: dict[str, Any]) -> None:
    ra = _get(fc, f"/fhir/RiskAssessment/{stored['id']}", stored["key_a"], 200)
    assert ra["resourceType"] == "RiskAssessment" and ra["id"] == stored["id"]
    result = stored["record"]["result"]
    expected = [c["probability"] for c in result["conditions"]]
    if result.get("other"):  # the unexplained-pattern class, at its rank
        expected = sorted([*expected, result["other"]["probability"]], reverse=True)
    assert [p["probabilityDecimal"] for p in ra["prediction"]] == pytest.approx(expected, abs=1e-6)
    _get(fc, f"/fhir/RiskAssessment/{stored['id']}", stored["patient"], 200)  # the patient's own token


@pytest.mark.parametrize("kind", ["Bundle", "RiskAssessment"])
def test_tenancy_and_authentication(fc: TestClient, stored: dict[str, Any], kind: str) -> None:
    aid = stored["id"]
    oo = _get(fc, f"/fhir/{kind}/{aid}", stored["key_b"], 404)  # another clinic: not found
    assert oo["issue"][0]["code"] == "not-found"
    r = fc.get(f"/fhir/{kind}/{aid}")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    validate(r.json())
    _get(fc, f"/fhir/{kind}/{aid}", {"Authorization": "Bearer ppk_not-a-real-token"}, 401)
    _get(fc, f"/fhir/{kind}/{uuid.uuid4()}", stored["key_a"], 404)
    _get(fc, f"/fhir/{kind}/{stored['unfinished']}", stored["key_a"], 404)  # no result yet


CALF = {"calf_pain": "present", "pain_below_knee": "present", "leg_pain_worse_than_back": "present",
        "onset_sudden_during_activity": "present"}


def test_a_worse_follow_up_on_a_self_care_assessment_is_one_level_everywhere(fc: TestClient,
                                                                              app_env: dict[str, Any]) -> None:
    """The follow-up calls for soon on a self-care assessment: the plan is built at soon (with the note saying
    the follow-up raised it), soon is the stored level (REST) and the FHIR disposition, whose notes say why."""
    c: TestClient = app_env["client"]
    _, key = _clinic_key(app_env)
    root = c.post("/v1/assessments", json={"age": 35, "sex": "male"}, headers=key).json()["assessment"]["id"]
    c.put(f"/v1/assessments/{root}/answers", json={"answers": CALF}, headers=key)
    c.put(f"/v1/assessments/{root}/outcome", json={"pain": 3}, headers=key)
    first = c.post(f"/v1/assessments/{root}/finish", headers=key).json()
    assert first["triage_level"] == first["plan"]["level"] == first["result"]["triage"]["level"] == "self_care"
    fid = c.post(f"/v1/assessments/{root}/followups", headers=key).json()["assessment"]["id"]
    c.put(f"/v1/assessments/{fid}/answers", json={"answers": CALF}, headers=key)
    c.put(f"/v1/assessments/{fid}/outcome", json={"pain": 8}, headers=key)
    fin = c.post(f"/v1/assessments/{fid}/finish", headers=key).json()
    assert fin["result"]["triage"]["level"] == "self_care"  # the engine's triage is unchanged
    assert fin["triage_level"] == fin["plan"]["level"] == fin["followup"]["level"] == "soon"
    note = "level raised from self_care to soon, what the follow-up calls for (worse, or not improving)"
    assert note in fin["plan"]["notes"] and not any("lowest level for" in n for n in fin["plan"]["notes"])
    assert fin["plan"]["headline"] != first["plan"]["headline"]  # the soon content, not the self-care one
    b = _get(fc, f"/fhir/Bundle/{fid}", key, 200)
    tri = next(e["resource"] for e in b["entry"] if e["resource"].get("code", {}).get("coding", [{}])[0].get("code")
               == "triage-disposition")
    assert tri["valueCodeableConcept"]["coding"][0]["code"] == "soon"
    notes = [n["text"] for n in tri.get("note", [])]
    assert note in notes and any(n.startswith("Follow-up raised the level: pain 3 -> 8 (worse)") for n in notes)
    # the RiskAssessment's mitigation is the advice of that level, in the Bundle and read on its own
    soon = default_compiled().kb.triage.level_text["soon"]
    ra = next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    assert ra["mitigation"] == soon == _get(fc, f"/fhir/RiskAssessment/{fid}", key, 200)["mitigation"]
    assert soon != fin["result"]["triage"]["advice"]


@pytest.mark.parametrize(("side", "code"), [("right", "24028007"), ("left", "7771000"), ("both", "51440002")])
def test_the_side_is_the_body_site_of_the_leg_findings(fc: TestClient, app_env: dict[str, Any], side: str,
                                                       code: str) -> None:
    c: TestClient = app_env["client"]
    _, key = _clinic_key(app_env)
    aid = c.post("/v1/assessments", json={"age": 41, "sex": "female"}, headers=key).json()["assessment"]["id"]
    r = c.put(f"/v1/assessments/{aid}/answers", json={"answers": ANSWERS, "screen": "where", "side": side}, headers=key)
    assert r.status_code == 200, r.text
    assert c.post(f"/v1/assessments/{aid}/finish", headers=key).status_code == 200
    b = _get(fc, f"/fhir/Bundle/{aid}", key, 200)
    obs = {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in b["entry"]
           if e["resource"]["resourceType"] == "Observation"}
    for e in b["entry"]:
        validate(e["resource"])
    for leg in ("buttock_pain", "posterior_thigh_pain", "calf_pain"):
        assert obs[leg]["bodySite"]["coding"] == [{"system": C.SNOMED, "code": code,
                                                   "display": C.LATERALITY[side]["display"]}], leg
        assert obs[leg]["bodySite"]["text"] == {"left": "Left leg", "right": "Right leg", "both": "Both legs"}[side]
    assert "bodySite" not in obs["low_back_pain"]  # the back is not a leg
    assert "bodySite" not in obs["pain_shooting_electric"]  # nor a finding of the history
    # the QuestionnaireResponse answers which leg, right after the finding it refines, and reads back the same
    qr = b["entry"][0]["resource"]
    where = next(g for g in qr["item"] if g["linkId"] == "where")
    links = [i["linkId"] for i in where["item"]]
    assert links[links.index("pain_both_legs") + 1] == C.SIDE_ITEM
    assert where["item"][links.index(C.SIDE_ITEM)]["answer"] == [{"valueCoding": C.LATERALITY[side]}]
    got = read_response(qr, default_compiled())
    assert got.side == side and got.answers["pain_both_legs"] == ("present" if side == "both" else "absent")


def test_no_side_no_body_site(fc: TestClient, stored: dict[str, Any]) -> None:
    b = _get(fc, f"/fhir/Bundle/{stored['id']}", stored["key_a"], 200)
    assert stored["record"]["state"]["side"] is None
    assert not any("bodySite" in e["resource"] for e in b["entry"])
    assert C.SIDE_ITEM not in str(b["entry"][0]["resource"])
