"""What a person does in the browser: start, the body map, one question per page, the result."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from playwright.sync_api import expect

INTERVIEW_URL = re.compile(r"/a/[0-9a-f-]{36}$")
ANSWER_BUTTON = {"present": "Yes", "absent": "No", "unknown": "I don't know"}
RADIO_VALUE = {True: "yes", False: "no", None: "unknown"}
SHARE_CODE = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4})+\b")

# A recent sciatica (dev-001 in words): back, buttock, back of the thigh and calf, leg worse than back.
SCIATICA_REGIONS = ["low_back_pain", "buttock_pain", "posterior_thigh_pain", "calf_pain"]
SCIATICA_YES = {"pain_follows_band", "pain_shooting_electric", "tingling_pins_needles", "onset_after_lifting_bending",
                "worse_sitting_bending", "worse_cough_sneeze_strain", "worse_back_movement"}


def assessment_id(page: Any) -> str:
    m = re.search(r"/a/([0-9a-f-]{36})", page.url)
    assert m, f"not on an assessment page: {page.url}"
    return m.group(1)


def start(page: Any, age: int, sex: str) -> str:
    """Open the start page, give age and sex, press Start; returns the new assessment's id."""
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_label("How old are you?").fill(str(age))
    page.get_by_role("radio", name=sex.capitalize(), exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Start", exact=True).click()
    assert INTERVIEW_URL.search(page.url), page.url
    return assessment_id(page)


def fill_body_map(page: Any, regions: Iterable[str], *, both_legs: bool | None = False,
                  leg_worse: bool | None = False, below_knee: bool | None = False,
                  pain_now: int | None = None) -> None:
    """Tick regions by clicking their labels on the drawing, answer the three follow-ups (not submitted)."""
    expect(page.get_by_role("heading", name="Where do you feel the pain?")).to_be_visible()
    for key in regions:
        label = page.locator(f"label.hotspot.hs-{key}")
        label.click()
        expect(label.locator("input[name=region]")).to_be_checked()
    for name, value in (("both_legs", both_legs), ("leg_worse", leg_worse), ("below_knee", below_knee)):
        radio = page.locator(f"input[type=radio][name={name}][value={RADIO_VALUE[value]}]")
        radio.check()
        expect(radio).to_be_checked()
    if pain_now is not None:
        page.get_by_label("How bad is the pain right now? (optional)").fill(str(pain_now))


def submit_body_map(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Next", exact=True).click()


def current_finding(page: Any) -> str:
    """The finding the question on screen asks about (the form's hidden field)."""
    loc = page.locator("form.question input[name=finding]")
    expect(loc).to_have_count(1)
    return str(loc.input_value())


def question_text(page: Any) -> str:
    return str(page.locator("form.question legend h1").inner_text()).strip()


def answer(page: Any, value: str) -> None:
    """Press Yes / No / I don't know and wait for the next page."""
    with page.expect_navigation():
        page.get_by_role("button", name=ANSWER_BUTTON[value], exact=True).click()


def interview(page: Any, decide: Callable[[str], str], *, limit: int = 80) -> list[str]:
    """Answer every question until the result or emergency page; returns the findings asked, in order."""
    asked: list[str] = []
    while INTERVIEW_URL.search(page.url):
        finding = current_finding(page)
        asked.append(finding)
        assert len(asked) <= limit, f"more than {limit} questions: {asked}"
        answer(page, decide(finding))
    assert page.url.endswith(("/result", "/emergency")), page.url
    return asked


def yes_for(present: set[str]) -> Callable[[str], str]:
    return lambda finding: "present" if finding in present else "absent"


def result_summary(page: Any) -> dict[str, Any]:
    """Urgency label, causes (name, percent) in order, and the share code from a result page."""
    level = page.locator(".level .level-label").first.inner_text().strip()
    names = [t.strip() for t in page.locator(".conditions .cond-name").all_inner_texts()]
    pcts = [t.strip() for t in page.locator(".conditions .cond-p").all_inner_texts()]
    code = page.locator("p.code")
    m = SHARE_CODE.search(code.inner_text()) if code.count() else None
    return {"level": level, "conditions": list(zip(names, pcts, strict=True)), "top": names[0] if names else None,
            "share_code": m.group(0) if m else None}
