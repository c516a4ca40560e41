"""Which leg in FHIR: the Questionnaire's optional ``painpath-side`` item (SNOMED CT laterality), read by
``$next-question``, ``$assess`` and CDS Hooks, written in a stored assessment's QuestionnaireResponse, and the
``bodySite`` of the leg findings' Observations. Every resource the app answers with is checked against the
official definitions (tests/fhir/conftest.py)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from painpath.engine import default_compiled
from painpath.fhir import codes as C
from painpath.fhir.questionnaire import read_response
from tests.fhir.conftest import FHIR_JSON, Keys, answer_value, completed_response

CKB = default_compiled()
ASSESS = "/fhir/QuestionnaireResponse/$assess"
NEXT = "/fhir/Questionnaire/$next-question"
PV = "painpath-patient-view"
LEGS = {"low_back_pain": "present", "buttock_pain": "present", "posterior_thigh_pain": "present",
        "calf_pain": "present", "pain_below_knee": "present", "leg_pain_worse_than_back": "present",
        "pain_shooting_electric": "present", "saddle_numbness": "absent", "bladder_problem_new": "absent"}


def with_side(qr: dict[str, Any], coding: dict[str, Any]) -> dict[str, Any]:
    """The response with which leg answered, right after pain_both_legs (at the end of its group without it)."""
    qr = copy.deepcopy(qr)
    where = next(g for g in qr["item"] if g["linkId"] == "where")
    links = [i["linkId"] for i in where["item"]]
    at = links.index("pain_both_legs") + 1 if "pain_both_legs" in links else len(links)
    where["item"].insert(at, {"linkId": C.SIDE_ITEM, "answer": [{"valueCoding": coding}]})
    return qr


def _assess(fc: TestClient, qr: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = fc.post(ASSESS, json=qr, headers=FHIR_JSON)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def _observations(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Observation"}


@pytest.mark.parametrize("side", ["left", "right", "both"])
def test_assess_reads_the_side_into_the_body_site(fc: TestClient, side: str) -> None:
    qr = with_side(completed_response(41, "female", LEGS), C.LATERALITY[side])
    bundle = _assess(fc, qr)
    obs = _observations(bundle)
    for leg in ("buttock_pain", "posterior_thigh_pain", "calf_pain"):
        assert obs[leg]["bodySite"] == {"coding": [C.LATERALITY[side]], "text": C.LATERALITY_TEXT[side]}, leg
    assert "bodySite" not in obs["low_back_pain"] and "bodySite" not in obs["pain_shooting_electric"]
    # the side answers pain_both_legs (left or right: No, both: Yes), as in the interview
    assert ("pain_both_legs" in obs) is (side == "both")
    sent = bundle["entry"][0]["resource"]
    assert read_response(sent, CKB).side == side  # the response in the Bundle keeps the answer


def test_the_side_changes_no_result(fc: TestClient) -> None:
    def result(side: str) -> list[Any]:
        bundle = _assess(fc, with_side(completed_response(41, "female", LEGS), C.LATERALITY[side]))
        ra = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
        return [(p["outcome"]["text"], p["probabilityDecimal"]) for p in ra["prediction"]]

    assert result("left") == result("right")
    with_no = _assess(fc, completed_response(41, "female", LEGS | {"pain_both_legs": "absent"}))
    ra = next(e["resource"] for e in with_no["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    assert [(p["outcome"]["text"], p["probabilityDecimal"]) for p in ra["prediction"]] == result("left")
    assert not any("bodySite" in o for o in _observations(with_no).values())  # one leg, which one not said


def test_symptoms_in_both_legs_without_the_side_item_are_both_legs(fc: TestClient) -> None:
    obs = _observations(_assess(fc, completed_response(41, "female", LEGS | {"pain_both_legs": "present"})))
    assert obs["calf_pain"]["bodySite"]["coding"] == [C.LATERALITY["both"]]


def test_a_side_that_does_not_fit_the_answer_is_refused(fc: TestClient) -> None:
    qr = with_side(completed_response(41, "female", LEGS | {"pain_both_legs": "absent"}), C.LATERALITY["both"])
    issue = _assess(fc, qr, 422)["issue"][0]
    assert issue["code"] == "business-rule" and "does not fit the answer No to pain_both_legs" in issue["diagnostics"]
    where = next(i for i, g in enumerate(qr["item"]) if g["linkId"] == "where")
    at = next(i for i, it in enumerate(qr["item"][where]["item"]) if it["linkId"] == C.SIDE_ITEM)
    assert issue["expression"] == [f"QuestionnaireResponse.item[{where}].item[{at}]"]
    # Don't know to pain_both_legs does not fit a side either; Yes fits both
    qr = with_side(completed_response(41, "female", LEGS | {"pain_both_legs": "unknown"}), C.LATERALITY["left"])
    assert _assess(fc, qr, 422)["issue"][0]["code"] == "business-rule"
    qr = with_side(completed_response(41, "female", LEGS | {"pain_both_legs": "present"}), C.LATERALITY["both"])
    assert _observations(_assess(fc, qr))["calf_pain"]["bodySite"]["coding"] == [C.LATERALITY["both"]]


def test_a_side_not_coded_as_a_laterality_is_refused(fc: TestClient) -> None:
    for coding in ({"system": C.SNOMED, "code": "12345"}, {"system": "http://example.org", "code": "7771000"},
                   dict(C.NO)):
        qr = with_side(completed_response(41, "female", LEGS), coding)
        issue = _assess(fc, qr, 422)["issue"][0]
        assert issue["code"] == "code-invalid" and issue["expression"][0].endswith(".answer[0].valueCoding")
        assert "7771000" in issue["diagnostics"]
    qr = with_side(with_side(completed_response(41, "female", LEGS), C.LATERALITY["left"]), C.LATERALITY["left"])
    assert _assess(fc, qr, 422)["issue"][0]["code"] == "duplicate"


def _contained(qr: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in qr["contained"] if c["id"] == qr["questionnaire"][1:])


def _post(fc: TestClient, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = fc.post(NEXT, json=body, headers=FHIR_JSON)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def _to_the_body_map(fc: TestClient) -> dict[str, Any]:
    qr = _post(fc, {"resourceType": "QuestionnaireResponse", "status": "in-progress"})
    qr["item"] = [{"linkId": C.ABOUT_YOU, "item": [
        {"linkId": "age", "answer": [{"valueInteger": 41}]},
        {"linkId": "sex", "answer": [{"valueCoding": dict(C.FEMALE)}]}]}]
    return _post(fc, qr)


def test_next_question_asks_which_leg_after_both_legs(fc: TestClient) -> None:
    qr = _to_the_body_map(fc)
    group = _contained(qr)["item"][-1]
    links = [i["linkId"] for i in group["item"]]
    assert "pain_both_legs" in links and links[links.index("pain_both_legs") + 1] == C.SIDE_ITEM
    side = group["item"][links.index(C.SIDE_ITEM)]
    assert side["required"] is False and [o["valueCoding"] for o in side["answerOption"]] == list(C.LATERALITY.values())
    # answered right with pain_both_legs left empty: the side answers it (No), and the interview goes on
    items = [{"linkId": k, "answer": [answer_value(LEGS[k])]} for k in links if k in LEGS]
    items.append({"linkId": C.SIDE_ITEM, "answer": [{"valueCoding": C.LATERALITY["right"]}]})
    qr["item"].append({"linkId": group["linkId"], "item": items})
    after = _post(fc, qr)
    assert after["status"] == "in-progress" and _contained(after)["item"][-1]["linkId"] != group["linkId"]
    assert read_response(after, CKB).answers["pain_both_legs"] == "absent"
    # which leg in a group that did not ask pain_both_legs is refused, naming the item
    bad = copy.deepcopy(qr)
    bad["item"][-1]["item"] = [i for i in items if i["linkId"] != "pain_both_legs"]
    _contained(bad)["item"][-1]["item"] = [i for i in group["item"] if i["linkId"] != "pain_both_legs"]
    issue = _post(fc, bad, 422)["issue"][0]
    assert "which leg" in issue["diagnostics"] and "was not asked" in issue["diagnostics"]


def _card(fc: TestClient, keys: Keys, prefetch: dict[str, Any]) -> dict[str, Any]:
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "55"}, "prefetch": prefetch}
    r = fc.post(f"/cds-services/{PV}", json=body, headers={"Authorization": f"Bearer {keys.token(PV)}"})
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    return card  # type: ignore[no-any-return]


def test_the_card_says_which_leg(fc: TestClient, keys: Keys) -> None:
    qr = with_side(completed_response(41, "female", LEGS, subject={"reference": "Patient/55"}), C.LATERALITY["left"])
    assert "\nLeg: Left leg\n" in _card(fc, keys, {"painpathResponse": qr})["detail"]
    no_side = completed_response(41, "female", LEGS, subject={"reference": "Patient/55"})
    assert "Leg:" not in _card(fc, keys, {"painpathResponse": no_side})["detail"]
    # from finding Observations, by their bodySite (as PainPath's own Bundle writes it)
    bundle = _assess(fc, with_side(completed_response(41, "female", LEGS), C.LATERALITY["right"]))
    obs = [{**o, "subject": {"reference": "Patient/55"}} for o in _observations(bundle).values()
           if o["code"]["coding"][0]["system"] == C.FINDING_SYSTEM]
    prefetch = {"painpathResponse": {"resourceType": "Bundle", "type": "searchset",
                                     "entry": [{"resource": o} for o in obs]},
                "patient": {"resourceType": "Patient", "id": "55", "gender": "female", "birthDate": "1985-03-02"}}
    assert "\nLeg: Right leg\n" in _card(fc, keys, prefetch)["detail"]
