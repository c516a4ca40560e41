"""Pages and reports follow PAINPATH_REGION: the emergency number (with a tap-to-call link) and services.

With ``US`` no page or report names 999, A&E, NHS or a GP; with ``ES`` the number is 112 (in Spanish too);
the neutral default says "your local emergency number" and shows no call link. No template hard-codes a
country's number or service.
"""

from __future__ import annotations

import re

import pytest

from painpath.web.render import TEMPLATES

UK_WORDS = re.compile(r"\b999\b|A&amp;E|A&E|\bNHS\b|\bGPs?\b")


def _visible(html: str) -> str:
    """The page without its <style>/<script> blocks and tags (CSS may hold numbers like -999px)."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_hard_codes_a_countrys_number_or_service(path) -> None:  # type: ignore[no-untyped-def]
    text = _visible(path.read_text(encoding="utf-8"))  # text and Jinja expressions; not SVG coordinates
    assert not UK_WORDS.search(text), UK_WORDS.search(text)
    assert not re.search(r"\b(911|112)\b", text)


def _emergency(web):  # type: ignore[no-untyped-def]
    b = web.browser
    aid = b.start(age=50)
    b.where(aid, ["low_back_pain", "posterior_thigh_pain"], side="both")
    r = b.answer_until_done(aid, {"bladder_problem_new": "present"})
    assert r.url.path == f"/a/{aid}/emergency"
    return aid, r


def test_us_pages_and_report_give_911_and_no_uk_services(web, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PAINPATH_REGION", "US")
    aid, r = _emergency(web)
    assert 'href="tel:911"' in r.text and "Call 911 or go to the emergency room now." in r.text
    pages = {"emergency": r.text}
    for name in ("result", "report"):
        page = web.browser.get(f"/a/{aid}/{name}")
        assert page.status_code == 200
        pages[name] = page.text
    assert 'href="tel:911"' in pages["result"]  # the emergency plan has the call link too
    for name, html in pages.items():
        seen = UK_WORDS.search(_visible(html))
        assert not seen, (name, seen)
        assert "In an emergency call 911." in html or name == "report"


def test_a_finished_self_care_assessment_names_no_uk_service_in_the_us(web, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PAINPATH_REGION", "US")
    aid = web.browser.finished()
    for name in ("result", "report"):
        html = web.browser.get(f"/a/{aid}/{name}").text
        assert not UK_WORDS.search(_visible(html)), name


def test_spain_gives_112_in_spanish(web, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PAINPATH_REGION", "ES")
    aid, _ = _emergency(web)
    r = web.browser.get(f"/a/{aid}/emergency?lang=es")
    assert r.status_code == 200
    assert 'href="tel:112"' in r.text
    assert "Llame al 112 o vaya a urgencias del hospital ahora." in r.text
    assert "En una emergencia, llame al 112." in r.text
    assert not UK_WORDS.search(_visible(r.text))


def test_the_neutral_default_has_no_number_to_dial(web, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PAINPATH_REGION", raising=False)
    aid, r = _emergency(web)
    assert "tel:" not in r.text
    assert "Call your local emergency number or go to the nearest emergency department now." in r.text
    assert "In an emergency call your local emergency number." in r.text
    assert not re.search(r"\b(999|911|112)\b", _visible(r.text))
