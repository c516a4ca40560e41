"""A full stored-assessment round trip on both databases."""

from tests.conftest import login


def test_patient_round_trip_and_clinic_claim(client, make_clinic):
    r = client.post("/v1/assessments", json={"age": 52, "sex": "female"})
    assert r.status_code == 201
    body = r.json()
    aid, h = body["assessment"]["id"], {"Authorization": f"Bearer {body['patient_token']}"}
    assert body["assessment"]["next"]["question"]["screen"]
    r = client.put(f"/v1/assessments/{aid}/answers", headers=h,
                   json={"answers": {"low_back_pain": "present", "pain_below_knee": "present"}})
    assert r.status_code == 200 and r.json()["revision"] == 1
    r = client.post(f"/v1/assessments/{aid}/finish", headers=h)
    assert r.status_code == 200
    fin = r.json()
    assert fin["status"] == "finished" and fin["result"]["conditions"] and fin["plan"]["level"] == fin["triage_level"]
    clinic = make_clinic()
    ch = login(client, clinic["clinician_email"])
    assert client.get(f"/v1/assessments/{aid}", headers=ch).status_code == 404
    r = client.post("/v1/clinic/claim", headers=ch, json={"share_code": body["share_code"].lower()})
    assert r.status_code == 200
    r = client.get(f"/v1/assessments/{aid}", headers=ch)
    assert r.status_code == 200 and r.json()["result"] == fin["result"]
