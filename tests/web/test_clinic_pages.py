"""Clinician pages on the real app: login, tenancy, claim by code, filters, detail, examination findings,
export and logout."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from markupsafe import escape

from painpath.engine import default_compiled
from painpath.storage.models import AssessmentRecord
from painpath.web.security import SESSION_COOKIE
from tests.web.conftest import PASSWORD, Browser, form, set_cookie_headers

BACK = {"low_back_pain": "present", "pain_below_knee": "absent"}  # -> self care
# -> urgent (a swollen calf with a clot risk: a warning floor; unasked findings are unknown, so the
# level must follow from the answers given)
CALF = {"calf_pain": "present", "pain_below_knee": "present", "calf_swelling_one_leg": "present",
        "recent_immobility_surgery_travel": "present"}


def api_assessment(web: Any, answers: dict[str, str] | None = None, *, intake_code: str | None = None,
                   finish: bool = True) -> dict[str, Any]:
    """A patient's assessment made through the API (quicker than the pages); returns id, token, share code."""
    c = web.browser.client
    body: dict[str, Any] = {"age": 45, "sex": "male"}
    if intake_code:
        body["intake_code"] = intake_code
    r = c.post("/v1/assessments", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    aid, h = out["assessment"]["id"], {"Authorization": f"Bearer {out['patient_token']}"}
    r = c.put(f"/v1/assessments/{aid}/answers", headers=h, json={"answers": answers or BACK})
    assert r.status_code == 200, r.text
    if finish:
        r = c.post(f"/v1/assessments/{aid}/finish", headers=h)
        assert r.status_code == 200, r.text
    return {"id": aid, "token": out["patient_token"], "share_code": out["share_code"], "headers": h}


def record(web: Any, aid: str) -> AssessmentRecord:
    with web.database.read() as s:
        rec = s.get(AssessmentRecord, aid)
        assert rec is not None
        s.expunge(rec)
        return rec


def logged_in(web: Any, clinic: dict[str, Any], *, base_url: str = "http://testserver") -> Browser:
    b = web.new_browser(base_url=base_url)
    r = b.login(str(clinic["clinician_email"]))
    assert r.status_code == 303 and r.headers["location"] == "/clinic", r.text[:300]
    return b


def listed_ids(html: str) -> set[str]:
    return set(re.findall(r'href="/clinic/a/([0-9a-f-]{36})"', html))


# --- login ------------------------------------------------------------------------------------------------


def test_clinic_pages_need_a_login(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    for path in ("/clinic", "/clinic?level=urgent", "/clinic/export.csv", "/share/ABCD-EFGH-JKMN",
                 "/clinic/a/00000000-0000-0000-0000-000000000000"):
        r = b.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/clinic/login?next=/"), (path, r.headers["location"])
    r = b.get("/clinic", follow_redirects=True)
    assert r.url.path == "/clinic/login" and form(r.text, "/clinic/login").hidden["next"] == "/clinic"
    # a patient's token is not a clinician session
    aid = b.start()
    assert aid
    b.cookies.set(SESSION_COOKIE, b.cookies.get("pp_patient") or "x")
    assert b.get("/clinic", follow_redirects=False).status_code == 303


def test_wrong_password_is_a_401_page(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    b = web.browser
    r = b.login(str(clinic["clinician_email"]), password="not the password at all")
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")
    assert "The email or password is wrong." in r.text
    assert f'value="{clinic["clinician_email"]}"' in r.text  # the email is kept
    assert not set_cookie_headers(r, SESSION_COOKIE)
    r = b.login("nobody@example.org")
    assert r.status_code == 401
    # without the CSRF token the login form is refused
    r = b.post("/clinic/login", data={"email": clinic["clinician_email"], "password": PASSWORD},
               follow_redirects=False)
    assert r.status_code == 403


def test_login_sets_a_session_cookie_and_follows_next(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    b = web.new_browser()
    r = b.login(str(clinic["clinician_email"]), next="/clinic?status=finished")
    assert r.status_code == 303 and r.headers["location"] == "/clinic?status=finished"
    (line,) = set_cookie_headers(r, SESSION_COOKIE)
    low = line.lower()
    assert "httponly" in low and "samesite=lax" in low and "path=/" in low
    assert "secure" not in low.replace("samesite", "")
    r = b.get("/clinic")
    assert r.status_code == 200 and str(clinic["slug"]) in r.text
    assert 'action="/clinic/logout"' in r.text
    # an off-site next is ignored
    b2 = web.new_browser()
    r = b2.login(str(clinic["clinician_email"]), next="//evil.example/")
    assert r.headers["location"] == "/clinic"
    # over https the session cookie is Secure, and a __Host- cookie (no Domain, Path=/)
    b3 = web.new_browser(base_url="https://testserver")
    r = b3.login(str(clinic["clinician_email"]))
    assert not set_cookie_headers(r, SESSION_COOKIE)
    (line,) = set_cookie_headers(r, "__Host-" + SESSION_COOKIE)
    assert "secure" in line.lower().replace("samesite", "") and "path=/" in line.lower()
    assert "domain" not in line.lower()
    assert b3.get("/clinic").status_code == 200


# --- tenancy ------------------------------------------------------------------------------------------------


def test_a_clinic_sees_only_its_own_assessments(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    a, b = make_clinic(), make_clinic()
    mine = api_assessment(web, BACK, intake_code=str(a["intake_code"]))
    theirs = api_assessment(web, CALF, intake_code=str(b["intake_code"]))
    loose = api_assessment(web, BACK)  # shared with nobody yet
    ca, cb = logged_in(web, a), logged_in(web, b)
    r = ca.get("/clinic")
    assert r.status_code == 200
    assert listed_ids(r.text) == {mine["id"]}
    assert listed_ids(cb.get("/clinic").text) == {theirs["id"]}
    for path in ("", "/report", "/report.pdf"):
        assert ca.get(f"/clinic/a/{mine['id']}{path}").status_code == 200, path
        r = ca.get(f"/clinic/a/{theirs['id']}{path}")
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html") and "Not found" in r.text
        assert ca.get(f"/clinic/a/{loose['id']}{path}").status_code == 404, path
    # nor can clinic A add findings to clinic B's assessment
    r = ca.submit(f"/clinic/a/{theirs['id']}/exam", {"f_slr_positive": "present"})
    assert r.status_code == 404
    assert record(web, theirs["id"]).mode == "self"
    # the patient pages of an assessment need the patient's own browser, not a clinic login
    assert ca.get(f"/a/{mine['id']}/result").status_code == 404


# --- claim by code ------------------------------------------------------------------------------------------


def test_claim_by_code_with_the_form(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    shared = api_assessment(web, BACK)
    b = logged_in(web, clinic)
    assert shared["id"] not in listed_ids(b.get("/clinic").text)
    f = form(b.get("/clinic").text, "/clinic/claim")
    r = b.submit(f.action, {**f.hidden, "share_code": shared["share_code"].lower().replace("-", " ")})
    assert r.status_code == 303 and r.headers["location"] == f"/clinic/a/{shared['id']}"
    assert shared["id"] in listed_ids(b.get("/clinic").text)
    assert b.get(r.headers["location"]).status_code == 200
    # claiming it again is harmless; an unknown code is a 404 page
    assert b.submit(f.action, {"share_code": shared["share_code"]}).status_code == 303
    r = b.submit(f.action, {"share_code": "AAAA-AAAA-AAAA"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "no assessment with this code can be received by your clinic" in r.text


def test_claim_by_share_link_logs_in_first(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    # the patient finds the share link on the result page
    patient = web.browser
    aid = patient.finished()
    page = patient.get(f"/a/{aid}/result").text
    code = re.search(r'class="code"[^>]*>([A-Z0-9-]+)<', page)
    assert code
    link = f"/share/{code.group(1)}"
    assert f"http://testserver{link}" in patient.get(f"/a/{aid}/report").text  # the report prints the link
    b = web.new_browser()
    r = b.get(link, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/clinic/login?next={link}"
    r = b.login(str(clinic["clinician_email"]), next=link)
    assert r.status_code == 303 and r.headers["location"] == link
    # the link shows a confirmation (a GET changes nothing); receiving it is a POST of that form
    r = b.get(link, follow_redirects=False)
    assert r.status_code == 200 and aid not in listed_ids(b.get("/clinic").text)
    f = form(r.text, link)
    assert f.method == "post"
    r = b.submit(f.action, f.hidden)
    assert r.status_code == 303 and r.headers["location"] == f"/clinic/a/{aid}"
    assert aid in listed_ids(b.get("/clinic").text)


def test_an_assessment_claimed_by_another_clinic_is_the_same_404_page_as_an_unknown_code(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    a, b = make_clinic(), make_clinic()
    shared = api_assessment(web, BACK)
    ca, cb = logged_in(web, a), logged_in(web, b)
    assert ca.submit("/clinic/claim", {"share_code": shared["share_code"]}).status_code == 303
    r = cb.submit("/clinic/claim", {"share_code": shared["share_code"]})
    unknown = cb.submit("/clinic/claim", {"share_code": "ABCD-EFGH-JKMN"})
    assert r.status_code == unknown.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "can be received by your clinic" in r.text and "another clinic" not in r.text
    r = cb.submit(f"/share/{shared['share_code']}")
    assert r.status_code == 404
    assert cb.get(f"/clinic/a/{shared['id']}").status_code == 404
    # an intake-code assessment is the intake clinic's from the start
    own = api_assessment(web, BACK, intake_code=str(a["intake_code"]))
    assert cb.submit("/clinic/claim", {"share_code": own["share_code"]}).status_code == 404


# --- the list and its filters -------------------------------------------------------------------------------


def test_filters(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    code = str(clinic["intake_code"])
    back = api_assessment(web, BACK, intake_code=code)
    calf = api_assessment(web, CALF, intake_code=code)
    open_ = api_assessment(web, BACK, intake_code=code, finish=False)
    recs = {k: record(web, v["id"]) for k, v in (("back", back), ("calf", calf), ("open", open_))}
    assert recs["back"].triage_level != recs["calf"].triage_level
    assert recs["back"].top_condition and recs["calf"].top_condition != recs["back"].top_condition
    b = logged_in(web, clinic)

    def ids(query: str) -> set[str]:
        r = b.get(f"/clinic?{query}")
        assert r.status_code == 200, (query, r.text[:300])
        return listed_ids(r.text)

    everything = {back["id"], calf["id"], open_["id"]}
    assert ids("") == everything
    assert ids(f"level={recs['calf'].triage_level}") == {calf["id"]}
    assert ids(f"level={recs['back'].triage_level}") == {back["id"]}
    assert ids(f"condition={recs['back'].top_condition}") == {back["id"]}
    assert ids("status=in_progress") == {open_["id"]}
    assert ids("status=finished") == {back["id"], calf["id"]}
    assert ids("level=emergency") == set()
    today = dt.datetime.now(dt.UTC).date()
    day = dt.timedelta(days=1)
    assert ids(f"date_from={today - day}&date_to={today + day}") == everything
    assert ids(f"date_from={today + day}") == set()
    assert ids(f"date_to={today - day}") == set()
    assert ids(f"status=finished&level={recs['calf'].triage_level}&date_from={today - day}") == {calf["id"]}
    r = b.get(f"/clinic?level={recs['calf'].triage_level}&status=finished")
    assert re.search(rf'<option value="{recs["calf"].triage_level}" selected>', r.text)  # the filter is shown
    assert b.get("/clinic?page=2").status_code == 200
    # the extreme dates are valid dates, not server errors
    assert ids("date_from=0001-01-01&date_to=9999-12-31") == everything


@pytest.mark.parametrize("query", [
    "level=bogus", "status=deleted", "condition=no_such_condition", "date_from=yesterday", "date_to=2026-13-45",
    "date_from=2026-02-30", "page=abc", "date_from=0000-01-01", "level=%00",
])
def test_bad_filter_values_are_a_4xx_page(web, make_clinic, query: str) -> None:  # type: ignore[no-untyped-def]
    b = logged_in(web, make_clinic())
    r = b.get(f"/clinic?{query}")
    assert 400 <= r.status_code < 500, (query, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    assert "Please check what you sent" in r.text


# --- detail and examination findings -------------------------------------------------------------------------


def test_detail_shows_every_answer(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    patient = web.browser
    aid = patient.finished(intake_code=str(clinic["intake_code"]))
    b = logged_in(web, clinic)
    r = b.get(f"/clinic/a/{aid}")
    assert r.status_code == 200
    rec = record(web, aid)
    kb = default_compiled().kb
    answers = rec.state["answers"]
    assert len(answers) > 10
    for a in answers:  # in the clinician's words ("pain in the calf"), not the patient's question
        assert str(escape(kb.findings.findings[a["finding"]].text)) in r.text, a["finding"]
    rows = re.search(r'<h2 id="ans-h">.*?<tbody>(.*?)</tbody>', r.text, re.S)
    assert rows and rows.group(1).count("<tr>") == len(answers)
    assert rec.kb_version in r.text and "mode: self" in r.text
    assert "Earlier results" not in r.text


def test_exam_findings_recompute_the_result_and_keep_the_history(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    aid = api_assessment(web, {"low_back_pain": "present", "posterior_thigh_pain": "present",
                               "pain_below_knee": "present"}, intake_code=str(clinic["intake_code"]))["id"]
    before = record(web, aid)
    b = logged_in(web, clinic)
    r = b.get(f"/clinic/a/{aid}")
    f = form(r.text, f"/clinic/a/{aid}/answers")
    exam_fields = [k for k in f.fields if k.startswith("f_")]
    assert "f_slr_positive" in exam_fields and "f_reflex_reduced" in exam_fields
    assert f.checked["f_slr_positive"] == ""  # "Not tested" is the default
    r = b.submit(f.action, {**f.hidden, "f_slr_positive": "present", "f_dermatomal_sensory_loss": "present",
                            "f_reflex_reduced": "", "f_myotomal_weakness": "absent"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/clinic/a/{aid}?changed=slr_positive,dermatomal_sensory_loss,myotomal_weakness#result"
    after = record(web, aid)
    assert after.mode == "clinician" and after.revision > before.revision
    assert after.result != before.result
    assert len(after.history) == 1 and after.history[0]["mode"] == "self"
    answers = {a["finding"]: a["value"] for a in after.state["answers"]}
    assert answers["slr_positive"] == "present" and answers["myotomal_weakness"] == "absent"
    assert "reflex_reduced" not in answers  # "Not tested" adds nothing
    r = b.get(r.headers["location"].split("#")[0])
    assert "Earlier results" in r.text and "mode: clinician" in r.text
    saved = re.search(r'<div class="callout saved" role="status">(.*?)</div>', r.text, re.S)
    assert saved and "Saved." in saved.group(1)
    kb = default_compiled().kb
    for key, word in (("slr_positive", "yes"), ("myotomal_weakness", "no")):
        assert f"{escape(kb.findings.findings[key].text)}: <strong>{word}</strong>" in saved.group(1)
    assert ("The result did not change." in saved.group(1)) == (
        (before.triage_level, before.top_condition) == (after.triage_level, after.top_condition))
    f = form(r.text, f"/clinic/a/{aid}/answers")
    assert f.checked["f_slr_positive"] == "present"  # the saved findings are shown
    # a second round keeps both earlier results
    assert b.submit(f.action, {"f_crossed_slr_positive": "present"}).status_code == 303
    assert len(record(web, aid).history) == 2
    # nothing chosen: nothing changes
    r = b.submit(f.action, {"f_slr_positive": ""})
    assert r.status_code == 303 and len(record(web, aid).history) == 2


def test_exam_findings_only_for_finished_assessments_and_known_findings(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    code = str(clinic["intake_code"])
    open_ = api_assessment(web, BACK, intake_code=code, finish=False)
    done = api_assessment(web, BACK, intake_code=code)
    b = logged_in(web, clinic)
    r = b.get(f"/clinic/a/{open_['id']}")
    assert r.status_code == 200 and "has not finished this interview yet" in r.text
    assert f'action="/clinic/a/{open_["id"]}/answers"' not in r.text
    r = b.submit(f"/clinic/a/{open_['id']}/exam", {"f_slr_positive": "present"})
    assert r.status_code == 400 and "has not finished" in r.text
    rec = record(web, open_["id"])
    assert rec.mode == "self" and "slr_positive" not in {a["finding"] for a in rec.state["answers"]}
    for data in ({"f_not_a_finding": "present"}, {"f_slr_positive": "maybe"}):
        r = b.submit(f"/clinic/a/{done['id']}/exam", data)
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html"), data
    assert record(web, done["id"]).mode == "self"
    assert b.post(f"/clinic/a/{done['id']}/exam", data={"f_slr_positive": "present"}).status_code == 403  # no csrf
    assert b.get(f"/clinic/a/{open_['id']}/report").status_code == 404  # no report before the end


# --- export and logout ----------------------------------------------------------------------------------------


def test_export_csv_and_json(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    a, other = make_clinic(), make_clinic()
    mine = [api_assessment(web, BACK, intake_code=str(a["intake_code"]))["id"],
            api_assessment(web, CALF, intake_code=str(a["intake_code"]))["id"]]
    theirs = api_assessment(web, BACK, intake_code=str(other["intake_code"]))["id"]
    b = logged_in(web, a)
    page = b.get("/clinic").text
    assert 'href="/clinic/export.csv"' in page and 'href="/clinic/export.json"' in page
    r = b.get("/clinic/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["id"] for row in rows} == set(mine)
    assert theirs not in r.text
    r = b.get("/clinic/export.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    data = json.loads(r.text)["assessments"]
    assert {d["id"] for d in data} == set(mine)
    assert all(d["result"] for d in data)
    assert b.get("/clinic/export.xml").status_code == 404


def test_logout_revokes_the_session(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    b = logged_in(web, clinic)
    old = b.cookies.get(SESSION_COOKIE)
    assert old
    r = b.get("/clinic")
    f = form(r.text, "/clinic/logout")
    assert b.post("/clinic/logout", data={}, follow_redirects=False).status_code == 403  # csrf needed
    r = b.submit(f.action, f.hidden)
    assert r.status_code == 303 and r.headers["location"] == "/clinic/login"
    (line,) = set_cookie_headers(r, SESSION_COOKIE)
    assert "max-age=0" in line.lower() or "expires=thu, 01 jan 1970" in line.lower()
    assert b.get("/clinic", follow_redirects=False).status_code == 303
    # the old cookie value no longer works, in this browser or any other
    thief = web.new_browser()
    thief.cookies.set(SESSION_COOKIE, old)
    r = thief.get("/clinic", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/clinic/login")
    assert thief.get("/clinic/export.csv", follow_redirects=False).status_code == 303
    # nor as an API bearer token
    assert web.browser.get("/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    # logging out again without a session is harmless
    assert b.submit("/clinic/logout").status_code == 303


# --- users (clinic administrators) --------------------------------------------------------------------------


def test_an_administrator_manages_users_on_the_users_page(web, make_clinic) -> None:  # type: ignore[no-untyped-def]
    clinic = make_clinic()
    doc = logged_in(web, clinic)
    assert doc.get("/clinic/users").status_code == 403  # a clinician is not an administrator
    assert 'href="/clinic/users"' not in doc.get("/clinic").text
    admin = web.new_browser()
    assert admin.login(str(clinic["admin_email"])).status_code == 303
    assert 'href="/clinic/users"' in admin.get("/clinic").text
    page = admin.get("/clinic/users")
    assert page.status_code == 200 and str(clinic["clinician_email"]) in page.text
    uid = re.search(r'action="/clinic/users/(\d+)"[^<]*<input[^>]*>\s*<button[^>]*value="deactivate"', page.text)
    assert uid, page.text
    url = f"/clinic/users/{uid.group(1)}"
    # reset: the code is shown once; the clinician's session ends; the code sets a new password once
    r = admin.submit(url, {"action": "reset"})
    assert r.status_code == 200
    code = re.search(r'<code class="code">(ppr_[A-Z0-9-]+)</code>', r.text)
    assert code, r.text
    assert doc.get("/clinic", follow_redirects=False).status_code == 303  # logged out
    assert "ppr_" not in admin.get("/clinic/users").text
    patient = web.new_browser()
    f = form(patient.get("/clinic/reset").text, "/clinic/reset")
    r = patient.submit(f.action, {**f.hidden, "code": code.group(1).lower(), "password": "short"})
    assert r.status_code == 422
    r = patient.submit(f.action, {**f.hidden, "code": code.group(1), "password": "a fresh passphrase"})
    assert r.status_code == 303 and r.headers["location"] == "/clinic/login"
    r = patient.submit(f.action, {**f.hidden, "code": code.group(1), "password": "a fresh passphrase"})
    assert r.status_code == 404 and "unknown, used or expired" in r.text
    assert web.new_browser().login(str(clinic["clinician_email"]), "a fresh passphrase").status_code == 303
    # deactivate: no login; reactivate
    assert admin.submit(url, {"action": "deactivate"}).status_code == 200
    assert web.new_browser().login(str(clinic["clinician_email"]), "a fresh passphrase").status_code == 401
    assert "Reactivate" in admin.get("/clinic/users").text
    assert admin.submit(url, {"action": "activate"}).status_code == 200
    assert web.new_browser().login(str(clinic["clinician_email"]), "a fresh passphrase").status_code == 303
    assert admin.submit(url, {"action": "explode"}).status_code == 400
    assert admin.post(url, data={"action": "deactivate"}, follow_redirects=False).status_code == 403  # no CSRF
    # an id beyond the database's integer range is a 422 page, not a database error
    assert admin.submit("/clinic/users/99999999999999999999", {"action": "activate"}).status_code == 422
    assert admin.submit("/clinic/users/123456789", {"action": "activate"}).status_code == 404
