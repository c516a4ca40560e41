"""A person on a phone: start, body map, one page per screen (browser Back and Forward, "Why am I asked this?"),
result, emergency."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from painpath.web.render import LEVEL_LABEL
from tests.browser import flows
from tests.browser.conftest import ARTIFACTS, PHONE, SHOTS, Finished, shot


def test_start_is_on_the_first_screen_and_focus_does_not_flash(phone: Any) -> None:
    page = phone
    page.goto("/")
    start = page.get_by_role("button", name="Start", exact=True)
    box = start.bounding_box()
    assert box and box["y"] + box["height"] <= PHONE["height"], f"Start is {box} on a {PHONE} phone"
    # the heading takes focus for screen readers, without a ring (nothing flashes on load)
    focused = page.evaluate("""() => {const el = document.activeElement; const s = getComputedStyle(el);
        return {tag: el.tagName, outline: s.outlineStyle, shadow: s.boxShadow}}""")
    assert focused == {"tag": "H1", "outline": "none", "shadow": "none"}, focused
    # a keyboard user still sees where focus is
    page.keyboard.press("Tab")
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none"


def test_interview_with_back_and_forward(phone: Any) -> None:
    page = phone
    aid = flows.start(page, 38, "male")
    shot(page, "patient-02-body-map")
    flows.fill_body_map(page, flows.SCIATICA_REGIONS, both_legs=False, leg_worse=True, pain_now=6)
    for key in flows.SCIATICA_REGIONS:  # tapped on the drawing: the place is coloured and the box ticked
        expect(page.locator(f".rg[data-region={key}]").first).to_have_class(f"rg rg-{key} on")
    expect(page.locator("input[name=region][value=shin_pain]")).not_to_be_checked()
    shot(page, "patient-03-body-map-filled")
    _assert_body_map_readable(page)
    flows.submit_body_map(page)

    # The first screen: a warning checklist with "None of these", progress and "Why am I asked this?"
    first = flows.screen(page)
    assert first and first.startswith("warning"), first
    expect(page.get_by_role("navigation", name="Progress")).to_be_visible()
    expect(page.get_by_role("button", name="None of these", exact=True)).to_be_visible()
    why = page.locator("details.why").last
    expect(why.locator("p")).to_be_hidden()
    why.locator("summary").click()
    expect(why.locator("p")).to_be_visible()
    assert why.locator("p").inner_text().strip(), "the explanation is empty"
    shot(page, "patient-04-checklist-why-open")
    unsure = flows.items(page)[0]
    flows.answer_screen(page, lambda f: "unknown" if f == unsure else "absent")
    second = flows.screen(page)
    assert second and second != first

    # The browser's Back: the previous step with its answer; again: the body map with its ticks
    page.go_back()
    assert flows.screen(page) == first
    expect(page.locator(f"input[name=unsure][value={unsure}]")).to_be_checked()
    page.go_back()
    assert flows.screen(page) == "where"
    for key in flows.SCIATICA_REGIONS:
        expect(page.locator(f"input[name=region][value={key}]")).to_be_checked()
    expect(page.locator("input[name=side][value=left]")).to_be_checked()
    expect(page.get_by_label("How bad is the pain right now? (optional)")).to_have_value("6")
    # Forward twice: back at the step the interview had reached, nothing lost
    page.go_forward()
    page.go_forward()
    assert flows.screen(page) == second
    # The page's own Back link does the same
    with page.expect_navigation():
        page.get_by_role("link", name="Back").click()
    assert flows.screen(page) == first
    page.go_forward()

    asked = flows.interview(page, flows.yes_for(flows.SCIATICA_YES))
    assert len(asked) >= 3
    assert page.url.endswith(f"/a/{aid}/result")
    result = flows.result_summary(page)
    assert result["level"] in LEVEL_LABEL.values(), result
    assert result["share_code"], "the result page shows no share code"
    assert all(p.endswith("%") and p not in ("0%", "100%") for _n, p in result["conditions"]), result


def test_the_first_screen_of_the_result(sciatica: Finished) -> None:
    """On a phone the first 844 px of the result show the urgency, what to do now and the share actions."""
    page = sciatica.page
    page.goto(f"/a/{sciatica.id}/result")
    page.evaluate("() => window.scrollTo(0, 0)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "patient-05-result-first-screen.png"))  # the viewport only
    for name, loc in (("urgency", page.locator(".level").first),
                      ("what to do now", page.get_by_role("heading", name="What to do now")),
                      ("share code", page.locator(".share .code")),
                      ("PDF", page.get_by_role("link", name="Download the report (PDF)"))):
        expect(loc).to_be_visible()
        box = loc.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], \
            f"{name} is not within the first {PHONE['height']} px: {box}"
    # the rest opens on demand
    causes = page.locator("details.more").first
    expect(causes.locator(".conditions")).to_be_hidden()
    causes.locator("summary").first.click()
    expect(causes.locator(".conditions")).to_be_visible()
    shot(page, "patient-05-result")
    assert (ARTIFACTS / "screenshots" / "patient-05-result-first-screen.png").is_file()


def test_new_bladder_problem_is_an_emergency(phone: Any) -> None:
    page = phone
    flows.start(page, 52, "female")
    flows.fill_body_map(page, ["low_back_pain", "buttock_pain", "posterior_thigh_pain"], both_legs=True,
                        leg_worse=True)
    flows.submit_body_map(page)
    asked = flows.interview(page, lambda f: "present" if f == "bladder_problem_new" else "absent")
    assert "bladder_problem_new" in asked and flows.screen(page) is None
    assert page.url.endswith("/emergency"), page.url
    expect(page.get_by_role("heading", name="Get medical help now", level=1)).to_be_visible()
    expect(page.locator(".level-label")).to_have_text(LEVEL_LABEL["emergency"])
    assert page.locator("main ul.reasons li").count() >= 1, "no reason given for the emergency"
    assert "0%)" not in page.locator("main").inner_text()
    shot(page, "patient-07-emergency")


def _assert_body_map_readable(page: Any) -> None:
    """On the phone every region label is whole and on screen, and no label covers the drawing."""
    boxes = page.evaluate("""() => {
        const r = el => {const b = el.getBoundingClientRect(); return {x: b.left, y: b.top, w: b.width, h: b.height}};
        return {labels: [...document.querySelectorAll('.region-choice')].map(el => ({name: el.textContent.trim(),
                         cut: el.scrollWidth > el.clientWidth + 1, ...r(el)})),
                drawings: [...document.querySelectorAll('.legmap')].map(r)}}""")
    viewport = page.viewport_size["width"]
    assert len(boxes["drawings"]) == 2 and len(boxes["labels"]) >= 17
    for a in boxes["labels"]:
        assert not a["cut"], f"body-map label cut off: {a['name']!r}"
        assert a["x"] >= 0 and a["x"] + a["w"] <= viewport, f"body-map label off screen: {a}"
        assert a["h"] >= 44, f"body-map target smaller than 44 px: {a}"
        for d in boxes["drawings"]:
            overlap = a["x"] < d["x"] + d["w"] and d["x"] < a["x"] + a["w"] and a["y"] < d["y"] + d["h"] and \
                d["y"] < a["y"] + a["h"]
            assert not overlap, f"body-map label {a['name']!r} covers the drawing"
