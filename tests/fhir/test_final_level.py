"""One final level everywhere: REST ``/v1/assess``, FHIR ``$assess`` and the CDS Hooks card report the level of
``painpath.services.conclude_case`` (the care plan's: the engine's triage level raised to the lowest level of
the condition the plan is for), as a stored assessment does; the engine's own triage level stays where it is
named as such (``assessment.triage.level``).

The case is found, not written down: the first answers (one place that hurts, everything else "don't know")
whose lead condition's lowest level is above the engine's triage level."""

from __future__ import annotations

import uuid
from functools import cache

import pytest
from fastapi.testclient import TestClient

from painpath.careplan import load_care_content, plan_lead
from painpath.cases import Case
from painpath.engine import default_compiled
from painpath.fhir import codes as C
from painpath.fhir.cds import INDICATOR
from painpath.fhir.operations import location_findings
from painpath.services import Conclusion, conclude_case
from tests.fhir.conftest import FHIR_JSON, Keys, completed_response

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
    """The case as a QuestionnaireResponse answers it: its findings, every other question "Don't know"."""
    asked = {k: "unknown" for sc in CKB.kb.interview.screens.values() if sc.phase != "exam" for k in sc.findings}
    return asked | {k: "present" if v else "absent" for k, v in case.findings.items() if v is not None}


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
