"""A person on a phone: start, body map, one question per page (Back, "Why am I asked this?"), result, emergency."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from painpath.engine import default_compiled
from painpath.web.render import LEVEL_LABEL
from tests.browser import flows
from tests.browser.conftest import shot


def test_interview_from_body_map_to_result(phone: Any) -> None:
    page = phone
    page.goto("/")
    shot(page, "patient-01-start")
    aid = flows.start(page, 38, "male")
    shot(page, "patient-02-body-map")

    # The body map: the regions are chosen by clicking their labels on the drawing.
    flows.fill_body_map(page, flows.SCIATICA_REGIONS, both_legs=False, leg_worse=True, pain_now=6)
    for key in flows.SCIATICA_REGIONS:
        expect(page.locator(f"label.hs-{key}")).to_have_class("hotspot hs-" + key + " on")
    expect(page.locator("label.hs-shin_pain input")).not_to_be_checked()
    shot(page, "patient-03-body-map-filled")
    _assert_body_map_readable(page)
    flows.submit_body_map(page)

    # The first question, with the progress bar and "Why am I asked this?".
    expect(page.get_by_role("navigation", name="Progress")).to_be_visible()
    first, first_text = flows.current_finding(page), flows.question_text(page)
    assert first_text == default_compiled().kb.findings.findings[first].question
    why = page.locator("details.why")
    expect(why).not_to_have_attribute("open", "")
    expect(why.locator("p")).to_be_hidden()
    page.get_by_text("Why am I asked this?", exact=True).click()
    expect(why).to_have_attribute("open", "")
    expect(why.locator("p")).to_be_visible()
    assert why.locator("p").inner_text().strip(), "the explanation is empty"
    shot(page, "patient-04-question-why-open")

    # Answer it, then go Back: the same question is asked again.
    flows.answer(page, "absent")
    second = flows.current_finding(page)
    assert second != first
    with page.expect_navigation():
        page.get_by_role("button", name="Back").click()
    assert flows.current_finding(page) == first
    assert flows.question_text(page) == first_text

    # Back from the first question returns to the body map, with the regions to choose again.
    with page.expect_navigation():
        page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("heading", name="Where do you feel the pain?")).to_be_visible()
    flows.fill_body_map(page, flows.SCIATICA_REGIONS, both_legs=False, leg_worse=True)
    flows.submit_body_map(page)
    assert flows.current_finding(page) == first

    asked = flows.interview(page, flows.yes_for(flows.SCIATICA_YES))
    assert first in asked and len(asked) >= 3
    assert page.url.endswith(f"/a/{aid}/result")
    shot(page, "patient-05-result")

    result = flows.result_summary(page)
    expect(page.get_by_role("heading", name="How urgent is it?")).to_be_visible()
    expect(page.get_by_role("heading", name="Possible causes")).to_be_visible()
    assert result["level"] in LEVEL_LABEL.values(), result
    assert result["level"] == LEVEL_LABEL["self_care"], result
    assert result["top"] == "Sciatica (irritated nerve root)", result
    assert len(result["conditions"]) >= 2 and all(p.endswith("%") for _n, p in result["conditions"]), result
    assert result["share_code"], "the result page shows no share code"
    expect(page.locator(".qr svg")).to_be_visible()


def test_new_bladder_problem_is_an_emergency(phone: Any) -> None:
    page = phone
    flows.start(page, 52, "female")
    flows.fill_body_map(page, ["low_back_pain", "buttock_pain", "posterior_thigh_pain"], both_legs=True,
                        leg_worse=True)
    flows.submit_body_map(page)
    bladder = default_compiled().kb.findings.findings["bladder_problem_new"].question

    def decide(finding: str) -> str:
        if finding == "bladder_problem_new":
            assert flows.question_text(page) == bladder
            shot(page, "patient-06-question-bladder")
            return "present"
        return "absent"

    asked = flows.interview(page, decide)
    assert asked[-1] == "bladder_problem_new", asked
    assert page.url.endswith("/emergency"), page.url
    expect(page.get_by_role("heading", name="Get medical help now", level=1)).to_be_visible()
    expect(page.locator(".level-label")).to_have_text(LEVEL_LABEL["emergency"])
    expect(page.locator(".callout.danger")).to_contain_text("emergency")
    assert page.locator("main ul li").count() >= 1, "no reason given for the emergency"
    shot(page, "patient-07-emergency")


def _assert_body_map_readable(page: Any) -> None:
    """On the phone every region label is whole (not cut off) and no label covers another or a caption."""
    boxes = page.evaluate("""() => [...document.querySelectorAll('.body')].map(fig => [...fig.querySelectorAll(
        '.hotspot, figcaption')].map(el => {const r = el.getBoundingClientRect();
        return {name: el.textContent.trim(), x: r.left, y: r.top, w: r.width, h: r.height,
                cut: el.scrollWidth > el.clientWidth + 1}}))""")
    viewport = page.viewport_size["width"]
    for fig in boxes:
        for i, a in enumerate(fig):
            assert not a["cut"], f"body-map label cut off: {a['name']!r}"
            assert a["x"] >= 0 and a["x"] + a["w"] <= viewport, f"body-map label off screen: {a}"
            for b in fig[i + 1:]:
                overlap = (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
                           and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])
                assert not overlap, f"body-map labels overlap: {a['name']!r} and {b['name']!r}"
