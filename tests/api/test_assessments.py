"""Stored interviews through the REST API, on SQLite and PostgreSQL: create, answer, change, withdraw, finish,
follow up, and who may create what."""

from __future__ import annotations

from painpath.engine import ENGINE_VERSION, default_compiled
from tests.conftest import login

PROBLEM = "application/problem+json"


def _create(client, headers=None, **body):  # type: ignore[no-untyped-def]
    body = {"age": 47, "sex": "female", **body}
    r = client.post("/v1/assessments", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    data = r.json()
    return data, data["assessment"]["id"], {"Authorization": f"Bearer {data['patient_token']}"}


def _answers(rec: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {a["finding"]: a["value"] for a in rec["state"]["answers"]}


def _problem(r, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert body["detail"].startswith(f"{field}:"), body
    return body


def test_create_returns_token_share_code_and_first_question(client):
    data, aid, h = _create(client)
    rec = data["assessment"]
    assert data["patient_token"].startswith("ppp_")
    code = data["share_code"]
    assert len(code.replace("-", "")) == 12 and code == code.upper()
    assert data["share_url"].endswith(f"/share/{code}")
    assert rec["status"] == "in_progress" and rec["revision"] == 0 and rec["mode"] == "self"
    assert rec["shared_with_clinic"] is False and rec["patient_ref"] is None
    assert rec["state"]["age"] == 47 and rec["state"]["sex"] == "female" and rec["state"]["answers"] == []
    first = rec["next"]["question"]
    assert first["screen"] in default_compiled().kb.interview.screens
    assert first["items"] and all(i["finding"] in default_compiled().fidx for i in first["items"])
    assert rec["next"]["should_stop"] is False
    assert rec["result"] is None and rec["plan"] is None
    # the token reads its own assessment, and nothing is readable without it
    r = client.get(f"/v1/assessments/{aid}", headers=h)
    assert r.status_code == 200 and r.json()["id"] == aid
    _problem(client.get(f"/v1/assessments/{aid}"), 401)


def test_answer_change_withdraw_and_revision_conflict(client):
    _, aid, h = _create(client)
    url = f"/v1/assessments/{aid}"
    r = client.put(f"{url}/answers", headers=h, json={"answers": {"low_back_pain": "present", "calf_pain": "present"},
                                                      "screen": "where", "revision": 0})
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["revision"] == 1 and _answers(rec) == {"low_back_pain": "present", "calf_pain": "present"}
    assert rec["state"]["screens_asked"] == ["where"]
    # a changed answer replaces the old one (one entry per finding) and the revision moves on
    r = client.put(f"{url}/answers", headers=h, json={"answers": {"low_back_pain": "absent"}, "revision": 1})
    rec = r.json()
    assert r.status_code == 200 and rec["revision"] == 2
    assert [a["finding"] for a in rec["state"]["answers"]].count("low_back_pain") == 1
    assert _answers(rec) == {"low_back_pain": "absent", "calf_pain": "present"}
    # a stale revision is refused with a problem naming the field, and nothing changes
    body = _problem(client.put(f"{url}/answers", headers=h, json={"answers": {"fever_unwell": "present"},
                                                                  "revision": 1}), 409, "revision")
    assert "revision 2" in body["detail"]
    _problem(client.post(f"{url}/withdraw", headers=h, json={"findings": ["calf_pain"], "revision": 0}), 409, "revision")
    assert client.get(url, headers=h).json()["revision"] == 2
    assert "fever_unwell" not in _answers(client.get(url, headers=h).json())
    # withdraw by finding
    r = client.post(f"{url}/withdraw", headers=h, json={"findings": ["low_back_pain"], "revision": 2})
    assert r.status_code == 200 and r.json()["revision"] == 3
    assert _answers(r.json()) == {"calf_pain": "present"}
    # withdraw a whole screen: its answers and the screen go, answers of other screens stay
    client.put(f"{url}/answers", headers=h, json={"answers": {"fever_unwell": "absent"},
                                                  "screen": "warning_infection_clot"})
    r = client.post(f"{url}/withdraw", headers=h, json={"screen": "where"})
    rec = r.json()
    assert r.status_code == 200 and rec["revision"] == 5
    assert _answers(rec) == {"fever_unwell": "absent"}
    assert rec["state"]["screens_asked"] == ["warning_infection_clot"]
    # the stored state is what the next read returns
    assert client.get(url, headers=h).json()["state"] == rec["state"]
    # a body map saying there is no pain anywhere is refused, and the stored answers stay as they were
    where = default_compiled().kb.interview.screens["where"].findings
    _problem(client.put(f"{url}/answers", headers=h, json={"answers": dict.fromkeys(where, "absent"), "screen": "where"}),
             422, "answers")
    assert client.get(url, headers=h).json()["state"] == rec["state"]


def test_finish_stores_result_once_and_is_read_only(client):
    _, aid, h = _create(client, age=38, sex="male")
    url = f"/v1/assessments/{aid}"
    client.put(f"{url}/answers", headers=h, json={"answers": {
        "low_back_pain": "present", "pain_below_knee": "present", "pain_follows_band": "present",
        "bladder_problem_new": "absent", "saddle_numbness": "absent"}})
    r = client.post(f"{url}/finish", headers=h)
    assert r.status_code == 200, r.text
    fin = r.json()
    ckb = default_compiled()
    assert fin["status"] == "finished" and fin["finished_at"] and fin["next"] is None
    assert fin["engine_version"] == ENGINE_VERSION and fin["kb_version"] == ckb.kb.version
    assert fin["result"]["engine_version"] == ENGINE_VERSION and fin["result"]["kb_version"] == ckb.kb.version
    conds = fin["result"]["conditions"]
    other = fin["result"]["other"]["probability"]  # a cause outside the listed conditions
    assert len(conds) == len(ckb.conditions) and abs(sum(c["probability"] for c in conds) + other - 1) < 1e-6
    assert fin["triage_level"] == fin["result"]["triage"]["level"] == fin["plan"]["level"]
    assert fin["plan"]["headline"] and fin["plan"]["safety_net"]
    # finishing again returns the stored result unchanged
    again = client.post(f"{url}/finish", headers=h)
    assert again.status_code == 200 and again.json() == fin
    # reading back gives exactly the finish response
    assert client.get(url, headers=h).json() == fin
    # a finished assessment is read-only
    _problem(client.put(f"{url}/answers", headers=h, json={"answers": {"calf_pain": "present"}}), 409, "status")
    _problem(client.post(f"{url}/withdraw", headers=h, json={"findings": ["low_back_pain"]}), 409, "status")
    _problem(client.put(f"{url}/outcome", headers=h, json={"pain": 3}), 409, "status")
    assert client.get(url, headers=h).json() == fin


def test_warning_answer_gives_emergency_and_stops(client):
    _, aid, h = _create(client, age=44, sex="male")
    url = f"/v1/assessments/{aid}"
    r = client.put(f"{url}/answers", headers=h, json={"answers": {"low_back_pain": "present", "pain_below_knee": "present"}})
    assert r.json()["next"]["should_stop"] is False and r.json()["next"]["level"] != "emergency"
    r = client.put(f"{url}/answers", headers=h, json={"answers": {"bladder_problem_new": "present"},
                                                      "screen": "warning_spinal"})
    nxt = r.json()["next"]
    assert r.status_code == 200
    assert nxt["should_stop"] is True and nxt["stop_reason"] == "emergency" and nxt["level"] == "emergency"
    assert nxt["question"] is None
    fin = client.post(f"{url}/finish", headers=h).json()
    assert fin["triage_level"] == "emergency" and fin["plan"]["level"] == "emergency"
    reasons = fin["result"]["triage"]["reasons"]
    assert any(x["level"] == "emergency" and "cauda equina" in x["text"] for x in reasons)


def test_followup_links_to_root_and_compares_outcomes(client):
    _, root, h = _create(client, age=52, sex="female")
    answers = {"low_back_pain": "present", "pain_below_knee": "present", "bladder_problem_new": "absent",
               "saddle_numbness": "absent", "fever_unwell": "absent"}
    client.put(f"/v1/assessments/{root}/answers", headers=h, json={"answers": answers})
    # a follow-up of an unfinished assessment is refused
    _problem(client.post(f"/v1/assessments/{root}/followups", headers=h), 409, "status")
    r = client.put(f"/v1/assessments/{root}/outcome", headers=h,
                   json={"pain": 3, "psfs": [{"activity": "walking", "score": 8}, {"activity": "sitting", "score": 7}]})
    assert r.status_code == 200 and r.json()["outcome"]["pain"] == 3 and r.json()["revision"] == 2
    first = client.post(f"/v1/assessments/{root}/finish", headers=h).json()
    assert first["followup"] is None  # nothing to compare with yet

    r = client.post(f"/v1/assessments/{root}/followups", headers=h)
    assert r.status_code == 201, r.text
    fu = r.json()
    fid, fh = fu["assessment"]["id"], {"Authorization": f"Bearer {fu['patient_token']}"}
    assert fid != root and fu["assessment"]["followup_of"] == root and fu["assessment"]["status"] == "in_progress"
    assert fu["patient_token"] != h["Authorization"].split()[1] and fu["share_code"]
    assert fu["assessment"]["state"]["age"] == 52 and fu["assessment"]["state"]["answers"] == []
    client.put(f"/v1/assessments/{fid}/answers", headers=fh, json={"answers": answers})
    client.put(f"/v1/assessments/{fid}/outcome", headers=fh,
               json={"pain": 8, "psfs": [{"activity": "walking", "score": 3}, {"activity": "sitting", "score": 2}]})
    fin = client.post(f"/v1/assessments/{fid}/finish", headers=fh).json()
    cmp = fin["followup"]
    assert cmp is not None and cmp["pain_change"] == 5 and cmp["trend"] == "worse" and cmp["pain_trend"] == "worse"
    assert cmp["psfs_trend"] == "worse"
    assert fin["triage_level"] in ("soon", "urgent", "emergency")

    # a follow-up of a follow-up still links to the first assessment
    r = client.post(f"/v1/assessments/{fid}/followups", headers=fh)
    assert r.status_code == 201 and r.json()["assessment"]["followup_of"] == root
    second = r.json()["assessment"]["id"]
    # the chain, oldest first, from either end
    for aid, hh in ((root, h), (fid, fh)):
        r = client.get(f"/v1/assessments/{aid}/followups", headers=hh)
        assert r.status_code == 200
        assert [x["id"] for x in r.json()] == [fid, second]
        assert all(x["followup_of"] == root for x in r.json())


def test_clinician_mode_needs_a_clinic_token(client, make_clinic):
    clinic = make_clinic(("clinician",))
    ch = login(client, clinic["clinician_email"])
    body = _problem(client.post("/v1/assessments", json={"age": 60, "sex": "male", "mode": "clinician"}), 403, "mode")
    assert body["errors"][0]["field"] == "mode"
    _, _, ph = _create(client)
    _problem(client.post("/v1/assessments", headers=ph, json={"age": 60, "sex": "male", "mode": "clinician"}), 403, "mode")
    data, aid, _ = _create(client, headers=ch, mode="clinician", age=60, sex="male")
    rec = data["assessment"]
    assert rec["mode"] == "clinician" and rec["setting"] == "clinic" and rec["shared_with_clinic"] is True
    # clinician mode takes examination findings, self mode refuses them
    r = client.put(f"/v1/assessments/{aid}/answers", headers=ch, json={"answers": {"slr_positive": "present"}})
    assert r.status_code == 200 and _answers(r.json()) == {"slr_positive": "present"}
    _, sid, sh = _create(client)
    _problem(client.put(f"/v1/assessments/{sid}/answers", headers=sh, json={"answers": {"slr_positive": "present"}}),
             422, "answers.slr_positive")


def test_patient_ref_only_for_clinics(client, make_clinic):
    clinic = make_clinic(("clinician",))
    ch = login(client, clinic["clinician_email"])
    _problem(client.post("/v1/assessments", json={"age": 30, "sex": "female", "patient_ref": "MRN-1"}), 403, "patient_ref")
    _problem(client.post("/v1/assessments", json={"age": 30, "sex": "female", "patient_ref": "MRN-1",
                                                  "intake_code": clinic["intake_code"]}), 403, "patient_ref")
    data, aid, _ = _create(client, headers=ch, patient_ref="MRN-1")
    assert data["assessment"]["patient_ref"] == "MRN-1"
    assert client.get(f"/v1/assessments/{aid}", headers=ch).json()["patient_ref"] == "MRN-1"


def test_intake_code_links_to_clinic_without_claim(client, make_clinic):
    clinic = make_clinic(("clinician",))
    ch = login(client, clinic["clinician_email"])
    code = str(clinic["intake_code"])
    spaced = f"{code[:4]}-{code[4:]}".lower()  # the code is accepted however it is typed
    data, aid, h = _create(client, intake_code=spaced)
    assert data["assessment"]["shared_with_clinic"] is True
    ids = [x["id"] for x in client.get("/v1/clinic/assessments", headers=ch).json()["items"]]
    assert aid in ids
    assert client.get(f"/v1/assessments/{aid}", headers=ch).status_code == 200
    # the patient keeps access too
    client.put(f"/v1/assessments/{aid}/answers", headers=h, json={"answers": {"low_back_pain": "present"}})
    assert _answers(client.get(f"/v1/assessments/{aid}", headers=ch).json()) == {"low_back_pain": "present"}
    # an anonymous assessment does not reach the clinic
    _, other, _ = _create(client)
    assert other not in [x["id"] for x in client.get("/v1/clinic/assessments", headers=ch).json()["items"]]


def test_unknown_intake_code_is_404(client):
    body = _problem(client.post("/v1/assessments", json={"age": 30, "sex": "male", "intake_code": "ZZZZ-ZZZZ"}),
                    404, "intake_code")
    assert body["errors"][0]["field"] == "intake_code"


def test_claim_by_share_code(client, make_clinic):
    a = make_clinic(("clinician",))
    ah = login(client, a["clinician_email"])
    data, aid, h = _create(client)
    _problem(client.post("/v1/clinic/claim", headers=h, json={"share_code": data["share_code"]}), 403)
    _problem(client.post("/v1/clinic/claim", headers=ah, json={"share_code": "ABCD-EFGH-JKMN"}), 404, "share_code")
    r = client.post("/v1/clinic/claim", headers=ah, json={"share_code": data["share_code"].replace("-", " ")})
    assert r.status_code == 200 and r.json()["id"] == aid and r.json()["shared_with_clinic"] is True
    # claiming again by the same clinic is harmless
    assert client.post("/v1/clinic/claim", headers=ah, json={"share_code": data["share_code"]}).status_code == 200
    assert client.get(f"/v1/assessments/{aid}", headers=h).json()["shared_with_clinic"] is True
