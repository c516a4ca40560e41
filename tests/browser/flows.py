"""What a person does in the browser: start, the body map, one page per interview screen, the result."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from playwright.sync_api import expect

INTERVIEW_URL = re.compile(r"/a/[0-9a-f-]{36}/s/([a-z0-9_]+)$")
RADIO_VALUE = {True: "yes", False: "no", None: "unknown"}
# "Which leg?": both legs, one leg (the left, unless a side is given), not sure
SIDE_VALUE = {True: "both", False: "left", None: "unknown"}
SHARE_CODE = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4})+\b")

# A recent sciatica (dev-001 in words): back, buttock, back of the thigh and calf, leg worse than back.
SCIATICA_REGIONS = ["low_back_pain", "buttock_pain", "posterior_thigh_pain", "calf_pain"]
SCIATICA_YES = {"pain_follows_band", "pain_shooting_electric", "tingling_pins_needles", "onset_after_lifting_bending",
                "worse_sitting_bending", "worse_cough_sneeze_strain", "worse_back_movement"}


def assessment_id(page: Any) -> str:
    m = re.search(r"/a/([0-9a-f-]{36})", page.url)
    assert m, f"not on an assessment page: {page.url}"
    return m.group(1)


def screen(page: Any) -> str | None:
    """The interview screen on show (from the URL), or None when the page is not an interview step."""
    m = INTERVIEW_URL.search(page.url)
    return m.group(1) if m else None


def start(page: Any, age: int, sex: str) -> str:
    """Open the start page, give age and sex, press Start; returns the new assessment's id."""
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_label("How old are you?").fill(str(age))
    page.get_by_role("radio", name=sex.capitalize(), exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Start", exact=True).click()
    assert screen(page) == "where", page.url
    return assessment_id(page)


def fill_body_map(page: Any, regions: Iterable[str], *, both_legs: bool | None = False, side: str | None = None,
                  leg_worse: bool | None = False, pain_now: int | None = None, tap_drawing: bool = True) -> None:
    """Tick the regions (by tapping the place on the drawing, or its box in the list), answer the two
    follow-ups (not submitted): which leg (``side``: left, right, both or unknown; without it from ``both_legs``)
    and whether the leg pain is worse."""
    expect(page.get_by_role("heading", name="Where do you feel the pain?")).to_be_visible()
    for key in regions:
        box = page.locator(f"input[name=region][value={key}]")
        if box.is_checked():
            continue
        if tap_drawing and page.locator(f".rg[data-region={key}]").count():
            page.locator(f".rg[data-region={key}]").first.click()
        else:
            box.check()
        expect(box).to_be_checked()
    for name, choice in (("side", side or SIDE_VALUE[both_legs]), ("leg_worse", RADIO_VALUE[leg_worse])):
        radio = page.locator(f"input[type=radio][name={name}][value={choice}]")
        radio.check()
        expect(radio).to_be_checked()
    if pain_now is not None:
        page.get_by_label("How bad is the pain right now? (optional)").fill(str(pain_now))


def submit_body_map(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Next", exact=True).click()


def is_checklist(page: Any) -> bool:
    return bool(page.locator("form.checklist").count())


def items(page: Any) -> list[str]:
    """The findings the screen on show asks about."""
    if is_checklist(page):
        return [str(v) for v in page.locator("form.checklist input[name=yes]").evaluate_all("els => els.map(e => e.value)")]
    names = page.locator("form.screen input[type=radio]").evaluate_all("els => els.map(e => e.name)")
    return list(dict.fromkeys(n[2:] for n in names))


def answer_screen(page: Any, decide: Callable[[str], str]) -> list[str]:
    """Answer the screen on show (``decide(finding)`` -> present / absent / unknown) and go on; returns the
    findings it asked."""
    asked = items(page)
    values = {k: decide(k) for k in asked}
    if is_checklist(page):
        for k, v in values.items():
            if v == "present":
                page.locator(f"input[name=yes][value={k}]").check()
            elif v == "unknown":
                details = page.locator("details.unsure")
                if details.get_attribute("open") is None:
                    details.locator("summary").click()
                page.locator(f"input[name=unsure][value={k}]").check()
        ticked = any(v != "absent" for v in values.values())
        button = "Continue with what I ticked" if ticked else "None of these"
    else:
        for k, v in values.items():
            page.locator(f"input[name=f_{k}][value={v}]").check()
        button = "Next"
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()
    return asked


def interview(page: Any, decide: Callable[[str], str], *, limit: int = 40) -> list[str]:
    """Answer every screen until the result or emergency page; returns the findings asked, in order."""
    asked: list[str] = []
    pages = 0
    while screen(page) not in (None, "where"):
        pages += 1
        assert pages <= limit, f"more than {limit} screens: {asked}"
        asked += answer_screen(page, decide)
    assert page.url.endswith(("/result", "/emergency")), page.url
    return asked


def yes_for(present: set[str]) -> Callable[[str], str]:
    return lambda finding: "present" if finding in present else "absent"


def result_summary(page: Any) -> dict[str, Any]:
    """Urgency label, causes (name, percent) in order, the leading explanation and the share code of a result."""
    level = page.locator(".level .level-label").first.inner_text().strip()
    names = [str(t).strip() for t in page.locator(".conditions .cond-name").evaluate_all("e => e.map(x => x.textContent)")]
    pcts = [str(t).strip() for t in page.locator(".conditions .cond-p").evaluate_all("e => e.map(x => x.textContent)")]
    lead = page.locator(".leading strong")
    code = page.locator(".share .code")
    m = SHARE_CODE.search(code.inner_text()) if code.count() else None
    return {"level": level, "conditions": list(zip(names, pcts, strict=True)), "top": names[0] if names else None,
            "leading": lead.inner_text().strip() if lead.count() else None, "share_code": m.group(0) if m else None}
