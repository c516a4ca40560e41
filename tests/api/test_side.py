"""Which leg (``side``: left, right or both) through the REST API: the stored and the engine interview take it,
keep it in the state, answer ``pain_both_legs`` with it, and refuse a bad or contradicting side naming the field."""

from __future__ import annotations

from typing import Any

from tests.api.test_assessments import _answers, _create, _problem

BODY = {"low_back_pain": "present", "posterior_thigh_pain": "present", "pain_below_knee": "absent",
        "bladder_problem_new": "absent", "saddle_numbness": "absent"}


def _result(rec: dict[str, Any]) -> tuple[Any, ...]:
    r = rec["result"]
    return rec["triage_level"], [(c["key"], c["probability"]) for c in r["conditions"]], r["other"]["probability"]


def test_a_stored_interview_keeps_the_side_and_the_result_is_that_of_the_finding(client: Any) -> None:
    _, aid, h = _create(client, age=52, sex="male")
    url = f"/v1/assessments/{aid}"
    r = client.put(f"{url}/answers", headers=h, json={"answers": BODY, "side": "left", "screen": "where"})
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["state"]["side"] == "left" and _answers(rec)["pain_both_legs"] == "absent"
    assert client.get(url, headers=h).json()["state"]["side"] == "left"  # stored and read back
    fin = client.post(f"{url}/finish", headers=h).json()
    # the same answers with pain_both_legs and no side give the same result
    _, other, h2 = _create(client, age=52, sex="male")
    client.put(f"/v1/assessments/{other}/answers", headers=h2,
               json={"answers": {**BODY, "pain_both_legs": "absent"}, "screen": "where"})
    plain = client.post(f"/v1/assessments/{other}/finish", headers=h2).json()
    assert plain["state"]["side"] is None
    assert _result(fin) == _result(plain)
    # amending the side to the other leg (with an answer as given) changes no answer and no result
    r = client.post(f"{url}/amend", headers=h, json={"answers": {"low_back_pain": "present"}, "side": "right"})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["side"] == "right" and _answers(r.json())["pain_both_legs"] == "absent"
    assert _result(r.json()) == _result(fin)
    # an answer of pain_both_legs without a side: present makes it both, unknown clears it
    r = client.post(f"{url}/amend", headers=h, json={"answers": {"pain_both_legs": "present"}})
    assert r.json()["state"]["side"] == "both"
    r = client.post(f"{url}/amend", headers=h, json={"answers": {"pain_both_legs": "unknown"}})
    assert r.json()["state"]["side"] is None


def test_a_bad_or_contradicting_side_is_a_422_naming_it(client: Any) -> None:
    _, aid, h = _create(client)
    url = f"/v1/assessments/{aid}"
    body = _problem(client.put(f"{url}/answers", headers=h, json={"answers": BODY, "side": "middle"}), 422)
    assert "body.side" in body["detail"]
    body = _problem(client.put(f"{url}/answers", headers=h, json={"answers": {**BODY, "pain_both_legs": "present"},
                                                                  "side": "left"}), 422, "side")
    assert "pain_both_legs" in body["detail"]
    assert client.get(url, headers=h).json()["state"]["answers"] == []  # nothing stored
    client.put(f"{url}/answers", headers=h, json={"answers": BODY})
    client.post(f"{url}/finish", headers=h)
    body = _problem(client.post(f"{url}/amend", headers=h, json={"answers": {"calf_pain": "absent"}, "side": "up"}), 422)
    assert "body.side" in body["detail"]


def test_the_engine_interview_takes_the_side(client: Any) -> None:
    state = client.post("/v1/interview/start", json={"age": 38, "sex": "female"}).json()["state"]
    assert state["side"] is None
    r = client.post("/v1/interview/answer", json={"state": state, "answers": BODY, "screen": "where", "side": "both"})
    assert r.status_code == 200, r.text
    st = r.json()["state"]
    assert st["side"] == "both" and _answers({"state": st})["pain_both_legs"] == "present"
    # a state from before the side was kept (no "side" key) is still taken
    old = {k: v for k, v in st.items() if k != "side"}
    r = client.post("/v1/interview/next", json={"state": old})
    assert r.status_code == 200, r.text
    r = client.post("/v1/interview/answer", json={"state": state, "answers": BODY, "side": "sideways"})
    assert r.status_code == 422 and "body.side" in r.json()["detail"]
    # a state whose side contradicts its own answer is refused, naming the side
    r = client.post("/v1/interview/next", json={"state": {**st, "side": "left"}})
    assert r.status_code == 422 and "side" in r.json()["detail"] and "pain_both_legs" in r.json()["detail"]
