"""SQL injection: classic payloads in every string input the API, FHIR and the web pages read (share codes,
intake codes, emails and passwords, slugs of path ids, finding keys and screens, query filters, tokens) are
refused with a 4xx (or, where the value is free text, stored literally), nothing leaks and no row changes,
on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from painpath.storage.models import AssessmentRecord, AuditEntry, Clinic, Token, User
from tests.security.conftest import Browser, Site, finish_via_api

INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "\" OR \"\"=\"",
    "'; DROP TABLE assessments; --",
    "1; DELETE FROM users",
    "x' UNION SELECT token_hash, prefix FROM tokens --",
    "%' OR 1=1 --",
    "') OR ('a'='a",
    "admin@example.org' --",
    "1' AND SLEEP(5) --",
    "'||(SELECT pg_sleep(5))||'",
]
TABLES = {"clinics": Clinic, "users": User, "tokens": Token, "assessments": AssessmentRecord}


def counts(site: Site) -> dict[str, int]:
    with site.database.read() as s:
        return {name: s.scalar(select(func.count()).select_from(model)) or 0 for name, model in TABLES.items()}


def snapshot(site: Site, ids: list[str]) -> list[tuple[Any, ...]]:
    with site.database.read() as s:
        rows = s.scalars(select(AssessmentRecord).where(AssessmentRecord.id.in_(ids)).order_by(AssessmentRecord.id))
        return [(r.id, r.clinic_id, r.status, r.revision, r.patient_ref, r.triage_level) for r in rows]


@pytest.fixture
def world(site: Site, make_clinic: Any) -> dict[str, Any]:
    """Clinic A (admin browser logged in on the web and the API) with two assessments; clinic B with one;
    one unshared assessment; a patient browser with its own assessment. Every injection is a failed claim by
    share code, so the claim limit is raised for these tests."""
    site.app.state.settings = site.app.state.settings.model_copy(update={"claim_attempts": 100_000})
    a, b = make_clinic(), make_clinic()
    admin = site.browser()
    assert admin.web_login(str(a["admin_email"])).status_code == 303
    api = admin.api_login(str(a["admin_email"]))
    mine = [finish_via_api(admin.client, intake_code=str(a["intake_code"]))["id"] for _ in range(2)]
    theirs = finish_via_api(admin.client, intake_code=str(b["intake_code"]))["id"]
    loose = finish_via_api(admin.client)
    patient = site.browser()
    own = patient.start()
    return {"a": a, "b": b, "admin": admin, "api": api, "mine": mine, "theirs": theirs, "loose": loose,
            "patient": patient, "own": own, "all": [*mine, theirs, loose["id"], own]}


def _q(v: str) -> str:
    return quote(v, safe="")


def test_api_and_fhir_inputs(site: Site, world: dict[str, Any]) -> None:
    for inj in INJECTIONS:
        _api_and_fhir(site, world, inj)


def _api_and_fhir(site: Site, world: dict[str, Any], inj: str) -> None:
    admin: Browser = world["admin"]
    api, aid, own = world["api"], world["mine"][0], world["loose"]
    before, snap = counts(site), snapshot(site, world["all"])
    anonymous = site.browser()
    refused: list[tuple[str, Any, tuple[int, ...]]] = [
        ("login", anonymous.post("/v1/auth/login", json={"email": inj, "password": inj}), (401, 422, 429)),
        ("login as a known email", anonymous.post("/v1/auth/login", json={
            "email": f"{world['a']['admin_email']}{inj}", "password": inj}), (401, 422, 429)),
        ("login with a known email and an injected password", anonymous.post("/v1/auth/login", json={
            "email": world["a"]["admin_email"], "password": inj}), (401, 429)),
        ("claim", admin.post("/v1/clinic/claim", headers=api, json={"share_code": inj[:32]}), (404, 422)),
        ("intake code", anonymous.post("/v1/assessments", json={"age": 40, "sex": "male", "intake_code": inj[:32]}),
         (404, 422)),
        ("read by id", admin.get(f"/v1/assessments/{_q(inj)}", headers=api), (404,)),
        ("read by id, patient", admin.get(f"/v1/assessments/{_q(inj)}", headers=own["patient"]), (404,)),
        ("answers key", admin.put(f"/v1/assessments/{own['id']}/answers", headers=own["patient"],
                                  json={"answers": {inj: "present"}}), (409, 422)),
        ("answers value", admin.put(f"/v1/assessments/{own['id']}/answers", headers=own["patient"],
                                    json={"answers": {"low_back_pain": inj}}), (409, 422)),
        ("amend key", admin.post(f"/v1/assessments/{aid}/amend", headers=api, json={"answers": {inj: "present"}}),
         (422,)),
        ("withdraw", admin.post(f"/v1/assessments/{own['id']}/withdraw", headers=own["patient"],
                                json={"findings": [inj], "screen": inj[:64]}), (409, 422)),
        ("list status", admin.get(f"/v1/clinic/assessments?status={_q(inj)}", headers=api), (422,)),
        ("list level", admin.get(f"/v1/clinic/assessments?level={_q(inj)}", headers=api), (422,)),
        ("list limit", admin.get(f"/v1/clinic/assessments?limit={_q(inj)}", headers=api), (422,)),
        ("export format", admin.get(f"/v1/clinic/export?format={_q(inj)}", headers=api), (422,)),
        ("revoke token id", admin.delete(f"/v1/clinic/tokens/{_q(inj)}", headers=api), (404, 422)),
        ("condition key", admin.get(f"/v1/conditions/{_q(inj)}"), (404,)),
        ("finding key", admin.get(f"/v1/findings/{_q(inj)}"), (404,)),
        ("assess finding key", admin.post("/v1/assess", json={"age": 40, "sex": "male", "findings": {inj: True}}),
         (422,)),
        ("assess setting", admin.post("/v1/assess", json={"age": 40, "sex": "male", "setting": inj[:32]}), (422,)),
        ("interview screen", admin.post("/v1/interview/why", json={
            "state": {"age": 40, "sex": "male"}, "screen": inj[:64]}), (422,)),
        ("bearer token", anonymous.get("/v1/me", headers={"Authorization": f"Bearer pps_{inj}"}), (401, 429)),
        ("FHIR Bundle id", admin.get(f"/fhir/Bundle/{_q(inj)}", headers=api), (404,)),
        ("FHIR RiskAssessment id", admin.get(f"/fhir/RiskAssessment/{_q(inj)}", headers=api), (404,)),
    ]
    for what, r, allowed in refused:
        assert r.status_code in allowed, (what, inj, r.status_code, r.text[:200])
    # a filter never widens: the audit query with an injected id finds nothing, the list is still only A's
    r = admin.get(f"/v1/clinic/audit?assessment_id={_q(inj[:36])}", headers=api)
    assert r.status_code == 200 and r.json() == [], (inj, r.text[:200])
    listed = {x["id"] for x in admin.get("/v1/clinic/assessments", headers=api).json()["items"]}
    assert set(world["mine"]) <= listed and world["theirs"] not in listed and world["loose"]["id"] not in listed
    assert counts(site) == before and snapshot(site, world["all"]) == snap


def test_web_inputs(site: Site, world: dict[str, Any]) -> None:
    for inj in INJECTIONS:
        _web(site, world, inj)


def _web(site: Site, world: dict[str, Any], inj: str) -> None:
    admin: Browser = world["admin"]
    patient: Browser = world["patient"]
    stranger = site.browser()
    before, snap = counts(site), snapshot(site, world["all"])
    q = _q(inj)
    refused: list[tuple[str, Any, tuple[int, ...]]] = [
        ("level filter", admin.get(f"/clinic?level={q}"), (400,)),
        ("status filter", admin.get(f"/clinic?status={q}"), (400,)),
        ("condition filter", admin.get(f"/clinic?condition={q}"), (400,)),
        ("date filters", admin.get(f"/clinic?date_from={q}&date_to={q}"), (400,)),
        ("page", admin.get(f"/clinic?page={q}"), (422,)),
        ("detail id", admin.get(f"/clinic/a/{q}"), (404,)),
        ("report id", admin.get(f"/clinic/a/{q}/report"), (404,)),
        ("export format", admin.get(f"/clinic/export.{q}"), (404,)),
        ("share link", admin.submit(f"/share/{q}"), (404,)),
        ("claim form", admin.submit("/clinic/claim", {"share_code": inj[:32]}), (404,)),
        ("exam finding", admin.submit(f"/clinic/a/{world['mine'][0]}/exam", {f"f_{inj}": "present"}), (400,)),
        ("exam value", admin.submit(f"/clinic/a/{world['mine'][0]}/exam", {"f_slr_positive": inj}), (400,)),
        ("login form", stranger.submit("/clinic/login", {"email": inj, "password": inj}), (401, 429)),
        ("login form, known email", stranger.submit("/clinic/login", {
            "email": f"{world['a']['clinician_email']}{inj}", "password": "x" * 12}), (401, 429)),
        ("start intake code", stranger.submit("/start", {"age": "40", "sex": "male", "intake_code": inj}), (422,)),
        ("start age", stranger.submit("/start", {"age": inj, "sex": inj}), (422,)),
        ("patient page id", patient.get(f"/a/{q}"), (404,)),
        ("answer finding", patient.submit(f"/a/{world['own']}/answer", {"finding": inj[:64], "value": "present"}),
         (422,)),
        ("answer value", patient.submit(f"/a/{world['own']}/answer", {"finding": "fever_unwell",
                                                                      "value": inj[:16]}), (400,)),
        ("change finding", patient.get(f"/a/{world['own']}/change/{q}"), (404,)),
        ("language", patient.get(f"/lang/{q}"), (404,)),
    ]
    for what, r, allowed in refused:
        assert r.status_code in allowed, (what, inj, r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("text/html"), what
    # a logged-in clinician's list is unchanged and still only the clinic's own
    r = admin.get("/clinic")
    assert r.status_code == 200
    for aid in world["mine"]:
        assert f"/clinic/a/{aid}" in r.text
    assert world["theirs"] not in r.text and world["loose"]["id"] not in r.text
    assert counts(site) == before and snapshot(site, world["all"]) == snap


def test_free_text_is_stored_literally(site: Site, world: dict[str, Any]) -> None:
    """Where a string is data (patient_ref, an API key's name, a PSFS activity), it is stored exactly as sent:
    bound parameters, no SQL is built from it."""
    admin: Browser = world["admin"]
    api = world["api"]
    before = counts(site)
    refs = [i[:64] for i in INJECTIONS]
    ids = []
    for ref in refs:
        r = admin.post("/v1/assessments", headers=api, json={"age": 30, "sex": "male", "patient_ref": ref})
        assert r.status_code == 201 and r.json()["assessment"]["patient_ref"] == ref
        ids.append(r.json()["assessment"]["id"])
    for name in INJECTIONS:
        r = admin.post("/v1/clinic/tokens", headers=api, json={"name": name})
        assert r.status_code == 201 and r.json()["name"] == name
    r = admin.put(f"/v1/assessments/{ids[0]}/outcome", headers=api,
                  json={"pain": 3, "psfs": [{"activity": a[:80], "score": 5} for a in INJECTIONS[:3]]})
    assert r.status_code == 200 and [a["activity"] for a in r.json()["outcome"]["psfs"]] == [
        a[:80] for a in INJECTIONS[:3]]
    after = counts(site)
    assert after == {**before, "assessments": before["assessments"] + len(refs),
                     "tokens": before["tokens"] + len(INJECTIONS)}
    with site.database.read() as s:
        stored = dict(s.execute(select(AssessmentRecord.id, AssessmentRecord.patient_ref)
                                .where(AssessmentRecord.id.in_(ids))).all())
        assert [stored[i] for i in ids] == refs
        names = set(s.scalars(select(Token.name).where(Token.clinic_id == world["a"]["id"])))
        assert set(INJECTIONS) <= names
        # the audit log names what was done, not the injected text as SQL
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "token_create",
                                                                           AuditEntry.clinic_id == world["a"]["id"])
                        ) == len(INJECTIONS)
    listed = admin.get("/v1/clinic/tokens", headers=api).json()
    assert set(INJECTIONS) <= {t["name"] for t in listed}


def test_slugs_emails_and_codes_in_the_storage_layer(site: Site, world: dict[str, Any]) -> None:
    """What only the command line and the storage layer read (clinic slugs for ``painpath admin``), and the
    lookups behind login and claim, called directly."""
    from painpath.errors import AuthenticationError, NotFoundError, ServiceError
    from painpath.storage import accounts
    from painpath.storage import assessments as store

    before, snap = counts(site), snapshot(site, world["all"])
    with site.database.read() as s:
        who = accounts.resolve_token(s, world["api"]["Authorization"].split()[1])
    assert who is not None
    for inj in INJECTIONS:
        with site.database.write() as s:
            with pytest.raises(ServiceError, match="slug"):
                accounts.create_clinic(s, inj, "Injected")
            with pytest.raises(NotFoundError):
                accounts.get_clinic(s, inj)
            with pytest.raises(AuthenticationError):
                accounts.verify_login(s, inj, inj)
            with pytest.raises(AuthenticationError):
                accounts.verify_login(s, str(world["a"]["admin_email"]), inj)
            with pytest.raises(NotFoundError):
                store.claim(s, who, inj)
            with pytest.raises(NotFoundError):
                store.load(s, who, inj)
            assert accounts.resolve_token(s, f"pps_{inj}") is None and accounts.resolve_token(s, f"ppp_{inj}") is None
            assert store.list_for_clinic(s, who, condition=inj, audit_action="list") == []
    assert counts(site) == before and snapshot(site, world["all"]) == snap
