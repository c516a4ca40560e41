"""What generic clients need: CORS, SDC `authored` / `subject`, the mode item, the location asked first, and CDS
Hooks feedback (stored with tenancy, audited)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import ValidationError

from painpath.engine import default_compiled
from painpath.fhir import codes as C
from painpath.fhir.operations import LOCATION_NEEDED, location_findings
from tests.fhir.conftest import BASE_URL, FHIR_JSON, ISSUER, Keys, ValidatingClient, about_you, answer_value, completed_response

NEXT = "/fhir/Questionnaire/$next-question"
ASSESS = "/fhir/QuestionnaireResponse/$assess"
PV = "painpath-patient-view"
IMG = "painpath-lumbar-imaging"
FORMS = "http://forms.hospital.example:8080"
ROGUE = "https://rogue.example"
SUBJECT = {"reference": "Patient/abc-123", "display": "Test patient"}


# --- CORS --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cors_client(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Iterator[TestClient]:
    from painpath.api.app import create_app
    from painpath.config import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("cors"), public_base_url=BASE_URL,
                        cds_issuers={ISSUER: keys.jwks}, cors_origins=f" {FORMS}/ , https://smart.example")
    with ValidatingClient(create_app(settings)) as c:
        yield c


def _preflight(c: TestClient, path: str, origin: str, method: str = "POST",
               headers: str = "authorization, content-type") -> Any:
    return c.options(path, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                    "Access-Control-Request-Headers": headers})


@pytest.mark.parametrize("path", [ASSESS, NEXT, f"/cds-services/{PV}", f"/cds-services/{PV}/feedback",
                                  "/v1/assess", "/v1/assessments"])
def test_preflight_from_an_allowed_origin_succeeds(cors_client: TestClient, path: str) -> None:
    r = _preflight(cors_client, path, FORMS)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == FORMS
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = r.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "access-control-allow-credentials" not in r.headers  # bearer tokens only, never cookies


@pytest.mark.parametrize("path", [ASSESS, f"/cds-services/{PV}", "/v1/assess"])
def test_preflight_from_another_origin_is_refused(cors_client: TestClient, path: str) -> None:
    r = _preflight(cors_client, path, ROGUE)
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers
    r = _preflight(cors_client, path, FORMS, headers="x-not-allowed")  # an allowed origin, a header not allowed
    assert r.status_code == 400 and "header" in r.text.lower()


def test_simple_requests_get_the_header_only_for_allowed_origins(cors_client: TestClient) -> None:
    ok = cors_client.get("/fhir/Questionnaire/painpath", headers={"Origin": FORMS})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == FORMS
    assert "access-control-allow-credentials" not in ok.headers
    other = cors_client.get("/fhir/Questionnaire/painpath", headers={"Origin": ROGUE})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
    cds = cors_client.get("/cds-services", headers={"Origin": "https://smart.example"})
    assert cds.headers["access-control-allow-origin"] == "https://smart.example"
    page = cors_client.get("/", headers={"Origin": FORMS})  # the web pages are not part of the API
    assert "access-control-allow-origin" not in page.headers


def test_cors_is_off_by_default(fc: TestClient) -> None:
    r = _preflight(fc, ASSESS, FORMS)
    assert r.status_code == 405 and "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in fc.get("/fhir/metadata", headers={"Origin": FORMS}).headers


def test_wildcard_never_allows_credentials(tmp_path: Any) -> None:
    from painpath.api.app import create_app
    from painpath.config import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path, cors_origins="*"), web=False)) as c:
        r = _preflight(c, ASSESS, ROGUE)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers
        r = c.get("/fhir/metadata", headers={"Origin": ROGUE, "Cookie": "painpath_session=x"})
        assert r.headers["access-control-allow-origin"] == "*" and "access-control-allow-credentials" not in r.headers


def test_a_bad_origin_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from painpath.config import Settings, get_settings
    from painpath.errors import ConfigError

    with pytest.raises(ValidationError, match="forms.example/path"):
        Settings(cors_origins="https://ok.example, https://forms.example/path, ftp://x")
    monkeypatch.setenv("PAINPATH_CORS_ORIGINS", "forms.example")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="PAINPATH_CORS_ORIGINS.*forms.example"):
            get_settings()
    finally:
        get_settings.cache_clear()
    assert Settings(cors_origins="http://[::1]:8080,https://a.example").cors_origin_list == \
        ["http://[::1]:8080", "https://a.example"]


# --- SDC: authored and subject ------------------------------------------------------------------------------


def _post(fc: TestClient, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = fc.post(path, json=body, headers=FHIR_JSON)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def _contained(qr: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in qr["contained"] if c["id"] == qr["questionnaire"][1:])


def test_next_question_keeps_the_subject_and_sets_authored(fc: TestClient) -> None:
    qr = _post(fc, NEXT, {"resourceType": "QuestionnaireResponse", "status": "in-progress", "subject": SUBJECT})
    assert qr["subject"] == SUBJECT
    assert qr["authored"].endswith("+00:00") and qr["authored"][:4].isdigit()
    qr["item"] = [about_you(50, "female")]
    qr["authored"] = "2026-12-01T10:00:00+01:00"  # the client's own time of its answers is kept
    nxt = _post(fc, NEXT, qr)
    assert nxt["subject"] == SUBJECT and nxt["authored"] == "2026-12-01T10:00:00+01:00"


def test_assess_bundle_response_has_authored_and_subject(fc: TestClient) -> None:
    qr = completed_response(40, "male", {"calf_pain": "present", "pain_below_knee": "present"}, subject=SUBJECT)
    bundle = _post(fc, ASSESS, qr)
    inner = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse")
    assert inner["subject"] == SUBJECT and inner["authored"]


# --- the static Questionnaire: who is answering ----------------------------------------------------------


def _mode_item(code: str) -> dict[str, Any]:
    coding = C.MODE_CLINICIAN if code == "clinician" else C.MODE_SELF
    return {"linkId": C.MODE_ITEM, "answer": [{"valueCoding": dict(coding)}]}


def _exam_answer() -> tuple[str, str]:
    kb = default_compiled().kb
    name, sc = next((n, s) for n, s in kb.interview.screens.items() if s.phase == "exam")
    return name, sc.findings[0]


def test_the_mode_item_enables_examination_answers(fc: TestClient) -> None:
    screen, finding = _exam_answer()
    qr = completed_response(55, "male", {"calf_pain": "present", "pain_below_knee": "present"})
    qr.pop("extension")
    qr["item"] = [_mode_item("clinician"), *qr["item"], {"linkId": screen, "item": [
        {"linkId": finding, "answer": [answer_value("present")]}]}]
    bundle = _post(fc, ASSESS, qr)
    risk = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    assert "clinician mode" in risk["method"]["text"]
    qr["item"][0] = _mode_item("self")
    out = _post(fc, ASSESS, qr, 422)
    assert "examination finding" in out["issue"][0]["diagnostics"]
    qr["item"][0] = _mode_item("clinician")
    qr["extension"] = [{"url": C.EXT_MODE, "valueCode": "self"}]
    out = _post(fc, ASSESS, qr, 422)
    assert out["issue"][0]["expression"] == ["QuestionnaireResponse.item[0].answer[0].valueCoding"]
    qr["item"][0]["answer"][0]["valueCoding"]["code"] = "robot"
    qr.pop("extension")
    assert "who is answering" in _post(fc, ASSESS, qr, 422)["issue"][0]["diagnostics"]


def test_older_answer_codings_are_still_read(fc: TestClient) -> None:
    qr = completed_response(40, "male", {"calf_pain": "present", "pain_below_knee": "present",
                                         "leg_weakness": "absent", "fever_unwell": "unknown"})
    old = {"present": {"system": C.V2_0136, "code": "Y"}, "absent": {"system": C.V2_0136, "code": "N"},
           "unknown": {"system": C.DATA_ABSENT, "code": "asked-unknown"}}
    for g in qr["item"][1:]:
        for it in g["item"]:
            it["answer"] = [{"valueCoding": old[C.VALUE_OF[(it["answer"][0]["valueCoding"]["system"],
                                                             it["answer"][0]["valueCoding"]["code"])]]}]
    new = _post(fc, ASSESS, completed_response(40, "male", {"calf_pain": "present", "pain_below_knee": "present",
                                                             "leg_weakness": "absent", "fever_unwell": "unknown"}))
    got = _post(fc, ASSESS, qr)

    def top(b: dict[str, Any]) -> Any:
        risk = next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
        return [(p["outcome"]["text"], p["probabilityDecimal"]) for p in risk["prediction"]]

    assert top(got) == top(new)


# --- an empty interview asks where it hurts ---------------------------------------------------------------


def _answer_group(qr: dict[str, Any], value: str) -> dict[str, Any]:
    """Answer every question of the last group of the contained Questionnaire with ``value``."""
    g = _contained(qr)["item"][-1]
    if g["linkId"] == C.ABOUT_YOU:
        qr.setdefault("item", []).append(about_you(35, "female"))
        return qr
    coding = answer_value(value)["valueCoding"]
    items = [{"linkId": it["linkId"], "answer": [answer_value(value)]} for it in g["item"] if it["type"] == "choice"
             and any(o["valueCoding"]["code"] == coding["code"] for o in it["answerOption"])]  # as a form offers it
    qr.setdefault("item", []).append({"linkId": g["linkId"], "item": items})
    return qr


def test_no_to_everything_asks_for_the_location_again(fc: TestClient) -> None:
    """A plain SDC client that answers No to every question is asked where it hurts, never triaged."""
    where = next(n for n, s in default_compiled().kb.interview.screens.items() if s.phase == "presenting")
    qr = _post(fc, NEXT, {"resourceType": "QuestionnaireResponse", "status": "in-progress", "subject": SUBJECT})
    qr = _post(fc, NEXT, _answer_group(qr, "absent"))  # about you -> the location
    assert _contained(qr)["item"][-1]["linkId"] == where
    for _ in range(3):
        qr = _post(fc, NEXT, _answer_group(qr, "absent"))
        assert qr["status"] == "in-progress"
        assert not any(e["url"] in (C.EXT_LEVEL, C.EXT_STOP) for e in qr.get("extension", []))
        group = _contained(qr)["item"][-1]
        assert group["linkId"] == where, "the next question is the location again"
        assert group["item"][0]["linkId"] == LOCATION_NEEDED and group["item"][0]["type"] == "display"
        assert [i["linkId"] for i in group["item"]].count(LOCATION_NEEDED) == 1
        assert [i["linkId"] for i in qr["item"]] == [C.ABOUT_YOU], "the No answers are cleared to be asked again"
    # answering Yes to a place that hurts goes on to the warning questions
    qr["item"].append({"linkId": where, "item": [
        {"linkId": k, "answer": [answer_value("present" if k == "calf_pain" else "absent")]}
        for k in default_compiled().kb.interview.screens[where].findings]})
    qr = _post(fc, NEXT, qr)
    assert _contained(qr)["item"][-1]["linkId"] != where and qr["status"] == "in-progress"


def test_dont_know_everywhere_is_asked_again_too(fc: TestClient) -> None:
    where = next(n for n, s in default_compiled().kb.interview.screens.items() if s.phase == "presenting")
    qr = _post(fc, NEXT, {"resourceType": "QuestionnaireResponse", "status": "in-progress"})
    qr = _post(fc, NEXT, _answer_group(qr, "absent"))
    qr = _post(fc, NEXT, _answer_group(qr, "unknown"))
    assert _contained(qr)["item"][-1]["linkId"] == where and qr["status"] == "in-progress"


def test_assess_without_a_location_is_a_clear_request_for_it(fc: TestClient) -> None:
    kb = default_compiled().kb
    everything_no = {k: "absent" for name, sc in kb.interview.screens.items() if sc.phase != "exam"
                     for k in sc.findings}
    out = _post(fc, ASSESS, completed_response(35, "female", everything_no), 422)
    issue = out["issue"][0]
    assert issue["code"] == "required" and "no place that hurts" in issue["diagnostics"]
    assert issue["expression"] == ["QuestionnaireResponse.item[1]"]  # the location group
    for k in location_findings(default_compiled()):
        assert k in issue["diagnostics"]
    # a warning sign answered Yes is assessed even without a location (its urgency must not wait)
    warn = next(k for sc in kb.interview.screens.values() if sc.phase == "warning" for k in sc.findings)
    bundle = _post(fc, ASSESS, completed_response(35, "female", everything_no | {warn: "present"}))
    assert bundle["resourceType"] == "Bundle"


def test_cds_patient_view_without_a_location_gives_no_card(fc: TestClient, keys: Keys) -> None:
    qr = completed_response(35, "female", {"calf_pain": "absent", "low_back_pain": "absent", "leg_weakness": "absent"},
                            subject={"reference": "Patient/123"})
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "123"}, "prefetch": {"painpathResponse": qr}}
    r = fc.post(f"/cds-services/{PV}", json=body, headers={"Authorization": f"Bearer {keys.token(PV)}"})
    assert r.status_code == 200 and r.json() == {"cards": []}
    qr2 = copy.deepcopy(qr)
    qr2["item"][1]["item"][0]["answer"] = [answer_value("present")]  # low back pain: Yes
    body["prefetch"]["painpathResponse"] = qr2
    r = fc.post(f"/cds-services/{PV}", json=body, headers={"Authorization": f"Bearer {keys.token(PV)}"})
    assert len(r.json()["cards"]) == 1


# --- CDS Hooks feedback -------------------------------------------------------------------------------------


def _feedback(**over: Any) -> dict[str, Any]:
    entry = {"card": str(uuid.uuid4()), "outcome": "accepted", "acceptedSuggestions": [{"id": "s-1"}],
             "outcomeTimestamp": "2026-12-02T08:00:00Z"} | over
    return {"feedback": [entry]}


@pytest.fixture
def feedback_app(db_url: str, tmp_path: Any, keys: Keys) -> Iterator[tuple[TestClient, Any, str]]:
    """The app on SQLite and PostgreSQL, with the EHR's issuer linked to a clinic."""
    from painpath.api.app import create_app
    from painpath.config import Settings
    from painpath.storage.accounts import create_clinic

    app0 = create_app(Settings(data_dir=tmp_path, database_url=db_url, auto_migrate=False), web=False)
    slug = "fb-" + uuid.uuid4().hex[:10]
    with app0.state.db.write() as s:
        create_clinic(s, slug, "Feedback clinic")
    app0.state.db.dispose()
    issuers = {ISSUER: keys.jwks | {"clinic": slug}, "https://unlinked.example": keys.jwks}
    settings = Settings(data_dir=tmp_path, database_url=db_url, public_base_url=BASE_URL, auto_migrate=False,
                        cds_issuers=issuers)
    app = create_app(settings, web=False)
    with TestClient(app) as c:
        yield c, app.state.db, slug


def _send(c: TestClient, keys: Keys, body: Any, service: str = PV, status: int = 200, **token: Any) -> Any:
    r = c.post(f"/cds-services/{service}/feedback", json=body,
               headers={"Authorization": f"Bearer {keys.token(service, **token)}"})
    assert r.status_code == status, r.text
    return r.json()


def test_feedback_is_stored_with_the_clinic_and_audited(feedback_app: tuple[TestClient, Any, str],
                                                        keys: Keys) -> None:
    from painpath.storage.models import AuditEntry, CdsFeedback, Clinic

    c, db, slug = feedback_app
    accepted = _feedback()
    card = accepted["feedback"][0]["card"]
    overridden = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-12-02T09:15:00+01:00",
                  "overrideReason": {"reason": {"system": "https://ehr.example.org/reasons", "code": "not-relevant",
                                                "display": "Not relevant"}, "userComment": "Seen by spine team"}}
    assert _send(c, keys, {"feedback": [accepted["feedback"][0], overridden]}) == {}
    # the feedback endpoint's own URL is accepted as the audience too
    _send(c, keys, _feedback(), aud=f"{BASE_URL}/cds-services/{PV}/feedback")
    with db.read() as s:
        clinic_id = s.scalar(sa.select(Clinic.id).where(Clinic.slug == slug))
        rows = s.scalars(sa.select(CdsFeedback).where(CdsFeedback.clinic_id == clinic_id)
                         .order_by(CdsFeedback.id)).all()
        assert [(r.card, r.outcome, r.issuer, r.service) for r in rows[:2]] == [
            (card, "accepted", ISSUER, PV), (overridden["card"], "overridden", ISSUER, PV)]
        assert rows[0].accepted_suggestions == [{"id": "s-1"}]
        assert rows[1].override_reason == overridden["overrideReason"]["reason"]
        assert rows[1].user_comment == "Seen by spine team"
        assert rows[1].outcome_at.isoformat() == "2026-12-02T08:15:00+00:00"
        audit = s.scalars(sa.select(AuditEntry).where(AuditEntry.clinic_id == clinic_id,
                                                      AuditEntry.action == "cds_feedback")).all()
        assert len(audit) == 2 and "1 accepted, 1 overridden" in audit[0].detail and ISSUER in audit[0].detail
    # an issuer linked to no clinic: stored under its issuer only, no clinic's audit log
    other = _feedback()
    _send(c, keys, other, service=IMG, iss="https://unlinked.example")
    with db.read() as s:
        row = s.scalars(sa.select(CdsFeedback).where(CdsFeedback.card == other["feedback"][0]["card"])).one()
        assert (row.clinic_id, row.issuer, row.service) == (None, "https://unlinked.example", IMG)


def test_feedback_refusals(fc: TestClient, keys: Keys) -> None:
    r = fc.post(f"/cds-services/{PV}/feedback", json=_feedback())
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    r = fc.post("/cds-services/nope/feedback", json=_feedback(),
                headers={"Authorization": f"Bearer {keys.token('nope')}"})
    assert r.status_code == 404
    assert "feedback: required" in _send(fc, keys, {}, status=400)["error_description"]
    assert "feedback: required" in _send(fc, keys, {"feedback": []}, status=400)["error_description"]
    bad = {"feedback": [{"card": "not-a-uuid", "outcome": "maybe"},
                        {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "yesterday",
                         "acceptedSuggestions": [{"id": "x"}], "overrideReason": {"reason": "no"}}]}
    msg = _send(fc, keys, bad, status=400)["error_description"]
    for part in ("feedback[0].card", "feedback[0].outcome", "feedback[0].outcomeTimestamp",
                 "feedback[1].outcomeTimestamp", "feedback[1].acceptedSuggestions", "feedback[1].overrideReason.reason"):
        assert part in msg, part
    r = fc.get(f"/cds-services/{PV}/feedback")
    assert r.status_code == 405
    token = keys.token(PV, aud=f"{BASE_URL}/cds-services/{IMG}/feedback")  # another service's URL
    r = fc.post(f"/cds-services/{PV}/feedback", json=_feedback(), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "aud" in r.json()["error_description"]
