"""Tenancy gaps not covered by tests/api/test_tenancy.py, tests/fhir/test_stored.py and tests/web/:

* FHIR stored resources on SQLite and PostgreSQL, with a clinician's *session* (not only API keys) of another
  clinic, another assessment's patient token, a revoked API key and a deactivated user's session;
* every web route that takes an assessment id (enumerated from ``app.routes``), GET and POST, with another
  clinic's login or another patient's browser: 404 and nothing changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from painpath.storage import accounts
from painpath.storage.models import AssessmentRecord, Token, User
from tests.security.conftest import Site, fill, finish_via_api, web_routes

SECRET = "MRN-SECRET-7731"  # clinic A's own reference: must not appear in anything another caller gets
FINDINGS = {"f_slr_positive": "present", "finding": "fever_unwell", "value": "present", "pain": "3",
            "region": "low_back_pain", "activity1": "walking", "score1": "4"}


def _record(site: Site, aid: str) -> tuple[Any, ...]:
    with site.database.read() as s:
        rec = s.get(AssessmentRecord, aid)
        assert rec is not None
        return rec.clinic_id, rec.revision, rec.status, rec.mode, rec.updated_at


def test_fhir_stored_resources_stay_in_their_clinic(site: Site, make_clinic: Any) -> None:
    a, b = make_clinic(), make_clinic()
    br = site.browser()
    a_session = br.api_login(str(a["clinician_email"]))
    b_session = br.api_login(str(b["clinician_email"]))
    b_admin = br.api_login(str(b["admin_email"]))
    mine = finish_via_api(br.client, headers=a_session, patient_ref=SECRET)
    other_patient = finish_via_api(br.client)
    with site.database.write() as s:
        _, raw = accounts.issue_token(s, int(a["id"]), kind="api", name="revoked later")
    revoked = {"Authorization": f"Bearer {raw}"}
    for kind in ("Bundle", "RiskAssessment"):
        url = f"/fhir/{kind}/{mine['id']}"
        assert br.get(url, headers=a_session).status_code == 200
        assert br.get(url, headers=mine["patient"]).status_code == 200
        assert br.get(url, headers=revoked).status_code == 200
        for who, h in (("clinic B clinician", b_session), ("clinic B admin", b_admin),
                       ("another patient", other_patient["patient"])):
            r = br.get(url, headers=h)
            assert r.status_code == 404, (kind, who, r.status_code)
            assert r.json()["resourceType"] == "OperationOutcome" and SECRET not in r.text
        # a clinician of B cannot reach it through the share code either once A has it
        r = br.post("/v1/clinic/claim", headers=b_session, json={"share_code": mine["share_code"]})
        assert r.status_code == 404
        assert br.get(url, headers=b_session).status_code == 404
    with site.database.write() as s:
        accounts.revoke_token(s, int(a["id"]), revoked_id(site, raw))
        s.execute(update(User).where(User.email == a["clinician_email"]).values(active=False))
    for kind in ("Bundle", "RiskAssessment"):
        for who, h in (("revoked API key", revoked), ("deactivated clinician", a_session)):
            r = br.get(f"/fhir/{kind}/{mine['id']}", headers=h)
            assert r.status_code == 401, (kind, who, r.status_code)
            assert r.json()["resourceType"] == "OperationOutcome"


def revoked_id(site: Site, raw: str) -> int:
    with site.database.read() as s:
        return int(s.scalar(select(Token.id).where(Token.token_hash == accounts.hash_secret(raw))))


def test_every_clinic_page_of_an_assessment_is_only_for_its_clinic(site: Site, make_clinic: Any) -> None:
    a, b = make_clinic(), make_clinic()
    ca, cb = site.browser(), site.browser()
    assert ca.web_login(str(a["clinician_email"])).status_code == 303
    assert cb.web_login(str(b["clinician_email"])).status_code == 303
    rec = finish_via_api(ca.client, headers=ca.api_login(str(a["clinician_email"])), patient_ref=SECRET)
    aid = rec["id"]
    routes = [(m, p) for m in ("GET", "POST") for p in web_routes(site.app, m)
              if p.startswith("/clinic/") and "{assessment_id}" in p]
    assert len(routes) >= 4, routes
    before = _record(site, aid)
    for method, path in routes:
        url = fill(path, assessment_id=aid)
        r = cb.get(url) if method == "GET" else cb.submit(url, FINDINGS)
        assert r.status_code == 404, (method, path, r.status_code)
        assert SECRET not in r.text
        assert (ca.get(url) if method == "GET" else ca.submit(url, {})).status_code in (200, 303), (method, path)
    after = _record(site, aid)
    assert after[0] == before[0] and after[3] == before[3]  # still clinic A's, and B's exam findings did not land


def test_every_patient_page_of_an_assessment_is_only_for_its_browser(site: Site, make_clinic: Any) -> None:
    clinic = make_clinic()
    owner, other = site.browser(), site.browser()
    aid = owner.start()
    other.start()  # the other browser has a patient token of its own
    doc = site.browser()
    assert doc.web_login(str(clinic["clinician_email"])).status_code == 303
    routes = [(m, p) for m in ("GET", "POST") for p in web_routes(site.app, m)
              if p.startswith("/a/") and "{assessment_id}" in p]
    assert len(routes) >= 10, routes
    before = _record(site, aid)
    for method, path in routes:
        url = fill(path, assessment_id=aid, finding="low_back_pain", screen="where")
        for who, b in (("another browser", other), ("a clinician", doc)):
            r = b.get(url) if method == "GET" else b.submit(url, FINDINGS)
            assert r.status_code == 404, (who, method, path, r.status_code)
            assert r.headers["content-type"].startswith("text/html")
    assert _record(site, aid) == before
    assert owner.get(f"/a/{aid}").status_code == 200
