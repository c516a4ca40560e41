"""axe-core (WCAG 2.0, 2.1 and 2.2, levels A and AA) on every page: no serious or critical violations.

The patient's result page is checked twice: as most people see it, and with a level raised above the engine's
triage level (a follow-up that got worse), where it shows "Why the level was raised".

Patient pages are checked on a phone (390x844), clinician pages on a desktop window. Each page's
full axe result is written to test-artifacts/axe/<page>.json and a screenshot to
test-artifacts/screenshots/a11y-<page>.png. Minor and moderate violations are printed, not failed.
Each page is also checked not to scroll sideways (WCAG 1.4.10 reflow), which axe does not test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser import flows
from tests.browser.conftest import Finished, Server, describe_violations, login, new_page, run_axe, shot

BLOCKING = {"serious", "critical"}


def _check(page: Any, axe_source: str, name: str) -> None:
    shot(page, f"a11y-{name}")
    content, window = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert content <= window, f"{name}: the page scrolls sideways ({content}px wide in a {window}px window; WCAG 1.4.10)"
    result = run_axe(page, axe_source, name)
    assert result["passes"] > 0, f"axe ran no rule on {name}"
    violations = result["violations"]
    minor = [v for v in violations if v["impact"] not in BLOCKING]
    if minor:
        print(f"\n{name}: minor/moderate axe findings (not failing):\n{describe_violations(minor)}")
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"{name} ({result['url']}): serious or critical axe violations:\n{describe_violations(blocking)}"


def _phone(browser: Any, server: Server) -> Any:
    return new_page(browser, server, phone=True)


def start_page(page: Any) -> None:
    page.goto("/")


def start_errors(page: Any) -> None:
    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("button", name="Start", exact=True).click()
    assert page.locator(".error-summary").count() == 1


def body_map(page: Any) -> None:
    flows.start(page, 61, "female")


def body_map_error(page: Any) -> None:
    flows.start(page, 61, "female")
    flows.submit_body_map(page)
    assert page.locator(".error-summary").count() == 1


def body_map_filled(page: Any) -> None:
    flows.start(page, 61, "female")
    flows.fill_body_map(page, ["low_back_pain", "groin_pain", "knee_front_pain", "heel_pain"], both_legs=None,
                        pain_now=5)


def checklist(page: Any) -> None:
    flows.start(page, 61, "female")
    flows.fill_body_map(page, ["calf_pain"], both_legs=False)
    flows.submit_body_map(page)
    assert flows.is_checklist(page)
    page.locator("details.unsure summary").click()
    page.locator("details.why").last.locator("summary").click()


def checklist_error(page: Any) -> None:
    checklist(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Continue with what I ticked", exact=True).click()
    assert page.locator(".error-summary").count() == 1


def _to_symptoms(page: Any) -> None:
    flows.start(page, 61, "female")
    flows.fill_body_map(page, ["calf_pain"], both_legs=False)
    flows.submit_body_map(page)
    while flows.is_checklist(page):
        flows.answer_screen(page, lambda f: "absent")


def symptom_screen(page: Any) -> None:
    _to_symptoms(page)
    page.locator("details.why summary").click()
    first = flows.items(page)[0]
    page.locator(f"input[name=f_{first}][value=unknown]").check()


def symptom_screen_error(page: Any) -> None:
    _to_symptoms(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Next", exact=True).click()
    assert page.locator(".error-summary").count() == 1


def emergency(page: Any) -> None:
    flows.start(page, 70, "male")
    flows.fill_body_map(page, ["low_back_pain", "posterior_thigh_pain"])
    flows.submit_body_map(page)
    flows.interview(page, lambda f: "present" if f == "bladder_problem_new" else "absent")
    assert page.url.endswith("/emergency")


def not_found(page: Any) -> None:
    page.goto("/a/00000000-0000-0000-0000-000000000000")


PATIENT_OWN: dict[str, Callable[[Any], None]] = {
    "start": start_page, "start-errors": start_errors, "body-map": body_map, "body-map-error": body_map_error,
    "body-map-filled": body_map_filled, "checklist": checklist, "checklist-error": checklist_error,
    "symptom-screen": symptom_screen, "symptom-screen-error": symptom_screen_error, "emergency": emergency,
    "not-found": not_found,
}
PATIENT_FINISHED = {"result": "/result", "answers": "/answers", "followup": "/followup", "report": "/report"}


@pytest.mark.parametrize("name", list(PATIENT_OWN))
def test_patient_page(name: str, browser: Any, server: Server, axe_source: str) -> None:
    page = _phone(browser, server)
    try:
        PATIENT_OWN[name](page)
        _check(page, axe_source, name)
    finally:
        page.context.close()


@pytest.mark.parametrize("name", list(PATIENT_FINISHED))
def test_patient_result_page(name: str, sciatica: Finished, axe_source: str) -> None:
    page = sciatica.page
    page.goto(f"/a/{sciatica.id}{PATIENT_FINISHED[name]}")
    if name == "result":
        for summary in page.locator("details.more > summary").all():
            summary.click()  # open every section so its content is checked too
        for summary in page.locator(".conditions details summary").all()[:2]:
            summary.click()  # and the first "Why?" explanations
    _check(page, axe_source, name)


# A calf strain at pain 3 (self-care), then the person's own follow-up at pain 8: the follow-up raises the level
# to soon, so the follow-up's result page shows "Why the level was raised" (the _raised.html callout).
CALF_STRAIN = {"calf_pain", "pain_below_knee", "leg_pain_worse_than_back", "onset_sudden_during_activity"}


def test_patient_result_page_with_a_raised_level(browser: Any, server: Server, axe_source: str) -> None:
    page = _phone(browser, server)
    try:
        first = flows.start(page, 35, "male")
        flows.fill_body_map(page, ["calf_pain"], side="right", leg_worse=None, pain_now=3)
        flows.submit_body_map(page)
        flows.interview(page, flows.yes_for(CALF_STRAIN))
        assert page.url.endswith(f"/a/{first}/result"), page.url
        assert page.locator("#raised").count() == 0  # nothing raised the first one
        page.goto(f"/a/{first}/followup")
        page.get_by_label("How bad is the pain right now?").fill("8")
        with page.expect_navigation():
            page.get_by_role("button", name="Continue", exact=True).click()
        follow = flows.assessment_id(page)
        assert follow != first
        flows.fill_body_map(page, ["calf_pain"], side="right", leg_worse=None)
        flows.submit_body_map(page)
        flows.interview(page, flows.yes_for(CALF_STRAIN))
        assert page.url.endswith(f"/a/{follow}/result"), page.url
        callout = page.locator("#raised")
        assert callout.is_visible(), "the follow-up's result page shows why the level was raised"
        assert callout.get_by_role("heading", level=2, name="Why the level was raised").count() == 1
        assert callout.locator("li").count() >= 1
        for summary in page.locator("details.more > summary").all():
            summary.click()  # open every section, as on the other result page
        _check(page, axe_source, "result-raised")
    finally:
        page.context.close()


def test_clinician_login_page(browser: Any, server: Server, axe_source: str) -> None:
    page = new_page(browser, server, phone=False)
    try:
        page.goto("/clinic/login")
        _check(page, axe_source, "clinic-login")
        page.get_by_label("Email").fill("nobody@example.org")
        page.get_by_label("Password").fill("wrong password")
        with page.expect_navigation():
            page.get_by_role("button", name="Log in", exact=True).click()
        _check(page, axe_source, "clinic-login-error")
    finally:
        page.context.close()


def test_clinician_list_page(clinician: Any, axe_source: str) -> None:
    clinician.goto("/clinic")
    _check(clinician, axe_source, "clinic-list")


def test_clinician_detail_page(clinician: Any, sciatica: Finished, axe_source: str) -> None:
    clinician.goto(f"/share/{sciatica.summary['share_code']}")
    _check(clinician, axe_source, "clinic-share-confirm")
    with clinician.expect_navigation():
        clinician.get_by_role("button", name="Receive it").click()
    assert clinician.url.removesuffix("#result").endswith(f"/clinic/a/{sciatica.id}")
    _check(clinician, axe_source, "clinic-detail")


def test_clinician_pages_on_a_phone(browser: Any, server: Server, sciatica: Finished, axe_source: str) -> None:
    page = _phone(browser, server)
    try:
        login(page, server)
        _check(page, axe_source, "clinic-list-phone")
        page.goto(f"/share/{sciatica.summary['share_code']}")
        with page.expect_navigation():
            page.get_by_role("button", name="Receive it").click()
        _check(page, axe_source, "clinic-detail-phone")
    finally:
        page.context.close()
