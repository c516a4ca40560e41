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


def screen_of(r) -> str:  # type: ignore[no-untyped-def]
    """The screen a page shows (its URL /a/{id}/s/{screen})."""
    m = re.search(r"/a/[0-9a-f-]{36}/s/([a-z0-9_]+)$", r.url.path)
    assert m, r.url
    return m.group(1)


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
    r = b.get(f"/a/{aid}", follow_redirects=True)
    assert r.url.path == f"/a/{aid}/s/where"
    f = form(r.text, f"/a/{aid}/s/where")
    assert "region" in f.fields and len(f.fields["region"]) >= 9
    r = b.submit(f.action, {"side": "left", "pain_now": "3"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Choose at least one place that hurts." in r.text
    assert 'name="region"' in r.text and re.search(r'name="side" value="left"\s+checked', r.text)  # the answers are kept
    r = b.submit(f.action, {"region": ["not_a_region"]})
    assert r.status_code == 400 and "not_a_region" in r.text
    r = b.submit(f.action, {"region": ["calf_pain"], "pain_now": "eleven"})
    assert r.status_code == 422 and "Give the pain as a whole number from 0 to 10" in r.text
    assert re.search(r'value="calf_pain"\s+checked', r.text)
    assert record(web, aid).state["answers"] == []


def test_the_body_map_covers_every_v2_location_finding(web) -> None:  # type: ignore[no-untyped-def]
    """Every location finding of the knowledge base can be entered, each region codes its findings and the
    benchmark conventions (pain below the knee, foot pain with heel or big toe pain, leg worse than back)."""
    from painpath.web import bodymap

    ckb = default_compiled()
    regions = {r.key: r for r in bodymap.regions_for(ckb)}
    codable = {k for r in regions.values() for k in r.findings} | {"pain_below_knee", "pain_both_legs",
                                                                   "leg_pain_worse_than_back"}
    assert set(ckb.kb.interview.screens["where"].findings) <= codable
    v = bodymap.location_values(ckb, ["outer_lower_leg"], both_legs="no", leg_worse="")
    assert v["pain_below_knee"] == "present" and v["leg_pain_worse_than_back"] == "present"
    assert v["pain_both_legs"] == "absent" and v["calf_pain"] == "absent"
    if "heel_pain" in regions:
        v = bodymap.location_values(ckb, ["heel_pain"], both_legs="yes", leg_worse="")
        assert v["heel_pain"] == v["foot_pain"] == v["pain_below_knee"] == v["pain_both_legs"] == "present"
        assert bodymap.chosen_from_answers(ckb, v) == {"heel_pain"}
    v = bodymap.location_values(ckb, ["low_back_pain", "posterior_thigh_pain"], both_legs="unknown", leg_worse="no")
    assert v["leg_pain_worse_than_back"] == "absent" and v["pain_below_knee"] == "absent"
    assert v["pain_both_legs"] == "unknown"
    assert bodymap.location_values(ckb, ["low_back_pain"], both_legs="no", leg_worse="yes")[
        "leg_pain_worse_than_back"] == "absent"  # no leg pain at all
    for key in regions:  # every region comes back ticked from its own answers
        assert bodymap.chosen_from_answers(ckb, bodymap.location_values(ckb, [key], both_legs="no",
                                                                        leg_worse="")) == {key}, key
    r = web.browser.get(f"/a/{web.browser.start()}/s/where")
    for key in regions:
        assert f'value="{key}"' in r.text and f'data-region="{key}"' in r.text, key


def test_a_whole_interview_one_page_per_screen(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start(age=38, sex="female")
    r = b.where(aid, ["low_back_pain"], pain_now="4")
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}/s/warning_spinal"
    r = b.get(r.headers["location"])
    assert 'aria-current="step"' in r.text  # progress
    screens = []
    for _ in range(40):
        if r.url.path.endswith("/result"):
            break
        screens.append(screen_of(r))
        assert "Why am I asked this?" in r.text
        r = b.answer_screen(r, aid, {})
        assert r.status_code == 200
    assert r.url.path == f"/a/{aid}/result", "the interview did not end"
    assert len(screens) == len(set(screens)) > 3
    ckb = default_compiled()
    warnings = [s for s in screens if ckb.kb.interview.screens[s].phase == "warning"]
    assert len(warnings) >= 3 and warnings == screens[:len(warnings)]  # the warning checklists come first
    assert level_label(r.text) in LEVEL_LABEL.values()
    assert "What to do now" in r.text and "Possible causes" in r.text
    assert re.search(r'class="code"[^>]*>[A-Z0-9]{4}-[A-Z0-9]{4}', r.text)  # the share code
    assert "<svg" in r.text  # the QR code
    for src in re.findall(r'<img src="(/static/exercises/[^"]+)"', r.text):
        assert b.get(src).status_code == 200
    # a finished interview goes straight to the result
    r = b.get(f"/a/{aid}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}/result"
    rec = record(web, aid)
    assert rec.status == "finished" and rec.outcome and rec.outcome["pain"] == 4
    asked = [s for s in rec.state["screens_asked"] if s != "where"]
    assert asked == screens


def test_a_warning_checklist_needs_a_tick_or_none_of_these(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start()
    b.where(aid, ["buttock_pain", "calf_pain"])  # buttock pain opens the bladder and saddle checklist
    url = f"/a/{aid}/s/warning_spinal"
    r = b.get(url)
    f = form(r.text, url)
    items = f.fields["yes"]
    assert ("none", "1") in f.buttons and len(items) >= 3
    r = b.submit(url, {})
    assert r.status_code == 422 and "None of these" in r.text and 'role="alert"' in r.text
    r = b.submit(url, {"none": "1", "yes": [items[0]]})
    assert r.status_code == 422 and "Untick it" in r.text
    assert re.search(rf'value="{items[0]}"\s+checked', r.text)  # the tick is kept
    r = b.submit(url, {"go": "1", "yes": ["not_on_this_screen"]})
    assert r.status_code == 400 and "not_on_this_screen" in r.text
    assert record(web, aid).state["screens_asked"] == ["where"]
    # "not sure" about one item, nothing ticked: that item unknown, the others no
    r = b.submit(url, {"go": "1", "unsure": [items[1]]})
    assert r.status_code == 303
    answers = {a["finding"]: a["value"] for a in record(web, aid).state["answers"]}
    assert answers[items[1]] == "unknown" and all(answers[k] == "absent" for k in items if k != items[1])
    # one tap: None of these
    r = b.get(r.headers["location"])
    nxt = screen_of(r)
    r = b.submit(f"/a/{aid}/s/{nxt}", {"none": "1"})
    assert r.status_code == 303
    assert all(a["value"] == "absent" for a in record(web, aid).state["answers"] if a["screen"] == nxt)


def test_a_symptom_screen_names_every_item_left_unanswered(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start()
    b.where(aid, ["calf_pain"])
    r = b.get(f"/a/{aid}", follow_redirects=True)
    while "yes" in form(r.text, f"/a/{aid}/s/{screen_of(r)}").fields:  # through the warning checklists
        r = b.answer_screen(r, aid, {})
    screen = screen_of(r)
    f = form(r.text, f"/a/{aid}/s/{screen}")
    items = [k[2:] for k in f.fields if k.startswith("f_")]
    assert len(items) >= 1
    r = b.submit(f.action, {f"f_{items[0]}": "present"})
    if len(items) > 1:
        assert r.status_code == 422 and r.text.count("Please answer:") == len(items) - 1
        assert re.search(rf'name="f_{items[0]}" value="present"\s+checked', r.text)
    r = b.submit(f.action, {f"f_{items[0]}": "maybe"})
    assert r.status_code == 400 and f"f_{items[0]}" in r.text
    # a screen that is not the next step is not shown: the person is sent to the step to answer
    later = next(s for s, sc in default_compiled().kb.interview.screens.items()
                 if sc.phase == "history" and s != screen)
    r = b.get(f"/a/{aid}/s/{later}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}"
    assert b.submit(f"/a/{aid}/s/{later}", {}).status_code == 409
    assert b.get(f"/a/{aid}/s/no_such_screen", follow_redirects=False).status_code == 303


def test_back_and_reload_keep_every_answer(web) -> None:  # type: ignore[no-untyped-def]
    """Each step has its own URL: going back shows the earlier step with its answers (the body map with its
    ticks), reloading shows the same step, and nothing is withdrawn."""
    b = web.browser
    aid = b.start()
    b.where(aid, ["low_back_pain", "calf_pain"], side="both", leg_worse="yes", pain_now="6")
    r = b.get(f"/a/{aid}", follow_redirects=True)
    first = screen_of(r)
    f = form(r.text, f"/a/{aid}/s/{first}")
    ticked = f.fields["yes"][0]
    r = b.submit(f.action, {"go": "1", "unsure": [ticked]}, follow=True)  # (a tick here could be an emergency)
    second = screen_of(r)
    assert second != first
    before = record(web, aid).state
    # reload: the same step
    assert screen_of(b.get(r.url.path)) == second
    # back: the previous step, its "not sure" tick kept; the back link points there
    assert f'href="/a/{aid}/s/{first}"' in r.text
    r = b.get(f"/a/{aid}/s/{first}")
    assert re.search(rf'name="unsure" value="{ticked}"\s+checked', r.text)
    assert not re.search(rf'name="yes" value="{ticked}"\s+checked', r.text)
    assert f'href="/a/{aid}/s/where"' in r.text
    # and back again: the body map with its ticks and answers
    r = b.get(f"/a/{aid}/s/where")
    for key in ("low_back_pain", "calf_pain"):
        assert re.search(rf'value="{key}"\s+checked', r.text), key
    assert not re.search(r'value="shin_pain"\s+checked', r.text)
    assert re.search(r'name="side" value="both"\s+checked', r.text)
    assert re.search(r'name="leg_worse" value="yes"\s+checked', r.text)
    assert 'value="6"' in r.text
    assert record(web, aid).state == before  # looking back changed nothing
    # sending the body map again unchanged goes on where the interview was
    f = form(r.text, f"/a/{aid}/s/where")
    r = b.submit(f.action, {**f.hidden, "region": ["low_back_pain", "calf_pain"], "side": "both",
                            "leg_worse": "yes", "pain_now": "6"})
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}/s/{second}"
    assert {a["finding"]: a["value"] for a in record(web, aid).state["answers"]} == \
        {a["finding"]: a["value"] for a in before["answers"]}


def test_change_an_answer_from_the_answers_page(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start()
    b.where(aid, ["low_back_pain"])
    r = b.get(f"/a/{aid}", follow_redirects=True)
    first = form(r.text, f"/a/{aid}/s/{screen_of(r)}").fields["yes"][0]
    b.answer_screen(r, aid, {}, follow=False)
    r = b.get(f"/a/{aid}/answers")
    assert r.status_code == 200
    link = f"/a/{aid}/change/{first}"
    assert f'href="{link}"' in r.text
    assert "/change/low_back_pain" not in r.text  # body-map answers change through the body map
    assert f'href="/a/{aid}/s/where"' in r.text
    r = b.get(link)
    assert "Your answer was:" in r.text and "<strong>No</strong>" in r.text
    f = form(r.text, f"/a/{aid}/answer")
    assert f.hidden["finding"] == first and f.hidden["back_to"] == "answers"
    r = b.submit(f.action, {**f.hidden, "value": "present"})
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}/answers"
    answers = {a["finding"]: a["value"] for a in record(web, aid).state["answers"]}
    assert answers[first] == "present"
    assert b.get(f"/a/{aid}/change/not_answered_yet").status_code == 404
    r = b.get(f"/a/{aid}/change/low_back_pain", follow_redirects=False)
    assert r.headers["location"] == f"/a/{aid}/s/where"


def test_changing_an_answer_after_the_end_recomputes_the_result(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.finished(regions=["low_back_pain"])
    before = record(web, aid)
    r = b.get(f"/a/{aid}/answers")
    link = re.search(rf'href="(/a/{aid}/change/[a-z0-9_]+)"', r.text)
    assert link
    f = form(b.get(link.group(1)).text, f"/a/{aid}/answer")
    assert f.hidden["back_to"] == ""
    r = b.submit(f.action, {**f.hidden, "value": "present"})
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}/result"
    after = record(web, aid)
    assert after.revision > before.revision and after.history
    assert b.get(f"/a/{aid}/result").status_code == 200
    # the body map after the end: sending it unchanged keeps the result, a change recomputes it
    r = b.get(f"/a/{aid}/s/where")
    assert re.search(r'value="low_back_pain"\s+checked', r.text) and "Save my answers" in r.text
    f = form(r.text, f"/a/{aid}/s/where")
    same = {**f.hidden, "region": ["low_back_pain"], "side": "left", "leg_worse": "unknown"}
    assert b.submit(f.action, same).headers["location"] == f"/a/{aid}/result"
    assert len(record(web, aid).history) == len(after.history)
    b.submit(f.action, {**same, "region": ["low_back_pain", "calf_pain"]})
    last = record(web, aid)
    assert len(last.history) == len(after.history) + 1
    assert {a["finding"]: a["value"] for a in last.state["answers"]}["calf_pain"] == "present"


def test_an_emergency_answer_goes_to_the_emergency_page(web) -> None:  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start(age=50)
    b.where(aid, ["low_back_pain", "posterior_thigh_pain"], side="both")
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
    for path in ("", "/result", "/report", "/report.pdf", "/answers", "/followup", "/emergency", "/s/where"):
        r = other.get(f"/a/{aid}{path}", follow_redirects=False)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html"), path
        assert "not open in this browser" in r.text
    # nor answer, go back or start a follow-up
    for path, data in (("/answer", {"finding": "fever", "value": "present"}), ("/s/where", {"region": "calf_pain"}),
                       ("/s/warning_spinal", {"none": "1"}), ("/followup", {"pain": "3"})):
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
    # the follow-up's body map shows the pain given; changing it keeps the activity scores
    assert 'value="3"' in b.get(f"/a/{new.id}/s/where").text
    b.where(new.id, ["calf_pain"], pain_now="4")
    assert record(web, new.id).outcome == {"pain": 4.0, "psfs": [{"activity": "Walking to work", "score": 6.0}]}


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


# --- the result and the report -----------------------------------------------------------------------------

SCIATICA = {"pain_follows_band": "present", "pain_shooting_electric": "present", "tingling_pins_needles": "present",
            "onset_after_lifting_bending": "present", "worse_sitting_bending": "present",
            "worse_cough_sneeze_strain": "present", "worse_back_movement": "present"}


def _main(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_the_result_page_fits_a_phone_and_names_only_what_matters(web) -> None:  # type: ignore[no-untyped-def]
    from painpath.web.summary import LEVEL_RANK

    b = web.browser
    aid = b.finished(regions=["low_back_pain", "buttock_pain", "posterior_thigh_pain", "calf_pain"],
                     answers=SCIATICA)
    rec = record(web, aid)
    html = _main(b.get(f"/a/{aid}/result").text)
    first, rest = html.split('<section aria-labelledby="source-h"', 1)
    # the first part: urgency, the leading explanation, what to do now, share code and PDF
    assert level_label(first) == LEVEL_LABEL[rec.triage_level]
    assert "The most likely explanation:" in first and "What to do now" in first
    assert "/report.pdf" in first and 'class="code"' in first
    # the rest opens on demand
    assert rest.count("<details class=\"more\">") >= 3
    # no internal versions on the patient's page, no 0% and no 100%
    assert rec.kb_version not in html and rec.engine_version not in html and "Knowledge base" not in html
    assert not re.search(r"[^0-9<>]0%|100%", html), re.findall(r".{40}(?:0|100)%", html)
    # the leading explanation is a cause at or below the level shown
    lead = re.search(r"The most likely explanation: <strong>([^<]+)</strong>", first)
    assert lead
    kb = default_compiled().kb.conditions.conditions
    (cond,) = [c for c in rec.result["conditions"] if kb[c["key"]].short_name == lead.group(1)]
    assert LEVEL_RANK[cond["level"]] <= LEVEL_RANK[rec.triage_level]
    # every reason for or against a cause carries the answer given
    reasons = re.findall(r'<ul class="(?:for|against)">(.*?)</ul>', html, re.S)
    assert reasons
    for block in reasons:
        for li in re.findall(r"<li>(.*?)</li>", block, re.S):
            assert re.search(r": <strong>(yes|no)</strong>$", li.strip()), li


def test_the_summary_leaves_out_causes_more_urgent_than_the_level_and_zero_percent(web) -> None:  # type: ignore[no-untyped-def]
    """A self-care result with a clot at a few percent does not name the clot in its summary; 0% is never
    listed; an "other" share that leads is said in plain words."""
    from painpath.web.summary import result_view

    b = web.browser
    aid = b.finished(regions=["low_back_pain"])
    rec = record(web, aid)
    conds = rec.result["conditions"]
    urgent = next(c for c in conds if c["level"] in ("urgent", "emergency"))
    low = next(c for c in conds if c["level"] == "self_care")
    others = [c for c in conds if c not in (urgent, low)]
    for c in others:
        c["probability"] = 0.0
    urgent["probability"], low["probability"] = 0.3, 0.7
    rec.result = {**rec.result, "conditions": [low, urgent, *others]}
    rec.triage_level = "self_care"
    view = result_view(rec)
    assert view["leading"]["key"] == low["key"]
    assert [c["key"] for c in view["causes"]] == [low["key"], urgent["key"]]  # 0% never listed
    rec.result = {**rec.result, "other": {"key": "other", "probability": 0.8, "leads": True}}  # the engine's
    view = result_view(rec)
    assert view["other_leads"] and view["leading"] is None and view["other"] == 0.8
    rec.result = {**rec.result, "other": {"key": "other", "probability": 0.1, "leads": False}}
    assert not result_view(rec)["other_leads"]
    rec.result = {k: v for k, v in rec.result.items() if k != "other"} | {"other_probability": 0.8}
    assert result_view(rec)["other_leads"]  # a bare share that beats every cause


def test_the_report_shows_the_answer_with_every_reason_and_fits_one_page(web) -> None:  # type: ignore[no-untyped-def]
    from pypdf import PdfReader

    b = web.browser
    aid = b.finished(regions=["low_back_pain", "buttock_pain", "posterior_thigh_pain", "calf_pain"],
                     answers=SCIATICA, age=38)
    rec = record(web, aid)
    answered = {a["finding"]: a["value"] for a in rec.state["answers"]}
    html = b.get(f"/a/{aid}/report").text
    rows = re.findall(r"<tr><td>.*?</tr>", html, re.S)
    assert rows
    kb = default_compiled().kb.findings.findings
    by_text = {f.text: k for k, f in kb.items()}
    seen = 0
    for row in rows:
        for text, word in re.findall(r"([^;>]+?): <strong>(yes|no)</strong>", row):
            key = by_text[text.strip()]
            assert key in answered, key  # only answers actually given
            assert word == {"present": "yes", "absent": "no"}[answered[key]], (text, word)
            seen += 1
    assert seen >= 3
    assert rec.kb_version in html  # the versions stay in the report's footer
    pdf = b.get(f"/a/{aid}/report.pdf").content
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1, f"{len(reader.pages)} pages"
    text = re.sub(r"\s+", " ", reader.pages[0].extract_text() or "")
    assert LEVEL_LABEL[rec.triage_level] in text and ": yes" in text and ": no" in text


def test_why_asked_is_plain_and_names_no_illness() -> None:
    """Every screen has its own reason (or its phase's), and none names a condition or says "you have"."""
    from painpath.web import why

    kb = default_compiled().kb
    names = {n.lower() for c in kb.conditions.conditions.values() for n in (c.name, c.short_name)}
    words = {"thrombosis", "dvt", "cauda", "cancer", "tumour", "fracture", "ischaemia", "sciatica", "clot",
             "infection of the spine", "compartment"}
    texts = {s: why.why_for(s, sc.phase) for s, sc in kb.interview.screens.items() if sc.phase != "presenting"}
    texts["where"] = why.WHY_WHERE
    for screen, text in texts.items():
        low = text.lower()
        assert not [n for n in names if n in low], (screen, text)
        assert not [w for w in words if w in low], (screen, text)
    own = [s for s, sc in kb.interview.screens.items() if sc.phase in ("warning", "history")]
    assert all(s in why.WHY for s in own), [s for s in own if s not in why.WHY]
    assert len({texts[s] for s in own}) == len(own)  # one reason per screen, not one line for all


def test_a_raised_stored_level_shows_with_its_own_advice_on_the_result_page_and_report(web) -> None:  # type: ignore[no-untyped-def]
    """The stored level is the final one (services.final_level); when it is above the engine's triage level
    (raised by a follow-up or the plan's condition), the page shows that level's advice, not the engine's."""
    b = web.browser
    aid = b.finished(regions=["calf_pain"])
    rec = record(web, aid)
    engine_level = rec.result["triage"]["level"]
    assert rec.triage_level == engine_level == "self_care"
    kb_text = default_compiled().kb.triage.level_text
    html = _main(b.get(f"/a/{aid}/result").text)
    assert LEVEL_RE.findall(html) == [LEVEL_LABEL["self_care"]] and kb_text["self_care"] in html
    with web.database.write() as s:
        s.get(AssessmentRecord, aid).triage_level = "soon"
    html = _main(b.get(f"/a/{aid}/result").text)
    assert LEVEL_RE.findall(html) == [LEVEL_LABEL["soon"]]
    assert kb_text["soon"] in html and kb_text["self_care"] not in html
