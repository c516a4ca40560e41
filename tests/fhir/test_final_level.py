"""One final level everywhere: REST ``/v1/assess``, FHIR ``$assess`` and the CDS Hooks card report the level of
``painpath.services.conclude_case`` (the care plan's: the engine's triage level raised to the lowest level of
the condition the plan is for), as a stored assessment does; the engine's own triage level stays where it is
named as such (``assessment.triage.level``).

The case is found, not written down: the first answers (one place that hurts, everything else unknown)
whose lead condition's lowest level is above the engine's triage level. The adaptive interview's stop (FHIR
``$next-question``'s ``triage-level``, REST ``/v1/interview`` ``level``) reports that same final level."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

import pytest
from fastapi.testclient import TestClient

from painpath.careplan import load_care_content, plan_lead
from painpath.cases import Case
from painpath.engine import default_compiled
from painpath.fhir import codes as C
from painpath.fhir.cds import INDICATOR
from painpath.fhir.operations import assess_response, location_findings, next_question
from painpath.interview import InterviewState, answer, next_step, start
from painpath.services import Conclusion, conclude_case
from tests.fhir.conftest import FHIR_JSON, Keys, about_you, answer_value, completed_response

CKB = default_compiled()
ASSESS = "/fhir/QuestionnaireResponse/$assess"
PV = "painpath-patient-view"


@cache
def raised_case() -> tuple[Case, Conclusion]:
    """Answers where the final level is above the engine's triage level (the lead condition's lowest level)."""
    for key in location_findings(CKB):
        for sex in ("female", "male"):
            for age in (30, 50, 70):
                case = Case(id="raised", age=age, sex=sex, findings={key: True}, unlisted="unknown")
                done = conclude_case(case, ckb=CKB)
                if done.levels.triage != done.levels.final:
                    return case, done
    pytest.fail("no answers with one place that hurts give a level raised above the triage level")


def _answers(case: Case) -> dict[str, str]:
    """The case as a QuestionnaireResponse answers it: its findings only (what the response does not ask is
    unknown, as in the case)."""
    return {k: "unknown" if v is None else "present" if v else "absent" for k, v in case.findings.items()}


def test_the_case_is_raised_by_its_condition() -> None:
    _, done = raised_case()
    assert done.levels.raised_by == ("condition",)
    assert done.level == done.plan.level == done.levels.condition != done.assessment.triage.level


def test_rest_assess_reports_the_final_level(fc: TestClient) -> None:
    case, done = raised_case()
    body = {"age": case.age, "sex": case.sex, "findings": dict(case.findings), "unlisted": "unknown"}
    r = fc.post("/v1/assess", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["triage_level"] == out["plan"]["level"] == done.level
    assert out["assessment"]["triage"]["level"] == done.levels.triage  # the engine's, named as such
    assert out["raised_by"] == ["condition"]
    # without a plan the level is the same
    out = fc.post("/v1/assess", json=body | {"include_plan": False}).json()
    assert out["plan"] is None and out["triage_level"] == done.level and out["raised_by"] == ["condition"]


def test_rest_assess_not_raised_reports_the_triage_level(fc: TestClient) -> None:
    body = {"age": 40, "sex": "male", "findings": {"low_back_pain": True, "calf_pain": True,
                                                   "pain_shooting_electric": True}}
    out = fc.post("/v1/assess", json=body).json()
    assert out["triage_level"] == out["assessment"]["triage"]["level"] == out["plan"]["level"]
    assert out["raised_by"] == []


def test_fhir_assess_reports_the_final_level(fc: TestClient) -> None:
    case, done = raised_case()
    r = fc.post(ASSESS, json=completed_response(case.age, case.sex, _answers(case)), headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    resources = [e["resource"] for e in r.json()["entry"]]
    tri = next(x for x in resources if x["resourceType"] == "Observation"
               and x["code"]["coding"][0]["code"] == "triage-disposition")
    assert tri["valueCodeableConcept"]["coding"][0] == {"system": C.TRIAGE_SYSTEM, "code": done.level,
                                                        "display": C.LEVEL_DISPLAY[done.level]}
    advice = CKB.kb.triage.level_text[done.level]
    assert tri["valueCodeableConcept"]["text"] == advice
    notes = [n["text"] for n in tri["note"]]
    assert [n for n in notes if n.startswith("level raised")] == [n for n in done.plan.notes
                                                                   if n.startswith("level raised")]
    assert any(f"from {done.levels.triage} to {done.level}" in n for n in notes)
    ra = next(x for x in resources if x["resourceType"] == "RiskAssessment")
    assert ra["mitigation"] == advice != done.assessment.triage.advice


def test_cds_card_reports_the_final_level(fc: TestClient, keys: Keys) -> None:
    case, done = raised_case()
    qr = completed_response(case.age, case.sex, _answers(case), subject={"reference": "Patient/77"})
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "77"}, "prefetch": {"painpathResponse": qr}}
    r = fc.post(f"/cds-services/{PV}", json=body, headers={"Authorization": f"Bearer {keys.token(PV)}"})
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    assert card["indicator"] == INDICATOR[done.level]
    assert card["summary"].startswith(f"PainPath: {C.LEVEL_SHORT[done.level]}.")
    detail: str = card["detail"]
    assert detail.startswith(f"**{C.LEVEL_DISPLAY[done.level]}**: {CKB.kb.triage.level_text[done.level]}")
    (raised,) = [line for line in detail.splitlines() if line.startswith("- The level was raised: ")]
    # the levels and the condition named for a clinician, not as keys
    key, _ = plan_lead(done.assessment.ranking())
    assert raised == (f"- The level was raised: level raised from {C.LEVEL_SHORT[done.levels.triage]} to "
                      f"{C.LEVEL_SHORT[done.level]}, the lowest level for {load_care_content().conditions[key].name}")


def test_the_card_of_an_unraised_assessment_says_nothing_was_raised() -> None:
    from painpath import assess
    from painpath.fhir.cds import assessment_card

    result = assess({"age": 40, "sex": "male", "findings": {"low_back_pain": True, "calf_pain": True}})
    card = assessment_card(result)
    assert "raised" not in card["detail"] and card["indicator"] == INDICATOR[result.triage.level]



def _only(case: Case, keys: list[str]) -> dict[str, str]:
    """An interview's answers for ``case``: its findings as given, every other question asked "Don't know"."""
    return {k: _answers(case).get(k, "unknown") for k in keys}


def test_next_question_stops_at_the_final_level() -> None:
    """The adaptive interview of the raised case, every question but the place that hurts answered "Don't know":
    the stopped response's triage-level is the final level, the one $assess reports for it, not the engine's.

    The operations are called directly: this interview asks every screen it may (it stops at the cap), and the
    whole response, sent again with each call, grows past the server's default 64 KiB body limit."""
    case, done = raised_case()
    qr: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    for _ in range(60):
        qr = next_question(qr, CKB)
        if qr["status"] == "completed":
            break
        group = next(c for c in qr["contained"] if c["resourceType"] == "Questionnaire")["item"][-1]
        if group["linkId"] == C.ABOUT_YOU:
            qr.setdefault("item", []).append(about_you(case.age, case.sex))
            continue
        keys = [it["linkId"] for it in group["item"] if it["linkId"] != C.SIDE_ITEM]
        qr.setdefault("item", []).append({"linkId": group["linkId"], "item": [
            {"linkId": k, "answer": [answer_value(v)]} for k, v in _only(case, keys).items()]})
    else:
        pytest.fail("the interview did not stop")
    state = _state_of(qr, case)
    assert next_step(state, CKB).level == done.levels.triage != done.level  # the engine alone would say less
    (level,) = [e["valueCoding"] for e in qr["extension"] if e["url"] == C.EXT_LEVEL]
    assert level == {"system": C.TRIAGE_SYSTEM, "code": done.level, "display": C.LEVEL_DISPLAY[done.level]}
    bundle, _ = assess_response(qr, CKB)
    tri = next(x["resource"] for x in bundle["entry"] if x["resource"]["resourceType"] == "Observation"
               and x["resource"]["code"]["coding"][0]["code"] == "triage-disposition")
    assert tri["valueCodeableConcept"]["coding"][0] == level


def _state_of(qr: dict[str, Any], case: Case) -> InterviewState:
    """The interview state of a completed adaptive response (its groups are the screens, in order)."""
    state = start(case.age, case.sex)
    for group in qr["item"][1:]:
        values = {it["linkId"]: read_value(it) for it in group["item"]}
        state = answer(state, values, CKB, screen=group["linkId"].split(".")[0])
    return state


def read_value(item: dict[str, Any]) -> str:
    coding = item["answer"][0]["valueCoding"]
    return C.VALUE_OF[(coding["system"], coding["code"])]


def test_rest_interview_reports_the_final_level_at_every_step_and_at_the_stop(fc: TestClient) -> None:
    """REST ``/v1/interview``: ``level`` is the final level on the answers so far, what ``/v1/assess`` reports for
    them; at the stop it is the raised level, not the engine's triage level."""
    case, done = raised_case()
    out = fc.post("/v1/interview/start", json={"age": case.age, "sex": case.sex}).json()
    for _ in range(60):
        state, step = out["state"], out["next"]
        findings = {a["finding"]: None if a["value"] == "unknown" else a["value"] == "present"
                    for a in state["answers"]}
        assessed = fc.post("/v1/assess", json={"age": case.age, "sex": case.sex, "findings": findings,
                                               "include_plan": False}).json()
        assert step["level"] == assessed["triage_level"], state["screens_asked"]
        assert fc.post("/v1/interview/next", json={"state": state}).json() == step
        if step["should_stop"]:
            break
        q = step["question"]
        r = fc.post("/v1/interview/answer", json={"state": state, "screen": q["screen"],
                                                  "answers": _only(case, [i["finding"] for i in q["items"]])})
        assert r.status_code == 200, r.text
        out = r.json()
    else:
        pytest.fail("the interview did not stop")
    assert next_step(InterviewState.model_validate(state), CKB).level == done.levels.triage
    assert step["level"] == done.level != done.levels.triage
