"""CDS Hooks 2.0: discovery, card shape, JWT authentication of the EHR, and the two services."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from painpath.domain import Level
from painpath.engine import default_compiled
from painpath.fhir import codes as C
from painpath.fhir.cds import lumbar_red_flags
from tests.fhir.conftest import BASE_URL, ISSUER, OTHER_ISSUER, Keys, completed_response

PV = "painpath-patient-view"
IMG = "painpath-lumbar-imaging"
INDICATORS = {"info", "warning", "critical"}
SELF_CARE = {"low_back_pain": "present", "buttock_pain": "present", "posterior_thigh_pain": "present",
             "calf_pain": "present", "pain_below_knee": "present", "leg_pain_worse_than_back": "present",
             "pain_follows_band": "present", "pain_shooting_electric": "present", "tingling_pins_needles": "present",
             "onset_after_lifting_bending": "present", "worse_sitting_bending": "present",
             "worse_cough_sneeze_strain": "present", "worse_back_movement": "present", "leg_weakness": "absent",
             "numbness_leg_or_foot": "absent", "bladder_problem_new": "absent", "saddle_numbness": "absent",
             "fever_unwell": "absent", "history_of_cancer": "absent", "symptoms_over_6_weeks": "absent"}


def _call(fc: TestClient, keys: Keys, service: str, body: dict[str, Any], status: int = 200,
          **token: Any) -> dict[str, Any]:
    r = fc.post(f"/cds-services/{service}", json=body,
                headers={"Authorization": f"Bearer {keys.token(service, **token)}"})
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def _patient_view(qr: dict[str, Any] | None, patient: str = "123") -> dict[str, Any]:
    body: dict[str, Any] = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                            "context": {"userId": "Practitioner/1", "patientId": patient},
                            "prefetch": {"painpathResponse": qr}}
    return body


def _check_card(card: dict[str, Any]) -> None:
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140  # "<140-character"
    assert card["indicator"] in INDICATORS
    assert isinstance(card["source"]["label"], str) and card["source"]["label"]
    if "detail" in card:
        assert isinstance(card["detail"], str)
    for link in card.get("links", []):
        assert link["type"] in ("absolute", "smart") and link["url"].startswith("http") and link["label"]
    uuid.UUID(card["uuid"])


def test_discovery(fc: TestClient) -> None:
    r = fc.get("/cds-services")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    services = {s["id"]: s for s in r.json()["services"]}
    assert set(services) == {PV, IMG}
    assert services[PV]["hook"] == "patient-view" and services[IMG]["hook"] == "order-select"
    for s in services.values():
        assert s["description"] and s["title"]
        assert "{{context.patientId}}" in s["prefetch"]["painpathResponse"]


@pytest.mark.parametrize(("answers", "level", "indicator"), [
    (SELF_CARE, "self_care", "info"),
    (dict(SELF_CARE, fever_unwell="present"), "urgent", "warning"),
    (dict(SELF_CARE, saddle_numbness="present"), "emergency", "critical"),
])
def test_patient_view_card(fc: TestClient, keys: Keys, answers: dict[str, str], level: str, indicator: str) -> None:
    qr = completed_response(38, "male", answers, subject={"reference": "Patient/123"})
    qr["identifier"] = {"system": C.ASSESSMENT_ID_SYSTEM, "value": "0b9c6f4e-2c1a-4c59-9d0e-6a8f8f1e2a11"}
    out = _call(fc, keys, PV, _patient_view(qr))
    assert len(out["cards"]) == 1
    card = out["cards"][0]
    _check_card(card)
    assert card["indicator"] == indicator
    assert card["summary"].startswith(f"PainPath: {C.LEVEL_SHORT[level]}")
    assert "Why this level" in card["detail"] and "ICD-10-CM" in card["detail"]
    assert card["source"]["label"] == "PainPath" and card["source"]["url"].startswith(BASE_URL)
    assert card["links"][0]["url"] == f"{BASE_URL}/clinic/a/0b9c6f4e-2c1a-4c59-9d0e-6a8f8f1e2a11/report"


def test_patient_view_from_a_searchset_and_observations(fc: TestClient, keys: Keys) -> None:
    older = completed_response(38, "male", SELF_CARE, subject={"reference": "Patient/123"})
    older["authored"] = "2026-01-01T09:00:00Z"
    newer = completed_response(38, "male", dict(SELF_CARE, fever_unwell="present"),
                               subject={"reference": "Patient/123"})
    newer["authored"] = "2026-06-01T09:00:00Z"
    other_patient = completed_response(38, "male", dict(SELF_CARE, saddle_numbness="present"),
                                       subject={"reference": "Patient/999"})
    other_patient["authored"] = "2026-09-01T09:00:00Z"
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": r} for r in (older, newer, other_patient)]}
    card = _call(fc, keys, PV, _patient_view(bundle))["cards"][0]
    assert card["indicator"] == "warning"  # the newest response of this patient; never another patient's

    obs = [{"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/123"},
            "code": {"coding": [{"system": C.FINDING_SYSTEM, "code": k}]}, "valueBoolean": v == "present"}
           for k, v in SELF_CARE.items()]
    body = _patient_view({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": o} for o in obs]})
    assert _call(fc, keys, PV, body)["cards"] == []  # no age or sex: no assessment
    body["prefetch"]["patient"] = {"resourceType": "Patient", "id": "123", "gender": "male", "birthDate": "1985-03-02"}
    cards = _call(fc, keys, PV, body)["cards"]
    assert len(cards) == 1 and cards[0]["indicator"] == "info"


def test_patient_view_without_data(fc: TestClient, keys: Keys) -> None:
    assert _call(fc, keys, PV, _patient_view(None))["cards"] == []
    body = _patient_view(None)
    del body["prefetch"]
    out = _call(fc, keys, PV, body, status=412)
    assert out["error"] == "prefetch_required"
    bad = _patient_view(None)
    bad["hook"] = "order-select"
    assert _call(fc, keys, PV, bad, status=400)["error"] == "invalid_request"
    broken = completed_response(38, "male", SELF_CARE) | {"bogus": 1}
    out = _call(fc, keys, PV, _patient_view(broken), status=400)
    assert out["error"] == "invalid_prefetch" and "QuestionnaireResponse.bogus" in out["error_description"]
    no_age = completed_response(38, "male", SELF_CARE)
    no_age["item"] = no_age["item"][1:]
    assert _call(fc, keys, PV, _patient_view(no_age), status=400)["error"] == "invalid_prefetch"


def _order(code: dict[str, Any], sid: str = "sr-1") -> dict[str, Any]:
    return {"resourceType": "ServiceRequest", "id": sid, "status": "draft", "intent": "order",
            "subject": {"reference": "Patient/123"}, "code": code}


def _imaging_body(orders: list[dict[str, Any]], qr: dict[str, Any] | None, selections: list[str] | None = None
                  ) -> dict[str, Any]:
    return {"hook": "order-select", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "123",
                        "selections": selections if selections is not None else
                        [f"ServiceRequest/{o['id']}" for o in orders],
                        "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                        "entry": [{"resource": o} for o in orders]}},
            "prefetch": {"painpathResponse": qr}}


MRI_LOINC = {"coding": [{"system": C.LOINC, "code": "30679-5", "display": "MR Lumbar spine WO contrast"}]}


LUMBAR_RED_FLAGS = lumbar_red_flags(default_compiled())  # kb/data/triage.yaml: imaging_red_flags
ALL_NO = dict(SELF_CARE, **dict.fromkeys(LUMBAR_RED_FLAGS, "absent"))  # every red flag answered No


def test_lumbar_red_flags_are_triage_findings() -> None:
    """Each red flag is a finding a triage rule reports when present (so "present" gets the warning card)."""
    t = default_compiled().kb.triage
    reported = {k for f in t.floors for k in (*f.any, *f.with_any)}
    reported |= {k for e in t.escalations if Level.parse(e.level).is_acute for k in e.any}
    assert set(LUMBAR_RED_FLAGS) <= reported
    assert {"saddle_numbness", "history_of_cancer", "fever_unwell"} <= set(LUMBAR_RED_FLAGS)


def test_lumbar_imaging_with_red_flags_answered_no(fc: TestClient, keys: Keys) -> None:
    qr = completed_response(38, "male", ALL_NO, subject={"reference": "Patient/123"})
    out = _call(fc, keys, IMG, _imaging_body([_order(MRI_LOINC)], qr))
    assert len(out["cards"]) == 1
    card = out["cards"][0]
    _check_card(card)
    assert card["indicator"] == "info"
    assert "not recommended" in card["summary"] and "NICE NG59" in card["summary"]
    assert "answered No" in card["summary"] and "not recorded" not in card["detail"]
    assert "NICE NG59" in card["detail"] and "Qaseem" in card["detail"] and "2017" in card["detail"]
    assert "MR Lumbar spine WO contrast" in card["detail"]
    assert any("ng59" in link["url"] for link in card["links"])
    # recognised by text and by CPT code too; with no PainPath data the card says so
    for code in ({"text": "MRI L-spine without contrast"}, {"coding": [{"system": C.CPT, "code": "72100"}]}):
        card = _call(fc, keys, IMG, _imaging_body([_order(code)], None))["cards"][0]
        assert "No PainPath answers" in card["detail"]


@pytest.mark.parametrize("how", ["not asked", "don't know"])
def test_lumbar_imaging_with_red_flags_not_recorded(fc: TestClient, keys: Keys, how: str) -> None:
    texts = default_compiled().kb.findings.findings
    missing = ["bowel_incontinence_new", "history_of_cancer", "onset_after_trauma"]
    answers = {k: v for k, v in ALL_NO.items() if k not in missing} if how == "not asked" else \
        dict(ALL_NO, **dict.fromkeys(missing, "unknown"))
    qr = completed_response(38, "male", answers, subject={"reference": "Patient/123"})
    card = _call(fc, keys, IMG, _imaging_body([_order(MRI_LOINC)], qr))["cards"][0]
    _check_card(card)
    assert "not recommended" not in card["summary"] and "answered No" not in card["summary"]
    assert "3 red flags not recorded" in card["summary"]
    listed = [line[2:] for line in card["detail"].splitlines() if line.startswith("- ") and "**" not in line]
    # which ones, in plain words (the findings' texts); the red flags answered No are not listed
    assert [t for t in listed if t in {texts[k].text for k in LUMBAR_RED_FLAGS}] == [texts[k].text for k in missing]
    assert "depends on them" in card["detail"] and "no warning features" in card["detail"]
    assert "MR Lumbar spine WO contrast" in card["detail"] and "NICE NG59" in card["detail"]
    # one left: singular
    qr = completed_response(38, "male", dict(ALL_NO, saddle_numbness="unknown"), subject={"reference": "Patient/123"})
    card = _call(fc, keys, IMG, _imaging_body([_order(MRI_LOINC)], qr))["cards"][0]
    assert "1 red flag not recorded" in card["summary"] and f"- {texts['saddle_numbness'].text}" in card["detail"]


def test_lumbar_imaging_with_red_flags(fc: TestClient, keys: Keys) -> None:
    qr = completed_response(70, "male", dict(SELF_CARE, history_of_cancer="present"),
                            subject={"reference": "Patient/123"})
    card = _call(fc, keys, IMG, _imaging_body([_order(MRI_LOINC)], qr))["cards"][0]
    _check_card(card)
    assert "may be appropriate" in card["summary"]
    assert "cancer" in card["detail"] and "not recorded" not in card["detail"]
    # a red flag present is reported even when the others were not asked, and without low back pain
    leg_only = {k: v for k, v in SELF_CARE.items() if k != "low_back_pain"}
    qr = completed_response(70, "male", dict(leg_only, history_of_cancer="present"),
                            subject={"reference": "Patient/123"})
    card = _call(fc, keys, IMG, _imaging_body([_order(MRI_LOINC)], qr))["cards"][0]
    assert "may be appropriate" in card["summary"] and "has had cancer" in card["detail"]


def test_lumbar_imaging_other_orders(fc: TestClient, keys: Keys) -> None:
    qr = completed_response(38, "male", SELF_CARE)
    knee = _order({"coding": [{"system": C.LOINC, "code": "24687-6", "display": "MR Lower Extremity Joint"}]})
    assert _call(fc, keys, IMG, _imaging_body([knee], qr))["cards"] == []
    blood = _order({"text": "Full blood count"}, "sr-2")
    mri = _order(MRI_LOINC, "sr-3")
    # only the selected order counts
    assert _call(fc, keys, IMG, _imaging_body([blood, mri], qr, ["ServiceRequest/sr-2"]))["cards"] == []
    assert len(_call(fc, keys, IMG, _imaging_body([blood, mri], qr, ["ServiceRequest/sr-3"]))["cards"]) == 1


# --- authentication ------------------------------------------------------------------------------------------


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{b64(header)}.{b64(claims)}."


def _rejected(fc: TestClient, token: str | None, service: str = PV) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    r = fc.post(f"/cds-services/{service}", json=_patient_view(None), headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["www-authenticate"].startswith("Bearer")
    body = r.json()
    assert body["error"] == "invalid_token" and body["error_description"]
    return body  # type: ignore[no-any-return]


def test_valid_jwts(fc: TestClient, keys: Keys) -> None:
    for alg in ("RS256", "RS384", "ES256", "ES384"):
        _call(fc, keys, PV, _patient_view(None), alg=alg)
    _call(fc, keys, IMG, _imaging_body([], None), alg="ES256")


def test_jwt_rejections(fc: TestClient, keys: Keys) -> None:
    assert "required" in _rejected(fc, None)["error_description"]
    assert "iss" in _rejected(fc, keys.token(PV, iss=OTHER_ISSUER, key=keys.other_rsa))["error_description"]
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": f"{BASE_URL}/cds-services/{PV}", "exp": now + 300, "iat": now, "jti": "x1"}
    assert "alg" in _rejected(fc, _unsigned(claims, {"alg": "none", "typ": "JWT"}))["error_description"]
    hs = jwt.encode(claims, "k" * 64, algorithm="HS256", headers={"kid": "rsa-1"})
    assert "HS256" in _rejected(fc, hs)["error_description"]
    assert "exp" in _rejected(fc, keys.token(PV, lifetime=-600))["error_description"]
    assert "aud" in _rejected(fc, keys.token(PV, aud=f"{BASE_URL}/cds-services/{IMG}"))["error_description"]
    assert "aud" in _rejected(fc, keys.token(PV, aud="http://testserver/cds-services/" + PV))["error_description"]
    for claim in ("exp", "iat", "jti"):
        assert claim in _rejected(fc, keys.token(PV, drop=(claim,)))["error_description"]
    assert "signature" in _rejected(fc, keys.token(PV, key=keys.other_rsa))["error_description"]
    assert "kid" in _rejected(fc, keys.token(PV, kid="nope"))["error_description"]
    assert "kid" in _rejected(fc, keys.token(PV, alg="ES256", kid="rsa-1"))["error_description"]
    assert "iat" in _rejected(fc, keys.token(PV, iat=int(time.time()) + 3600))["error_description"]
    token = keys.token(PV)
    r = fc.post(f"/cds-services/{PV}", json=_patient_view(None), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert "already used" in _rejected(fc, token)["error_description"]  # replay of the same jti
    assert "well-formed" in _rejected(fc, "not-a-jwt")["error_description"]
    assert "ES384" in _rejected(fc, keys.token(PV, alg="ES256", kid="ec-384", key=keys.ec))["error_description"]
    r = fc.post(f"/cds-services/{PV}", json={}, headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_no_issuers_configured_refuses_everything(tmp_path: Any, keys: Keys) -> None:
    from painpath.api.app import create_app
    from painpath.config import Settings

    app = create_app(Settings(data_dir=tmp_path, public_base_url=BASE_URL), web=False)
    with TestClient(app) as c:
        r = c.post(f"/cds-services/{PV}", json=_patient_view(None),
                   headers={"Authorization": f"Bearer {keys.token(PV)}"})
        assert r.status_code == 401 and "iss" in r.json()["error_description"]


def test_issuers_from_the_environment(monkeypatch: pytest.MonkeyPatch, keys: Keys) -> None:
    from painpath.config import Settings

    monkeypatch.setenv("PAINPATH_CDS_ISSUERS", json.dumps({ISSUER: keys.jwks}))
    assert Settings().cds_issuers == {ISSUER: keys.jwks}


def test_audience_without_a_public_base_url(tmp_path: Any, keys: Keys) -> None:
    """Without PAINPATH_PUBLIC_BASE_URL the audience is the URL the request came to."""
    from painpath.api.app import create_app
    from painpath.config import Settings

    app = create_app(Settings(data_dir=tmp_path, cds_issuers={ISSUER: keys.jwks}), web=False)
    with TestClient(app) as c:
        body = _patient_view(None)
        ok = keys.token(PV, aud=f"http://testserver/cds-services/{PV}")
        assert c.post(f"/cds-services/{PV}", json=body, headers={"Authorization": f"Bearer {ok}"}).status_code == 200
        wrong = keys.token(PV)  # the public URL of the other deployment
        assert c.post(f"/cds-services/{PV}", json=body, headers={"Authorization": f"Bearer {wrong}"}).status_code == 401


def test_summary_is_kept_under_140_characters() -> None:
    from painpath.fhir.cds import _summary

    assert _summary("short") == "short"
    long = _summary("x " * 200)
    assert len(long) < 140 and long.endswith("…")


def test_a_replayed_token_is_refused_by_another_worker(db_url: str, tmp_path: Any, keys: Keys) -> None:
    """Two app instances on one database (two workers, or two machines): a JWT accepted by one is refused by the
    other, on SQLite and PostgreSQL; expired ids are removed, and the database keeps only digests."""
    import sqlalchemy as sa

    from painpath.api.app import create_app
    from painpath.config import Settings
    from painpath.storage.models import UsedJwt

    settings = Settings(data_dir=tmp_path, database_url=db_url, public_base_url=BASE_URL, auto_migrate=False,
                        cds_issuers={ISSUER: keys.jwks}, cds_clock_skew_seconds=30)
    first, second = create_app(settings, web=False), create_app(settings, web=False)
    with TestClient(first) as one, TestClient(second) as two:
        token = keys.token(PV, jti="shared-" + uuid.uuid4().hex)
        ok = one.post(f"/cds-services/{PV}", json=_patient_view(None), headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        assert "already used" in _rejected(two, token)["error_description"]
        assert "already used" in _rejected(one, token)["error_description"]
        db = first.state.db
        with db.write() as s:  # an id whose token expired long ago is deleted by the next check
            s.add(UsedJwt(key="0" * 64, expires_at=time.time() - 3600))
        fresh = keys.token(PV)
        assert two.post(f"/cds-services/{PV}", json=_patient_view(None),
                        headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
        with db.read() as s:
            keys_stored = set(s.scalars(sa.select(UsedJwt.key)))
            assert "0" * 64 not in keys_stored
            assert all(len(k) == 64 and "shared-" not in k for k in keys_stored)


def test_the_card_does_not_name_a_condition_when_the_answers_fit_none_well() -> None:
    from painpath import assess
    from painpath.fhir.cds import assessment_card

    # outer-knee pain at a set distance into every run, after a rise in mileage: none of the conditions
    itb = {"knee_joint_pain": True, "outer_thigh_pain": True, "leg_pain_worse_than_back": True,
           "pain_localised_point": True, "exercise_tightness_predictable": True, "worse_running_jumping": True,
           "onset_gradual": True, "recent_training_increase": True, "runner_or_jumping_sport": True}
    result = assess({"age": 33, "sex": "female", "findings": itb})
    assert result.other is not None and result.other.leads
    card = assessment_card(result)
    assert "fit no common cause well" in card["summary"] and "Most likely" not in card["summary"]
    assert result.other.message and result.other.message in card["detail"]
    sciatica = assess({"age": 40, "sex": "male", "findings": {
        "low_back_pain": True, "buttock_pain": True, "posterior_thigh_pain": True, "calf_pain": True,
        "pain_below_knee": True, "pain_shooting_electric": True, "tingling_pins_needles": True,
        "worse_cough_sneeze_strain": True, "leg_pain_worse_than_back": True}})
    assert not sciatica.other.leads and "Most likely" in assessment_card(sciatica)["summary"]
