"""The Questionnaire, the CapabilityStatement and the $assess Bundle: shape and FHIR R4 validity."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

import painpath
from painpath.engine import default_compiled
from painpath.fhir import codes as C
from painpath.fhir.results import warning_findings
from tests.fhir.conftest import FHIR_JSON, completed_response
from tests.fhir.r4 import validate

ASSESS = "/fhir/QuestionnaireResponse/$assess"
SCIATICA = {"low_back_pain": "present", "buttock_pain": "present", "posterior_thigh_pain": "present",
            "calf_pain": "present", "pain_below_knee": "present", "leg_pain_worse_than_back": "present",
            "pain_follows_band": "present", "pain_shooting_electric": "present",
            "worse_cough_sneeze_strain": "present",
            "bladder_problem_new": "absent", "saddle_numbness": "absent", "fever_unwell": "absent",
            "history_of_cancer": "absent", "leg_weakness": "unknown"}


def _walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for it in items:
        out.append(it)
        out += _walk(it.get("item") or [])
    return out


def _check_side_item(groups: list[dict[str, Any]]) -> None:
    """Which leg: one optional choice item, right after pain_both_legs, answered with the SNOMED CT lateralities
    the Observations' bodySite uses (Spanish displays as translations)."""
    found = [(g, i) for g in groups for i, it in enumerate(g["item"]) if it["linkId"] == C.SIDE_ITEM]
    assert len(found) == 1
    group, at = found[0]
    side = group["item"][at]
    assert group["item"][at - 1]["linkId"] == "pain_both_legs"
    assert side["type"] == "choice" and side["required"] is False and side["text"] == "Which leg?"
    assert side["code"] == [C.painpath_code("leg-side")]
    options = [o["valueCoding"] for o in side["answerOption"]]
    assert [(c["system"], c["code"], c["display"]) for c in options] == [
        (C.SNOMED, "7771000", "Left"), (C.SNOMED, "24028007", "Right"), (C.SNOMED, "51440002", "Right and left")]
    spanish = [c["_display"]["extension"][0]["extension"][1]["valueString"] for c in options]
    assert spanish == ["Izquierda", "Derecha", "Derecha e izquierda"]
    assert [i["linkId"] for i in side["item"]] == [f"{C.SIDE_ITEM}-help"]


def test_questionnaire_is_the_knowledge_base(fc: TestClient) -> None:
    r = fc.get("/fhir/Questionnaire/painpath")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    q = r.json()
    validate(q)
    kb = default_compiled().kb
    assert q["url"] == C.QUESTIONNAIRE_URL and q["version"] == kb.version and q["status"] == "active"
    mode, groups = q["item"][0], q["item"][1:]
    assert mode["linkId"] == C.MODE_ITEM and mode["type"] == "choice" and mode["required"] is True
    assert [(o["valueCoding"]["code"], o.get("initialSelected", False)) for o in mode["answerOption"]] == \
        [("self", True), ("clinician", False)]
    assert [g["linkId"] for g in groups] == [C.ABOUT_YOU, *kb.interview.screens]
    about = {i["linkId"]: i for i in groups[0]["item"]}
    assert about["age"]["type"] == "integer" and about["age"]["required"] is True
    assert [o["valueCoding"] for o in about["sex"]["answerOption"]] == [C.FEMALE, C.MALE]
    findings = [i for g in groups[1:] for i in g["item"] if i["linkId"] != C.SIDE_ITEM]
    assert sorted(i["linkId"] for i in findings) == sorted(kb.findings.findings)
    _check_side_item(groups)
    for i in findings:
        assert i["type"] == "choice"
        text = kb.findings.findings[i["linkId"]].text
        assert i["code"] == [{"system": C.FINDING_SYSTEM, "code": i["linkId"], "display": text}]
        options = [o["valueCoding"] for o in i["answerOption"]]
        assert [{k: c[k] for k in ("system", "code", "display")} for c in options] == [C.YES, C.NO, C.DONT_KNOW]
        assert [c["display"] for c in options] == ["Yes", "No", "Don't know"]  # what a generic renderer shows
        spanish = [{e["url"]: e.get("valueCode", e.get("valueString")) for e in c["_display"]["extension"][0]["extension"]}
                   for c in options]
        assert spanish == [{"lang": "es", "content": t} for t in ("Sí", "No", "No sé")]
    by_link = {g["linkId"]: g for g in groups}
    for name, sc in kb.interview.screens.items():
        g = by_link[name]
        phase = [e["valueCode"] for e in g["extension"] if e["url"] == C.EXT_PHASE]
        assert phase == [sc.phase]
        clinician_only = any(e["url"] == C.EXT_CLINICIAN_ONLY and e["valueBoolean"] for e in g["extension"])
        assert clinician_only == (sc.phase == "exam")
        if sc.when_any:
            assert sc.phase == "warning"
            assert [(e["question"], e["operator"], e["answerCoding"]["code"]) for e in g["enableWhen"]] == \
                [(k, "=", C.YES["code"]) for k in sc.when_any]
        elif sc.phase == "exam":  # hidden from patient renderers: enabled only when a clinician answers
            assert g["enableWhen"] == [{"question": C.MODE_ITEM, "operator": "=",
                                        "answerCoding": {"system": C.MODE_SYSTEM, "code": "clinician"}}]
        else:
            assert "enableWhen" not in g
    assert "warning_back_serious" in by_link and "enableWhen" in by_link["warning_back_serious"]
    links = [i["linkId"] for i in _walk(groups)]
    assert len(links) == len(set(links))


def test_capability_statement(fc: TestClient) -> None:
    r = fc.get("/fhir/metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    cs = r.json()
    validate(cs)
    assert cs["fhirVersion"] == "4.0.1" and "application/fhir+json" in cs["format"]
    res = {x["type"]: x for x in cs["rest"][0]["resource"]}
    assert set(res) == {"Questionnaire", "QuestionnaireResponse", "Bundle", "RiskAssessment"}
    assert res["Questionnaire"]["operation"][0]["definition"] == C.SDC_NEXT_QUESTION
    assert res["QuestionnaireResponse"]["operation"][0]["name"] == "assess"
    assert cs["implementation"]["url"].endswith("/fhir")


def _assess(fc: TestClient, qr: dict[str, Any]) -> dict[str, Any]:
    r = fc.post(ASSESS, json=qr, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    bundle = r.json()
    validate(bundle)
    for e in bundle["entry"]:
        validate(e["resource"])
    return bundle  # type: ignore[no-any-return]


def test_assess_bundle(fc: TestClient) -> None:
    subject = {"reference": "Patient/123"}
    qr = completed_response(38, "male", SCIATICA, subject=subject)
    qr["authored"] = "2026-11-20T10:00:00+00:00"
    bundle = _assess(fc, qr)
    assert bundle["type"] == "collection"
    ckb = default_compiled()
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "QuestionnaireResponse" and kinds.count("RiskAssessment") == 1
    qr_url = bundle["entry"][0]["fullUrl"]
    assert qr_url.startswith("urn:uuid:")
    obs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    findings = {o["code"]["coding"][0]["code"]: o for o in obs if o["code"]["coding"][0]["system"] == C.FINDING_SYSTEM}
    warn = warning_findings(ckb)
    expected = {k for k, v in SCIATICA.items() if v == "present" or (v == "absent" and k in warn)}
    assert set(findings) == expected
    assert "leg_weakness" not in findings  # unknown: no observation
    assert "history_of_cancer" in findings and findings["history_of_cancer"]["valueBoolean"] is False
    for k, o in findings.items():
        assert o["status"] == "final" and o["derivedFrom"] == [{"reference": qr_url}]
        assert o["valueBoolean"] is (SCIATICA[k] == "present")
        assert o["category"][0]["coding"][0]["code"] == "survey"
        assert o["subject"] == subject and o["effectiveDateTime"] == qr["authored"]
    # only the answers given count: what the response did not ask is unknown, as in an interview
    result = painpath.assess(painpath.Case(id="qr", age=38, sex="male", unlisted="unknown", findings={
        k: None if v == "unknown" else v == "present" for k, v in SCIATICA.items()}), explain_conditions=None)
    ra = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    assert ra["status"] == "final" and ra["subject"] == subject
    other = [p for p in ra["prediction"] if p["outcome"]["coding"][0]["code"] == "other"]
    conditions = [p for p in ra["prediction"] if p not in other]
    assert len(conditions) == len(ckb.conditions)
    probs = [p["probabilityDecimal"] for p in ra["prediction"]]
    assert probs == sorted(probs, reverse=True)  # "other" at its rank among the conditions
    if result.other is not None:  # the unexplained-pattern class: one prediction, in plain words
        assert len(other) == 1 and other[0]["probabilityDecimal"] == pytest.approx(result.other.probability, abs=1e-6)
        assert other[0]["outcome"]["text"].startswith("None of the listed conditions")
        assert other[0]["outcome"]["coding"] == [{"system": C.CONDITION_SYSTEM, "code": "other",
                                                  "display": other[0]["outcome"]["text"]}]
        assert sum(probs) == pytest.approx(1.0, abs=1e-4)
        if result.other.message:
            assert other[0]["rationale"] == result.other.message
    else:
        assert not other
    kbc = ckb.kb.conditions.conditions
    for pred, cond in zip(conditions, result.conditions, strict=True):
        codings = pred["outcome"]["coding"]
        icd = [c["code"] for c in codings if c["system"] == C.ICD10CM]
        assert icd and icd == kbc[cond.key].icd10cm, cond.key  # ICD-10-CM on every condition
        assert [c["code"] for c in codings if c["system"] == C.SNOMED] == [s.code for s in kbc[cond.key].snomed]
        assert {"system": C.CONDITION_SYSTEM, "code": cond.key, "display": cond.name} in codings
        assert pred["probabilityDecimal"] == pytest.approx(cond.probability, abs=1e-6)
    assert "rationale" in conditions[0] and conditions[0]["rationale"].startswith("For: ")
    assert ra["mitigation"] == result.triage.advice
    tri = [o for o in obs if o["code"]["coding"][0]["system"] == C.PAINPATH_SYSTEM]
    assert len(tri) == 1
    value = tri[0]["valueCodeableConcept"]
    assert value["coding"][0]["system"] == C.TRIAGE_SYSTEM and value["coding"][0]["code"] == result.triage.level
    assert value["text"] == result.triage.advice
    assert {n["text"].split(" [")[0] for n in tri[0]["note"]} == {r.text for r in result.triage.reasons}


def test_assess_exam_and_emergency(fc: TestClient) -> None:
    answers = dict(SCIATICA, saddle_numbness="present", slr_positive="present",
                   perianal_sensory_loss_or_anal_tone="absent")
    bundle = _assess(fc, completed_response(52, "female", answers, mode="clinician"))
    obs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    cat = {o["code"]["coding"][0]["code"]: o.get("category", [{}])[0].get("coding", [{}])[0].get("code") for o in obs}
    assert cat["slr_positive"] == "exam" and cat["saddle_numbness"] == "survey"
    tri = next(o for o in obs if o["code"]["coding"][0]["code"] == "triage-disposition")
    assert tri["valueCodeableConcept"]["coding"][0]["code"] == "emergency"
    derived = {d["reference"] for d in tri["derivedFrom"]}
    urls = {e["resource"].get("id"): e["fullUrl"] for e in bundle["entry"]}
    saddle = next(o for o in obs if o["code"]["coding"][0]["code"] == "saddle_numbness")
    assert urls[saddle["id"]] in derived  # the finding that fired the floor


def test_assess_refusals(fc: TestClient) -> None:
    qr = completed_response(38, "male", SCIATICA)
    qr["status"] = "in-progress"
    r = fc.post(ASSESS, json=qr, headers=FHIR_JSON)
    assert r.status_code == 422 and r.json()["issue"][0]["expression"] == ["QuestionnaireResponse.status"]
    qr = completed_response(38, "male", SCIATICA)
    qr["questionnaire"] = "http://example.org/Questionnaire/other"
    r = fc.post(ASSESS, json=qr, headers=FHIR_JSON)
    assert r.status_code == 422 and r.json()["issue"][0]["expression"] == ["QuestionnaireResponse.questionnaire"]
    qr = completed_response(38, "male", SCIATICA)
    qr["item"] = qr["item"][1:]
    r = fc.post(ASSESS, json=qr, headers=FHIR_JSON)
    assert r.status_code == 422 and "age" in r.json()["issue"][0]["diagnostics"]
    for oo in (r.json(),):
        validate(oo)
