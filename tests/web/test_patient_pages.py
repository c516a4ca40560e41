"""Patient pages on the real app: start, body map, the interview, back/change, emergency, result, report, follow-up."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from painpath.engine import default_compiled
from painpath.storage.models import AssessmentRecord
from painpath.web.render import LEVEL_LABEL
from painpath.web.security import CSRF_COOKIE, PATIENT_COOKIE
from tests.web.conftest import form, forms, set_cookie_headers

LEVEL_RE = re.compile(r'<p class="level-label">([^<]+)</p>')


def level_label(html: str) -> str:
    m = LEVEL_RE.search(html)
    assert m, "no triage level on the page"
    return m.group(1)


def record(web, aid: str) -> AssessmentRecord:  # type: ignore[no-untyped-def]
    with web.database.read() as s:
        rec = s.get(AssessmentRecord, aid)
        assert rec is not None
        s.expunge(rec)
        return rec


def question_finding(html: str, aid: str) -> str:
    return form(html, f"/a/{aid}/answer").hidden["finding"]


# --- start ------------------------------------------------------------------------------------------------


def test_start_page_has_a_csrf_form(web) -> None:  # type: ignore[no-untyped-def]
    r = web.browser.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    f = form(r.text, "/start")
    assert f.method == "post" and f.hidden["csrf"] == web.browser.cookies.get(CSRF_COOKIE)
    assert {"age", "sex", "intake_code"} <= set(f.fields)
    (csrf_cookie,) = set_cookie_headers(r, CSRF_COOKIE)
    assert "httponly" in csrf_cookie.lower() and "samesite=lax" in csrf_cookie.lower()


def test_start_with_a_bad_age_shows_the_error_and_keeps_the_values(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    for bad in ("abc", "150", "-1", ""):
        r = b.submit("/start", {"age": bad, "sex": "female", "intake_code": ""})
        assert r.status_code == 422, bad
        assert r.headers["content-type"].startswith("text/html")
        assert "Please enter your age in whole years, from 0 to 120." in r.text
        assert 'aria-invalid="true"' in r.text
        assert f'value="{bad}"' in r.text  # the age is kept
        assert re.search(r'value="female"\s+checked', r.text)  # and the sex
        assert PATIENT_COOKIE not in r.headers.get("set-cookie", "")
    r = b.submit("/start", {"age": "40", "sex": ""})
    assert r.status_code == 422 and "Please choose one." in r.text and 'value="40"' in r.text


def test_start_with_an_unknown_clinic_code_is_a_form_error(web) -> None:  # type: ignore[no-untyped-def]
    r = web.browser.submit("/start", {"age": "40", "sex": "male", "intake_code": "NOPE-NOPE"})
    assert r.status_code == 422 and "We could not find a clinic with this code" in r.text
    assert 'value="NOPE-NOPE"' in r.text


def test_start_needs_the_csrf_token(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    b.csrf()  # the browser has its cookie
    r = b.post("/start", data={"age": "40", "sex": "male"}, follow_redirects=False)
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "Not allowed" in r.text and "csrf" in r.text
    r = b.post("/start", data={"age": "40", "sex": "male", "csrf": "x" * 32}, follow_redirects=False)
    assert r.status_code == 403 and "csrf" in r.text
    # a token without the cookie (another site posting the form) is refused too
    other = web.new_browser()
    r = other.post("/start", data={"age": "40", "sex": "male", "csrf": b.csrf()}, follow_redirects=False)
    assert r.status_code == 403
    # a cross-site Origin is refused even with a matching token
    r = b.post("/start", data={"age": "40", "sex": "male", "csrf": b.csrf()},
               headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403 and "origin" in r.text


def test_patient_cookie_flags_over_http(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    r = b.submit("/start", {"age": "40", "sex": "male"})
    assert r.status_code == 303
    (line,) = set_cookie_headers(r, PATIENT_COOKIE)
    low = line.lower()
    assert "httponly" in low and "samesite=lax" in low and "path=/" in low
    assert "secure" not in low.replace("samesite", "")


def test_cookies_are_secure_over_https(web) -> None:  # type: ignore[no-untyped-def]
    b = web.new_browser(base_url="https://testserver")
    r = b.get("/")
    (csrf_line,) = set_cookie_headers(r, "__Host-" + CSRF_COOKIE)  # __Host-: Secure, Path=/, no Domain
    assert "secure" in csrf_line.lower().replace("samesite", "") and "domain" not in csrf_line.lower()
    r = b.submit("/start", {"age": "40", "sex": "male"})
    assert r.status_code == 303
    (line,) = set_cookie_headers(r, "__Host-" + PATIENT_COOKIE)
    low = line.lower()
    assert "secure" in low.replace("samesite", "") and "httponly" in low and "samesite=lax" in low


# --- body map and interview ------------------------------------------------------------------------------


def test_body_map_without_a_region_is_refused_with_a_message(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start()
    r = b.get(f"/a/{aid}")
    f = form(r.text, f"/a/{aid}/where")
    assert "region" in f.fields and len(f.fields["region"]) >= 9
    r = b.submit(f.action, {"both_legs": "no"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Choose at least one place that hurts." in r.text
    assert 'name="region"' in r.text  # the body map again
    r = b.submit(f.action, {"region": ["not_a_region"]})
    assert r.status_code == 422
    r = b.submit(f.action, {"region": ["calf_pain"], "pain_now": "eleven"})
    assert 400 <= r.status_code < 500 and "pain_now" in r.text


def test_a_whole_interview_by_its_forms(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start(age=38, sex="female")
    r = b.where(aid, ["low_back_pain"], pain_now="4")
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}"
    r = b.get(f"/a/{aid}")
    assert 'aria-current="step"' in r.text  # progress
    asked = []
    for _ in range(120):
        if r.url.path.endswith("/result"):
            break
        f = form(r.text, f"/a/{aid}/answer")
        asked.append(f.hidden["finding"])
        assert [v for _n, v in f.buttons] == ["present", "absent", "unknown"]
        r = b.submit(f.action, {**f.hidden, "value": "absent"}, follow=True)
        assert r.status_code == 200
    assert r.url.path == f"/a/{aid}/result", "the interview did not end"
    assert len(asked) == len(set(asked)) > 3
    assert level_label(r.text) in LEVEL_LABEL.values()
    assert "Possible causes" in r.text and "What to do" in r.text
    assert re.search(r'class="code"[^>]*>[A-Z0-9]{4}-[A-Z0-9]{4}', r.text)  # the share code
    assert "<svg" in r.text  # the QR code
    # exercise pictures point at existing diagrams
    for src in re.findall(r'<img src="(/static/exercises/[^"]+)"', r.text):
        assert b.get(src).status_code == 200
    # a finished interview goes straight to the result; answers are read-only through the interview page
    r = b.get(f"/a/{aid}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}/result"
    rec = record(web, aid)
    assert rec.status == "finished" and rec.outcome and rec.outcome["pain"] == 4


def test_back_withdraws_the_last_answer(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start()
    b.where(aid, ["low_back_pain"])
    r = b.get(f"/a/{aid}")
    first = question_finding(r.text, aid)
    r = b.submit(f"/a/{aid}/answer", {**form(r.text, f"/a/{aid}/answer").hidden, "value": "absent"}, follow=True)
    second = question_finding(r.text, aid)
    assert second != first
    assert first in {a["finding"] for a in record(web, aid).state["answers"]}
    back = form(r.text, f"/a/{aid}/back")
    r = b.submit(back.action, back.hidden, follow=True)
    assert r.status_code == 200 and question_finding(r.text, aid) == first
    assert first not in {a["finding"] for a in record(web, aid).state["answers"]}
    # back from the first question withdraws the body map
    back = form(r.text, f"/a/{aid}/back")
    r = b.submit(back.action, back.hidden, follow=True)
    assert 'name="region"' in r.text
    assert record(web, aid).state["answers"] == []


def test_change_an_answer_from_the_answers_page(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start()
    b.where(aid, ["low_back_pain"])
    r = b.get(f"/a/{aid}")
    first = question_finding(r.text, aid)
    b.submit(f"/a/{aid}/answer", {**form(r.text, f"/a/{aid}/answer").hidden, "value": "absent"})
    r = b.get(f"/a/{aid}/answers")
    assert r.status_code == 200
    link = f"/a/{aid}/change/{first}"
    assert f'href="{link}"' in r.text
    assert "/change/low_back_pain" not in r.text  # body-map answers change through the body map
    r = b.get(link)
    assert "Your answer was:" in r.text and "<strong>No</strong>" in r.text
    f = form(r.text, f"/a/{aid}/answer")
    assert f.hidden["finding"] == first and f.hidden["back_to"] == "answers"
    r = b.submit(f.action, {**f.hidden, "value": "present"})
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}/answers"
    answers = {a["finding"]: a["value"] for a in record(web, aid).state["answers"]}
    assert answers[first] == "present"
    assert b.get(f"/a/{aid}/change/not_answered_yet").status_code == 404
    # the body map can be redone from the answers page; the other answers stay
    r = b.get(f"/a/{aid}/answers")
    redo = form(r.text, f"/a/{aid}/redo-where")
    r = b.submit(redo.action, redo.hidden, follow=True)
    assert 'name="region"' in r.text
    answers = {a["finding"]: a["value"] for a in record(web, aid).state["answers"]}
    assert answers == {first: "present"}


def test_changing_an_answer_after_the_end_recomputes_the_result(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.finished(regions=["low_back_pain"])
    before = record(web, aid)
    r = b.get(f"/a/{aid}/answers")
    assert "redo-where" not in r.text  # no body map once finished
    link = re.search(rf'href="(/a/{aid}/change/[a-z0-9_]+)"', r.text)
    assert link
    f = form(b.get(link.group(1)).text, f"/a/{aid}/answer")
    assert f.hidden["back_to"] == ""
    r = b.submit(f.action, {**f.hidden, "value": "present"})
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}/result"
    after = record(web, aid)
    assert after.revision > before.revision and after.history
    assert b.get(f"/a/{aid}/result").status_code == 200


def test_an_emergency_answer_goes_to_the_emergency_page(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start(age=50)
    b.where(aid, ["low_back_pain", "posterior_thigh_pain"], both_legs="yes")
    r = b.answer_until_done(aid, {"bladder_problem_new": "present"})
    assert r.url.path == f"/a/{aid}/emergency"
    assert "Get medical help now" in r.text and level_label(r.text) == LEVEL_LABEL["emergency"]
    assert "bladder_problem_new" in {a["finding"] for a in record(web, aid).state["answers"]}
    r = b.get(f"/a/{aid}/result")
    assert r.status_code == 200 and level_label(r.text) == LEVEL_LABEL["emergency"]
    assert "<h3>Exercises</h3>" not in r.text  # no exercises in an emergency


def test_the_emergency_page_of_an_unfinished_interview_goes_back_to_it(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start()
    r = b.get(f"/a/{aid}/emergency", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}"
    assert b.get(f"/a/{aid}/result").status_code == 404  # no result yet


def test_another_browser_cannot_open_the_assessment(web) -> None:  # type: ignore[no-untyped-def]
    aid = web.browser.finished()
    other = web.new_browser()
    for path in ("", "/result", "/report", "/report.pdf", "/answers", "/followup", "/emergency"):
        r = other.get(f"/a/{aid}{path}", follow_redirects=False)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html"), path
        assert "not open in this browser" in r.text
    # nor answer, go back or start a follow-up
    for path, data in (("/answer", {"finding": "fever", "value": "present"}), ("/back", {}),
                       ("/followup", {"pain": "3"})):
        r = other.submit(f"/a/{aid}{path}", data)
        assert r.status_code == 404, path
    # a made-up cookie does not help either
    other.cookies.set(PATIENT_COOKIE, "ppp_forged.ppp_another")
    assert other.get(f"/a/{aid}/result").status_code == 404
    assert web.browser.get(f"/a/{aid}/result").status_code == 200


def test_the_report_shows_the_versions_and_the_pdf_has_the_triage_label(web) -> None:  # type: ignore[no-untyped-def]
    from pypdf import PdfReader

    b = web.browser
    aid = b.finished()
    rec = record(web, aid)
    assert rec.kb_version == default_compiled().kb.version
    r = b.get(f"/a/{aid}/report")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert rec.kb_version in r.text and rec.engine_version in r.text
    label = LEVEL_LABEL[rec.triage_level]
    assert label in r.text
    assert "Share code" in r.text
    r = b.get(f"/a/{aid}/report.pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert "attachment" in r.headers["content-disposition"]
    text = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(r.content)).pages)
    text = re.sub(r"\s+", " ", text)
    assert label in text, text[:500]


def test_follow_up_creates_a_linked_assessment(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.finished()
    r = b.get(f"/a/{aid}/followup")
    f = form(r.text, f"/a/{aid}/followup")
    assert {"pain", "activity1", "score1"} <= set(f.fields)
    # a bad pain value: the form again, with a message and the values kept
    r = b.submit(f.action, {"pain": "lots", "activity1": "Walking to work", "score1": "4"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Please give your pain from 0 to 10" in r.text and 'value="Walking to work"' in r.text
    assert b.submit(f.action, {"pain": "11"}).status_code == 422
    assert b.submit(f.action, {"pain": "3", "activity1": "Stairs", "score1": "twelve"}).status_code == 422
    with web.database.read() as s:
        assert not list(s.scalars(select(AssessmentRecord).where(AssessmentRecord.followup_of == aid)))
    r = b.submit(f.action, {"pain": "3", "activity1": "Walking to work", "score1": "6"})
    assert r.status_code == 303
    m = re.fullmatch(r"/a/([0-9a-f-]{36})", r.headers["location"])
    assert m and m.group(1) != aid
    new = record(web, m.group(1))
    assert new.followup_of == aid and new.status == "in_progress"
    assert new.outcome == {"pain": 3.0, "psfs": [{"activity": "Walking to work", "score": 6.0}]}
    # the browser now holds both assessments
    assert b.get(f"/a/{new.id}").status_code == 200
    assert b.get(f"/a/{aid}/result").status_code == 200
    (line,) = set_cookie_headers(r, PATIENT_COOKIE)
    assert line.count("ppp_") == 2


def test_language_switch_keeps_the_page(web) -> None:  # type: ignore[no-untyped-def]
    r = web.browser.get("/lang/es?next=/clinic/login", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/clinic/login"
    r = web.browser.get("/lang/es?next=//evil.example/", follow_redirects=False)
    assert r.headers["location"] == "/"
    assert web.browser.get("/lang/xx").status_code == 404


def test_every_page_form_posts_with_a_csrf_token(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.finished()
    for path in ("/", f"/a/{aid}/result", f"/a/{aid}/answers", f"/a/{aid}/followup"):
        for f in forms(b.get(path).text):
            if f.method == "post":
                assert f.hidden.get("csrf") == b.csrf(), (path, f.action)
