"""SDC adaptive interview driven only through POST /fhir/Questionnaire/$next-question, then $assess."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import painpath
from painpath.cases import Case, encode, load_case
from painpath.engine import default_compiled
from painpath.fhir import codes as C
from painpath.interview.simulate import simulate
from painpath.services import levels_of
from tests.conftest import DEV
from tests.fhir.conftest import FHIR_JSON, about_you, answer_value
from tests.fhir.r4 import validate

NEXT = "/fhir/Questionnaire/$next-question"
ASSESS = "/fhir/QuestionnaireResponse/$assess"
DEV_CASES = sorted(DEV.glob("*.yaml")) if DEV.is_dir() else []
needs_dev = pytest.mark.skipif(not DEV_CASES, reason="benchmark dev cases not found")


def _contained(qr: dict[str, Any]) -> dict[str, Any]:
    ref = qr["questionnaire"]
    return next(c for c in qr["contained"] if c["id"] == ref[1:])


def _post(fc: TestClient, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = fc.post(path, json=body, headers=FHIR_JSON)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    out = r.json()
    validate(out)
    return out  # type: ignore[no-any-return]


def interview(fc: TestClient, path: Path, mode: str) -> tuple[dict[str, Any], dict[str, str], list[str], Any]:
    """Answer every appended group from the case (benchmark answer rules) until the response is completed."""
    ckb = default_compiled()
    case = load_case(path, ckb)
    truth = encode(case, ckb, mode)  # type: ignore[arg-type]
    qr: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    if mode != "self":
        qr["extension"] = [{"url": C.EXT_MODE, "valueCode": mode}]
    answers: dict[str, str] = {}
    screens: list[str] = []
    for _ in range(60):
        # the whole response travels in every request: it stays under the default 64 KiB body limit with room
        assert len(json.dumps(qr)) < 56 * 1024
        qr = _post(fc, NEXT, qr)
        if qr["status"] == "completed":
            break
        assert qr["status"] == "in-progress"
        group = _contained(qr)["item"][-1]
        assert group["type"] == "group" and group["required"] is True
        items = []
        if group["linkId"] == C.ABOUT_YOU:
            qr.setdefault("item", []).append(about_you(case.age, case.sex))
            continue
        screens.append(group["linkId"])
        for i, it in enumerate(group["item"]):
            if it["linkId"] == C.SIDE_ITEM:  # which leg: optional, right after the finding it refines; left empty
                assert it["required"] is False and group["item"][i - 1]["linkId"] == "pain_both_legs"
                continue
            assert it["code"][0]["system"] == C.FINDING_SYSTEM and it["code"][0]["code"] == it["linkId"]
            v = int(truth[ckb.fidx[it["linkId"]]])
            value = "present" if v > 0 else "absent" if v < 0 else "unknown"
            answers[it["linkId"]] = value
            items.append({"linkId": it["linkId"], "text": it["text"], "answer": [answer_value(value)]})
        qr.setdefault("item", []).append({"linkId": group["linkId"], "text": group["text"], "item": items})
    else:
        pytest.fail("the interview did not stop")
    return qr, answers, screens, case


def _findings(answers: dict[str, str]) -> dict[str, bool | None]:
    return {k: None if v == "unknown" else v == "present" for k, v in answers.items()}


def _asked(case: Any, answers: dict[str, str]) -> Case:
    """The interview's answers as the case $assess reads: only what was asked counts (the rest unknown)."""
    return Case(id="asked", age=case.age, sex=case.sex, findings=_findings(answers), unlisted="unknown")


@needs_dev
@pytest.mark.parametrize("path", DEV_CASES, ids=lambda p: p.stem)
def test_full_interview_self(fc: TestClient, path: Path) -> None:
    qr, answers, screens, case = interview(fc, path, "self")
    sim = simulate(case, "self")
    # a screen asked again for items that became due is the group SCREEN.N; the engine lists each screen once
    asked = list(dict.fromkeys(s.rpartition(".")[0] if s.rpartition(".")[2].isdigit() else s for s in screens))
    assert asked == list(sim.state.screens_asked), "the same screens as the engine's own interview"
    stop = [e["valueCode"] for e in qr["extension"] if e["url"] == C.EXT_STOP]
    assert stop == [sim.stop_reason]
    bundle = _post(fc, ASSESS, qr)
    expected = painpath.assess(_asked(case, answers), mode="self")
    risk = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    first = next(p for p in risk["prediction"] if p["outcome"]["coding"][0]["code"] != "other")
    top = first["outcome"]["coding"]
    assert {"system": C.CONDITION_SYSTEM, "code": expected.top.key} == {k: top[-1][k] for k in ("system", "code")}
    assert first["probabilityDecimal"] == pytest.approx(expected.top.probability, abs=1e-6)
    triage = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
              and e["resource"]["code"]["coding"][0]["code"] == "triage-disposition"]
    assert len(triage) == 1
    final = levels_of(expected).final  # the one final level, as a stored assessment reports it
    assert triage[0]["valueCodeableConcept"]["coding"][0] == {
        "system": C.TRIAGE_SYSTEM, "code": final, "display": C.LEVEL_DISPLAY[final]}
    # the stop reports that same level
    (level,) = [e["valueCoding"] for e in qr["extension"] if e["url"] == C.EXT_LEVEL]
    assert level == triage[0]["valueCodeableConcept"]["coding"][0]


@needs_dev
@pytest.mark.parametrize("stem", ["dev-001", "dev-003", "dev-010", "dev-020"])
def test_full_interview_clinician(fc: TestClient, stem: str) -> None:
    qr, answers, screens, case = interview(fc, DEV / f"{stem}.yaml", "clinician")
    assert screens == list(simulate(case, "clinician").state.screens_asked)
    bundle = _post(fc, ASSESS, qr)
    expected = painpath.assess(_asked(case, answers), mode="clinician")
    risk = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    first = next(p for p in risk["prediction"] if p["outcome"]["coding"][0]["code"] != "other")
    assert first["outcome"]["text"] == expected.top.name
    assert f"{expected.mode} mode" in risk["method"]["text"]


@needs_dev
def test_emergency_stops_completed_with_advice(fc: TestClient) -> None:
    qr, answers, screens, case = interview(fc, DEV / "dev-010.yaml", "self")
    assert case.gold.triage == "emergency"
    assert qr["status"] == "completed"
    ext = {e["url"]: e for e in qr["extension"]}
    assert ext[C.EXT_STOP]["valueCode"] == "emergency"
    assert ext[C.EXT_LEVEL]["valueCoding"]["code"] == "emergency"
    last = _contained(qr)["item"][-1]
    assert last["type"] == "display" and last["linkId"] == "painpath-emergency"
    assert "emergency" in last["text"].lower() or "ambulance" in last["text"].lower()


def test_first_call_and_parameters_form(fc: TestClient) -> None:
    first = _post(fc, NEXT, {"resourceType": "QuestionnaireResponse", "status": "in-progress"})
    q = _contained(first)
    assert first["questionnaire"] == f"#{C.ADAPTIVE_ID}"
    assert {"url": C.SDC_ADAPTIVE_EXT, "valueBoolean": True} in q["extension"]
    assert [g["linkId"] for g in q["item"]] == [C.ABOUT_YOU]
    about = q["item"][0]["item"]
    assert about[0]["type"] == "integer" and about[1]["type"] == "choice"
    assert [o["valueCoding"]["code"] for o in about[1]["answerOption"]] == ["female", "male"]
    # a client-made empty adaptive questionnaire works too, and Parameters with mode=clinician
    start = {"resourceType": "QuestionnaireResponse", "status": "in-progress", "questionnaire": "#q1",
             "contained": [{"resourceType": "Questionnaire", "id": "q1", "status": "active"}]}
    qr = _post(fc, NEXT, {"resourceType": "Parameters", "parameter": [
        {"name": "questionnaire-response", "resource": start}, {"name": "mode", "valueCode": "clinician"}]})
    assert {"url": C.EXT_MODE, "valueCode": "clinician"} in qr["extension"]
    qr["item"] = [about_you(50, "female")]
    qr = _post(fc, NEXT, qr)
    where = _contained(qr)["item"][-1]
    assert where["linkId"] == "where"
    assert {"url": C.EXT_PHASE, "valueCode": "presenting"} in where["extension"]
    assert any(e["url"] == C.EXT_WHY for e in where["extension"])


def _started(fc: TestClient) -> dict[str, Any]:
    qr = _post(fc, NEXT, {"resourceType": "QuestionnaireResponse", "status": "in-progress"})
    qr["item"] = [about_you(40, "male")]
    return _post(fc, NEXT, qr)


def _error(fc: TestClient, path: str, body: Any, status: int, expression: str | None = None,
           raw: bool = False) -> dict[str, Any]:
    r = fc.post(path, content=body, headers=FHIR_JSON) if raw else fc.post(path, json=body, headers=FHIR_JSON)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    oo = r.json()
    validate(oo)
    assert oo["resourceType"] == "OperationOutcome" and oo["issue"][0]["severity"] == "error"
    if expression is not None:
        assert oo["issue"][0]["expression"] == [expression], oo
    return oo


def test_bad_input_is_a_4xx_operation_outcome_naming_the_element(fc: TestClient) -> None:
    _error(fc, NEXT, b"{not json", 400, raw=True)
    _error(fc, NEXT, {"resourceType": "Patient"}, 400, "resourceType")
    _error(fc, NEXT, {"resourceType": "QuestionnaireResponse", "status": "in-progress", "bogus": 1}, 400,
           "QuestionnaireResponse.bogus")
    _error(fc, NEXT, {"resourceType": "QuestionnaireResponse", "status": "done"}, 422, "QuestionnaireResponse.status")
    _error(fc, NEXT, {"resourceType": "QuestionnaireResponse", "status": "in-progress", "questionnaire": "#nope"},
           422, "QuestionnaireResponse.contained")
    _error(fc, NEXT, {"resourceType": "Parameters", "parameter": [{"name": "x", "valueString": "y"}]}, 422,
           "Parameters.parameter[0].name")
    r = fc.post(NEXT, content=b"<xml/>", headers={"Content-Type": "application/fhir+xml"})
    assert r.status_code == 415 and r.json()["resourceType"] == "OperationOutcome"

    qr = _started(fc)  # about-you answered, "where" appended
    no_age = copy.deepcopy(qr)
    no_age["item"][0]["item"] = no_age["item"][0]["item"][1:]
    _error(fc, NEXT, no_age, 422, "QuestionnaireResponse.item[0]")
    bad_age = copy.deepcopy(qr)
    bad_age["item"][0]["item"][0]["answer"] = [{"valueInteger": 130}]
    _error(fc, NEXT, bad_age, 422, "QuestionnaireResponse.item[0].item[0].answer[0].valueInteger")
    bad_sex = copy.deepcopy(qr)
    bad_sex["item"][0]["item"][1]["answer"] = [{"valueCoding": {"system": C.GENDER, "code": "other"}}]
    _error(fc, NEXT, bad_sex, 422, "QuestionnaireResponse.item[0].item[1].answer[0].valueCoding")

    answered = copy.deepcopy(qr)
    answered["item"].append({"linkId": "where",
                             "item": [{"linkId": "calf_pain", "answer": [answer_value("present")]}]})
    bad_code = copy.deepcopy(answered)
    bad_code["item"][1]["item"][0]["answer"] = [{"valueCoding": {"system": C.V2_0136, "code": "maybe"}}]
    _error(fc, NEXT, bad_code, 422, "QuestionnaireResponse.item[1].item[0].answer[0].valueCoding")
    unknown = copy.deepcopy(answered)
    unknown["item"][1]["item"].append({"linkId": "no_such_finding", "answer": [answer_value("present")]})
    _error(fc, NEXT, unknown, 422, "QuestionnaireResponse.item[1].item[1].linkId")
    not_asked = copy.deepcopy(answered)
    not_asked["item"][1]["item"].append({"linkId": "fever_unwell", "answer": [answer_value("present")]})
    _error(fc, NEXT, not_asked, 422, "QuestionnaireResponse.item[1].item[1].linkId")
    two = copy.deepcopy(answered)
    two["item"][1]["item"][0]["answer"] = [answer_value("present"), answer_value("absent")]
    _error(fc, NEXT, two, 422, "QuestionnaireResponse.item[1].item[0].answer")
    _error(fc, NEXT, qr, 422, "QuestionnaireResponse.item")  # the appended group was not answered at all
    bad_mode = copy.deepcopy(answered)
    bad_mode["extension"] = [{"url": C.EXT_MODE, "valueCode": "doctor"}]
    _error(fc, NEXT, bad_mode, 422, "QuestionnaireResponse.extension[0].valueCode")
    # answered items, the rest of the group "don't know": the interview goes on
    nxt = _post(fc, NEXT, answered)
    assert nxt["status"] == "in-progress" and len(_contained(nxt)["item"]) == 3


def test_exam_answers_need_clinician_mode(fc: TestClient) -> None:
    from tests.fhir.conftest import completed_response

    qr = completed_response(45, "male", {"low_back_pain": "present", "slr_positive": "present"})
    oo = _error(fc, ASSESS, qr, 422)
    assert "slr_positive" in oo["issue"][0]["diagnostics"]
    qr["extension"] = [{"url": C.EXT_MODE, "valueCode": "clinician"}]
    _post(fc, ASSESS, qr)
