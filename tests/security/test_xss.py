"""Cross-site scripting: script and attribute-breaking payloads in everything a person or clinic can type
(patient_ref, clinic name, PSFS activity names, answers and finding keys, form values, query and path values)
come out escaped on every web page and the HTML report, in English and in Spanish (whose messages are
rebuilt from patterns), and never as markup."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from markupsafe import escape

from painpath.storage import accounts
from tests.conftest import unique
from tests.security.conftest import Browser, Site, finish_via_api

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOAD = IMG + SCRIPT  # 55 characters: fits patient_ref (64), activity names (80), clinic names (200)
NO_SLASH = '"><svg onload=alert(1)>'  # for path parameters (a '/' would end the segment)
RAW = [SCRIPT, "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>", "\"><img", "<script>alert", "onload=alert(1)>"]


def assert_escaped(html: str, where: str, *, shown: str | None = None) -> None:
    """No payload appears as markup; if ``shown`` is given, it appears escaped (so the check is not vacuous)."""
    for raw in RAW:
        assert raw not in html, f"{where}: unescaped {raw!r}"
    if shown is not None:
        assert str(escape(shown)) in html, f"{where}: {shown!r} is not shown (escaped) at all"


@pytest.fixture
def xss_clinic(site: Site) -> dict[str, Any]:
    """A clinic named with the payload, a logged-in clinician, and a finished assessment with a payload patient_ref."""
    slug = unique("xss")
    with site.database.write() as s:
        clinic = accounts.create_clinic(s, slug, PAYLOAD)
        accounts.create_user(s, clinic, f"doc@{slug}.example.org", "correct horse battery staple")
        code = clinic.intake_code
    doc = site.browser()
    assert doc.web_login(f"doc@{slug}.example.org").status_code == 303
    api = doc.api_login(f"doc@{slug}.example.org")
    rec = finish_via_api(doc.client, headers=api, patient_ref=PAYLOAD[:64])
    return {"slug": slug, "intake_code": code, "doc": doc, "api": api, "aid": rec["id"]}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_clinic_name_and_patient_ref_are_escaped_on_every_clinic_page(site: Site, xss_clinic: dict[str, Any],
                                                                      lang: str) -> None:
    doc: Browser = xss_clinic["doc"]
    aid = xss_clinic["aid"]
    for path in (f"/clinic?lang={lang}", f"/clinic/a/{aid}?lang={lang}"):
        r = doc.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        assert_escaped(r.text, path, shown=PAYLOAD)
        # the clinic name in the header (and the list's title), the patient_ref in the list row or the title
        assert r.text.count(str(escape(PAYLOAD))) >= 2, f"{path}: the clinic name or patient_ref is not shown"
    r = doc.get(f"/clinic/a/{aid}/report?lang={lang}")  # the report names neither
    assert r.status_code == 200
    assert_escaped(r.text, "clinic report")
    # the exports are data files, not HTML: the JSON keeps the value as it is, the CSV is not a page either
    r = doc.get("/clinic/export.csv")
    assert r.headers["content-type"].startswith("text/csv") and r.headers["x-content-type-options"] == "nosniff"
    r = doc.get("/clinic/export.json")
    assert r.headers["content-type"].startswith("application/json")
    assert PAYLOAD in {a["patient_ref"] for a in r.json()["assessments"]}


def test_psfs_activity_names_are_escaped(site: Site) -> None:
    patient = site.browser()
    aid = patient.start()
    h = patient.patient_headers(aid)
    r = patient.put(f"/v1/assessments/{aid}/answers", headers=h,
                    json={"answers": {"low_back_pain": "present", "pain_below_knee": "absent"}})
    assert r.status_code == 200
    assert patient.post(f"/v1/assessments/{aid}/finish", headers=h).status_code == 200
    # a form error shows the activity names typed so far
    r = patient.submit(f"/a/{aid}/followup", {"pain": "4", "activity1": PAYLOAD, "score1": "not a number",
                                              "activity2": SCRIPT, "score2": "3"})
    assert r.status_code == 422
    assert_escaped(r.text, "follow-up form error", shown=PAYLOAD)
    # a follow-up with those activities: its pages, the first assessment's pages and the report
    r = patient.submit(f"/a/{aid}/followup", {"pain": "4", "activity1": PAYLOAD, "score1": "3",
                                              "activity2": SCRIPT, "score2": "5"})
    assert r.status_code == 303, r.text[:300]
    fu = r.headers["location"].split("/a/")[1].split("/")[0]
    stored = patient.get(f"/v1/assessments/{fu}", headers=patient.patient_headers(fu)).json()
    assert [a["activity"] for a in stored["outcome"]["psfs"]] == [PAYLOAD, SCRIPT]  # kept as typed
    fh = patient.patient_headers(fu)
    patient.put(f"/v1/assessments/{fu}/answers", headers=fh,
                json={"answers": {"low_back_pain": "present", "pain_below_knee": "absent"}})
    assert patient.post(f"/v1/assessments/{fu}/finish", headers=fh).status_code == 200
    for path in (f"/a/{fu}/result", f"/a/{fu}/report", f"/a/{fu}/answers", f"/a/{fu}/followup",
                 f"/a/{aid}/result", f"/a/{aid}/report", f"/a/{fu}/result?lang=es"):
        r = patient.get(path)
        assert r.status_code == 200, path
        assert_escaped(r.text, path)


def test_patient_ref_and_activities_on_the_clinic_detail_and_trend(site: Site, xss_clinic: dict[str, Any]) -> None:
    doc: Browser = xss_clinic["doc"]
    aid = xss_clinic["aid"]
    api = xss_clinic["api"]
    assert doc.put(f"/v1/assessments/{aid}/outcome", headers=api,
                   json={"pain": 5, "psfs": [{"activity": PAYLOAD, "score": 4}]}).status_code == 409  # finished
    r = doc.post(f"/v1/assessments/{aid}/followups", headers=api)
    assert r.status_code == 201, r.text
    fu = r.json()["assessment"]["id"]
    assert doc.put(f"/v1/assessments/{fu}/outcome", headers=api,
                   json={"pain": 3, "psfs": [{"activity": PAYLOAD, "score": 6}]}).status_code == 200
    doc.put(f"/v1/assessments/{fu}/answers", headers=api, json={"answers": {"low_back_pain": "present"}})
    assert doc.post(f"/v1/assessments/{fu}/finish", headers=api).status_code == 200
    for path in (f"/clinic/a/{aid}", f"/clinic/a/{fu}", f"/clinic/a/{fu}/report", "/clinic"):
        r = doc.get(path)
        assert r.status_code == 200, path
        assert_escaped(r.text, path, shown=None if path.endswith("/report") else PAYLOAD)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_values_echoed_in_forms_and_error_messages_are_escaped(site: Site, xss_clinic: dict[str, Any],
                                                              lang: str) -> None:
    doc: Browser = xss_clinic["doc"]
    patient = site.browser()
    patient.get(f"/lang/{lang}")
    aid = patient.start()
    q = quote(PAYLOAD, safe="")
    checks: list[tuple[str, Any, str | None]] = [
        # (what, response, the text the page must show escaped, if any)
        ("start ?clinic=", patient.get(f"/?clinic={q}"), PAYLOAD[:32]),
        ("start form error", patient.submit("/start", {"age": PAYLOAD, "sex": PAYLOAD, "intake_code": PAYLOAD}),
         PAYLOAD),
        ("login ?next=", patient.get(f"/clinic/login?next=/{q}"), None),
        ("login form error", patient.submit("/clinic/login", {"email": PAYLOAD, "password": "x" * 12,
                                                              "next": "/" + PAYLOAD}), PAYLOAD),
        ("language", patient.get(f"/lang/{quote(NO_SLASH, safe='')}"), NO_SLASH),
        ("change an unanswered finding", patient.get(f"/a/{aid}/change/{quote(NO_SLASH, safe='')}"), NO_SLASH),
        ("answer an unknown finding", patient.submit(f"/a/{aid}/answer", {"finding": PAYLOAD, "value": "present"}),
         PAYLOAD),
        ("answer a bad value", patient.submit(f"/a/{aid}/answer", {"finding": "fever_unwell", "value": PAYLOAD[:16]}),
         None),
        ("body map", patient.submit(f"/a/{aid}/where", {"region": [PAYLOAD], "pain_now": PAYLOAD}), None),
        ("unknown assessment", patient.get(f"/a/{quote(NO_SLASH, safe='')}"), None),
        ("clinic condition filter", doc.get(f"/clinic?condition={q}"), PAYLOAD),
        ("clinic level filter", doc.get(f"/clinic?level={q}&status={q}&date_from={q}"), None),
        ("clinic list query in the language links", doc.get(f"/clinic?page=1&x={q}"), None),
        ("exam finding key", doc.submit(f"/clinic/a/{xss_clinic['aid']}/exam", {f"f_{PAYLOAD}": "present"}), PAYLOAD),
        ("exam finding value", doc.submit(f"/clinic/a/{xss_clinic['aid']}/exam", {"f_slr_positive": PAYLOAD}), None),
        ("claim", doc.submit("/clinic/claim", {"share_code": PAYLOAD[:32]}), None),
        ("share link", doc.get(f"/share/{quote(NO_SLASH, safe='')}"), None),
        ("clinic detail of an unknown id", doc.get(f"/clinic/a/{quote(NO_SLASH, safe='')}"), None),
    ]
    for what, r, shown in checks:
        assert r.status_code < 500, (what, r.status_code)
        if r.status_code in (301, 302, 303, 307):
            continue
        assert r.headers["content-type"].startswith("text/html"), (what, r.headers["content-type"])
        assert_escaped(r.text, what, shown=shown)
