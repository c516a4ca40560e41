"""A clinician: log in, open a patient's assessment by its share code, add examination findings, see the trend."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from painpath.engine import default_compiled
from painpath.web.render import LEVEL_LABEL
from tests.browser import flows
from tests.browser.conftest import Finished, Server, login, shot


def _detail_url(aid: str) -> re.Pattern[str]:
    return re.compile(rf"/clinic/a/{aid}(#result)?$")


def test_clinician_opens_shared_assessment_and_adds_exam_findings(sciatica: Finished, desktop: Any,
                                                                  server: Server) -> None:
    page = desktop
    code = sciatica.summary["share_code"]
    assert code, "the patient's result page showed no share code"

    # Not logged in: the clinic area asks to log in first; a wrong password is refused.
    page.goto("/clinic")
    assert "/clinic/login" in page.url, page.url
    shot(page, "clinic-01-login")
    page.get_by_label("Email").fill(server.email)
    page.get_by_label("Password").fill("not the password")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("The email or password is wrong.")
    login(page, server)
    assert page.url.endswith("/clinic"), page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text(server.clinic_name)
    shot(page, "clinic-02-list")

    # Open the assessment with the code the patient's result page showed.
    page.get_by_label("Open an assessment a patient shared (share code)").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Open", exact=True).click()
    expect(page).to_have_url(_detail_url(sciatica.id))
    expect(page.get_by_role("heading", level=1)).to_contain_text(sciatica.id[:8])
    expect(page.get_by_text("mode: self")).to_be_visible()
    expect(page.locator(".side")).to_have_text("Leg: Left leg")  # which leg the patient chose on the body map
    before = flows.result_summary(page)
    assert before["level"] == sciatica.summary["level"]
    full = {c.short_name: c.name for c in default_compiled().kb.conditions.conditions.values()}
    # the same causes and figures, in the clinician's words (full names)
    assert before["conditions"] == [(full[n], p) for n, p in sciatica.summary["conditions"]]
    expect(page.get_by_role("heading", name="Earlier results")).to_have_count(0)
    shot(page, "clinic-03-detail")

    # Examination: straight leg raise and slump positive, reflexes normal.
    findings = default_compiled().kb.findings.findings
    slr = page.get_by_role("group", name=findings["slr_positive"].clinician_question)
    slr.get_by_label("Present").check()
    page.get_by_role("group", name=findings["slump_positive"].clinician_question).get_by_label("Present").check()
    page.get_by_role("group", name=findings["reflex_reduced"].clinician_question).get_by_label("Absent").check()
    expect(page.locator("input[name=f_slr_positive][value=present]")).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Save and update the result").click()
    expect(page).to_have_url(re.compile(rf"/clinic/a/{sciatica.id}\?changed=[a-z_,]+#result$"))
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()

    expect(page.get_by_text("mode: clinician")).to_be_visible()
    earlier = page.get_by_role("heading", name="Earlier results")
    expect(earlier).to_be_visible()
    history = page.locator("#result h3 + ul li")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("(self)")
    expect(history.first).to_contain_text(before["level"])
    expect(history.first).to_contain_text(before["top"])  # the condition's name, not its key
    after = flows.result_summary(page)
    assert after["level"] in LEVEL_LABEL.values()
    assert after["conditions"] != before["conditions"], (before, after)
    assert after["conditions"][0][1] != before["conditions"][0][1] or after["top"] != before["top"], (before, after)
    expect(page.locator("input[name=f_slr_positive][value=present]")).to_be_checked()
    shot(page, "clinic-04-detail-after-exam")

    # The list shows it; the htmx filter (no inline script, under the CSP) narrows it.
    page.goto("/clinic")
    row = page.locator("table.list tbody tr", has_text="38")
    expect(row.first).to_be_visible()
    level_key = next(k for k, v in LEVEL_LABEL.items() if v == after["level"])
    other = "emergency" if level_key != "emergency" else "self_care"
    page.get_by_label("Urgency").select_option(other)
    expect(page).to_have_url(re.compile(rf"level={other}"))
    expect(page.locator("#results")).to_contain_text("No assessments match.")
    page.get_by_label("Urgency").select_option(level_key)
    expect(page.locator("#results table.list a[href='/clinic/a/" + sciatica.id + "']")).to_have_count(1)
    shot(page, "clinic-05-list-filtered")


def test_follow_up_gives_a_trend_chart(sciatica: Finished, clinician: Any) -> None:
    patient = sciatica.page
    patient.goto(f"/a/{sciatica.id}/followup")
    patient.get_by_label("How bad is the pain right now?").fill("3")
    patient.get_by_label("Activity 1").fill("Walking to work")
    patient.get_by_label("Score (0 to 10)").first.fill("7")
    shot(patient, "patient-10-followup")
    with patient.expect_navigation():
        patient.get_by_role("button", name="Continue", exact=True).click()
    follow_id = flows.assessment_id(patient)
    assert follow_id != sciatica.id
    flows.fill_body_map(patient, ["low_back_pain", "buttock_pain"], both_legs=False, leg_worse=False)
    flows.submit_body_map(patient)
    flows.interview(patient, flows.yes_for({"worse_back_movement"}))
    assert patient.url.endswith(f"/a/{follow_id}/result"), patient.url
    shot(patient, "patient-11-followup-result")

    # The share link (as in the QR code) asks a logged-in clinician to confirm, then opens the first assessment.
    page = clinician
    page.goto(f"/share/{sciatica.summary['share_code']}")
    with page.expect_navigation():
        page.get_by_role("button", name="Receive it").click()
    expect(page).to_have_url(_detail_url(sciatica.id))
    expect(page.get_by_role("heading", name="Progress over time")).to_be_visible()
    expect(page.locator("svg.trend")).to_be_visible()
    expect(page.locator("svg.trend circle.dot-pain")).to_have_count(2)
    rows = page.locator("section[aria-labelledby=trend-h] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("6.0")
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("3.0")
    expect(rows.nth(1).locator("td").nth(2)).to_have_text("7.0")
    shot(page, "clinic-06-detail-trend")
