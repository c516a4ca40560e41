"""The body map's "Which leg?": left, right, both or not sure. The side answers ``pain_both_legs`` (left or right:
absent, both: present, not sure: unknown), is kept in the interview state, and is shown where a clinician reads
the result (the clinic's assessment page and the report)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from painpath.storage.models import AssessmentRecord
from tests.web.conftest import form
from tests.web.test_clinic_pages import logged_in, record

REGIONS = ["low_back_pain", "posterior_thigh_pain"]


def _leg_of(html: str) -> str:
    m = re.search(r'<span class="side">([^<]+): <strong>([^<]+)</strong></span>', html)
    assert m, "no side on the page"
    return f"{m.group(1)}: {m.group(2)}"


@pytest.mark.parametrize(("side", "both_legs", "stored"), [("left", "absent", "left"), ("right", "absent", "right"),
                                                           ("both", "present", "both"), ("unknown", "unknown", None)])
def test_each_choice_answers_both_legs_and_keeps_the_side(web: Any, side: str, both_legs: str,
                                                           stored: str | None) -> None:
    b = web.browser
    aid = b.start()
    r = b.where(aid, REGIONS, side=side)
    assert r.status_code == 303, r.text[:500]
    state = record(web, aid).state
    assert {a["finding"]: a["value"] for a in state["answers"]}["pain_both_legs"] == both_legs
    assert state.get("side") == stored
    # back on the body map, the choice is shown as given
    r = b.get(f"/a/{aid}/s/where")
    assert re.search(rf'name="side" value="{side}"\s+checked', r.text)
    assert len(re.findall(r'name="side" value="[a-z]+"\s+checked', r.text)) == 1


def test_left_and_right_give_the_same_result(web: Any) -> None:
    results = []
    for side in ("left", "right"):
        aid = web.browser.start()
        web.browser.where(aid, REGIONS, side=side)
        web.browser.answer_until_done(aid)
        rec = record(web, aid)
        results.append((rec.triage_level, rec.top_condition, [c["probability"] for c in rec.result["conditions"]]))
    assert results[0] == results[1]


def test_a_bad_side_is_refused_with_the_error_shown(web: Any) -> None:
    b = web.browser
    aid = b.start()
    f = form(b.get(f"/a/{aid}/s/where").text, f"/a/{aid}/s/where")
    r = b.submit(f.action, {**f.hidden, "region": REGIONS, "side": "middle", "leg_worse": "yes", "pain_now": "4"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Choose left leg, right leg, both legs or not sure." in r.text
    assert 'href="#side"' in r.text and 'id="side"' in r.text  # the summary links to the question
    assert 'aria-describedby="side-error"' in r.text
    assert re.search(r'value="posterior_thigh_pain"\s+checked', r.text)  # what was given is kept
    assert re.search(r'name="leg_worse" value="yes"\s+checked', r.text)
    assert record(web, aid).state["answers"] == []  # nothing stored
    # with no region as well, both errors are listed
    r = b.submit(f.action, {**f.hidden, "side": "middle"})
    assert r.status_code == 422
    assert "Choose at least one place that hurts." in r.text and "Choose left leg, right leg" in r.text
    # in Spanish too
    r = b.submit(f.action + "?lang=es", {**f.hidden, "region": REGIONS, "side": "middle"})
    assert r.status_code == 422 and "Elija pierna izquierda, pierna derecha, ambas piernas o no está seguro." in r.text


def test_changing_the_side_after_the_end_keeps_the_result(web: Any) -> None:
    b = web.browser
    aid = b.finished(regions=REGIONS)
    before = record(web, aid)
    assert before.state["side"] == "left"
    f = form(b.get(f"/a/{aid}/s/where").text, f"/a/{aid}/s/where")
    r = b.submit(f.action, {**f.hidden, "region": REGIONS, "side": "right", "leg_worse": "unknown"})
    assert r.status_code == 303 and r.headers["location"] == f"/a/{aid}/result"
    after = record(web, aid)
    assert after.state["side"] == "right"
    assert after.state["answers"] == before.state["answers"]
    assert (after.triage_level, after.top_condition) == (before.triage_level, before.top_condition)


def test_the_clinic_page_and_the_report_show_the_side(web: Any, make_clinic: Any) -> None:
    from pypdf import PdfReader

    clinic = make_clinic()
    aid = web.browser.start(intake_code=str(clinic["intake_code"]))
    web.browser.where(aid, REGIONS, side="right")
    web.browser.answer_until_done(aid)
    b = logged_in(web, clinic)
    assert _leg_of(b.get(f"/clinic/a/{aid}").text) == "Leg: Right leg"
    assert _leg_of(b.get(f"/clinic/a/{aid}/report").text) == "Leg: Right leg"
    assert _leg_of(b.get(f"/clinic/a/{aid}?lang=es").text) == "Pierna: Pierna derecha"
    pdf = b.get(f"/clinic/a/{aid}/report.pdf")
    assert pdf.status_code == 200
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages))
    assert "Leg: Right leg" in text
    # the patient's own report says it as well
    assert _leg_of(web.browser.get(f"/a/{aid}/report").text) == "Leg: Right leg"


@pytest.mark.parametrize(("both_legs", "shown"), [("absent", "One leg (side not recorded)"), ("present", "Both legs"),
                                                  ("unknown", "The patient was not sure")])
def test_a_record_stored_before_the_side_was_asked_still_shows(web: Any, make_clinic: Any, both_legs: str,
                                                               shown: str) -> None:
    clinic = make_clinic()
    aid = web.browser.start(intake_code=str(clinic["intake_code"]))
    web.browser.where(aid, REGIONS, side={"absent": "left", "present": "both", "unknown": "unknown"}[both_legs])
    web.browser.answer_until_done(aid)
    with web.database.write() as s:  # as an earlier version stored it: no "side" in the state
        rec = s.get(AssessmentRecord, aid)
        rec.state = {k: v for k, v in rec.state.items() if k != "side"}
    assert "side" not in record(web, aid).state
    b = logged_in(web, clinic)
    r = b.get(f"/clinic/a/{aid}")
    assert r.status_code == 200 and _leg_of(r.text) == f"Leg: {shown}"
    r = b.get(f"/clinic/a/{aid}/report")
    assert r.status_code == 200 and _leg_of(r.text) == f"Leg: {shown}"
    r = web.browser.get(f"/a/{aid}/s/where")  # the body map shows what it can
    assert r.status_code == 200
    if both_legs == "absent":
        assert not re.search(r'name="side" value="[a-z]+"\s+checked', r.text)  # which one is not known
    else:
        assert re.search(rf'name="side" value="{"both" if both_legs == "present" else "unknown"}"\s+checked', r.text)
