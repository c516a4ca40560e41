"""Advice that fits the country: PAINPATH_REGION decides the emergency number and services in every plan.

Every condition (and ``other``) at every level it has content for is built for every region; with ``US``
no plan names 999, A&E, NHS or a GP, with ``ES`` the emergency number is 112, and the neutral default says
"your local emergency number". Every item of every care file is filled the same way.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from painpath.careplan import (
    OutcomeSnapshot,
    build_care_plan,
    load_care_content,
)
from painpath.careplan.regions import (
    PLACEHOLDERS,
    fill,
    fill_deep,
    localised_pairs,
    region_code,
    regions,
    services,
)
from painpath.services import followup_result

UK_WORDS = re.compile(r"\b999\b|A&E|\bNHS\b|\bGPs?\b|\b111\b")
PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
CONTENT = load_care_content()
PLANS = [(c, lvl) for c, cond in sorted(CONTENT.conditions.items()) for lvl in cond.levels]


def _plan_text(plan: Any) -> str:
    """Everything a person reads in a plan (the bibliography, sources_used, is left out)."""
    return json.dumps(plan.model_dump(mode="json", exclude={"sources_used"}), ensure_ascii=False)


def _findings_for(level: str) -> dict[str, bool]:
    # a warning finding for acute levels, so the triggered clinician steps are part of the check too
    return {"chest_pain_breathless": True} if level == "emergency" else {}


# --- the setting --------------------------------------------------------------------------------------------

def test_region_codes_are_normalised_and_unknown_ones_name_the_setting() -> None:
    assert region_code("us") == "US" and region_code(" gb ") == "GB" and region_code("UK") == "GB"
    assert region_code(None) == region_code("") == "default"
    with pytest.raises(ValueError, match=r"PAINPATH_REGION: unknown region 'FR'.*'ES'"):
        region_code("FR")


def test_the_setting_is_validated_in_the_service_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from painpath.config import Settings, get_settings
    from painpath.errors import ConfigError

    monkeypatch.delenv("PAINPATH_REGION", raising=False)
    assert Settings(region="es").region == "ES"
    assert Settings().region == "default"
    monkeypatch.setenv("PAINPATH_REGION", "Narnia")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"PAINPATH_REGION: .*unknown region 'Narnia'"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_every_region_fills_every_placeholder_in_both_languages() -> None:
    assert {"default", "GB", "US", "ES"} <= set(regions())
    for code in regions():
        for lang in ("en", "es"):
            words = services(code, lang)
            assert all(words[p] for p in PLACEHOLDERS), (code, lang)
    assert services("GB")["tel"] == "999" and services("US")["tel"] == "911" and services("ES")["tel"] == "112"
    assert services("default")["tel"] is None


def test_fill_leaves_unknown_braces_alone() -> None:
    assert fill("Call {emergency_number} about {other}", services("ES")) == "Call 112 about {other}"


# --- every plan, every region -------------------------------------------------------------------------------

@pytest.mark.parametrize(("condition", "level"), PLANS)
def test_us_plans_never_name_uk_services(condition: str, level: str) -> None:
    plan = build_care_plan([(condition, 0.9)], level, _findings_for(level), region="US")
    text = _plan_text(plan)
    assert not UK_WORDS.search(text), UK_WORDS.search(text)
    assert not PLACEHOLDER.search(text)


@pytest.mark.parametrize(("condition", "level"), [(c, lvl) for c, lvl in PLANS if lvl == "emergency"])
def test_emergency_plans_give_the_regions_number(condition: str, level: str) -> None:
    es = _plan_text(build_care_plan([(condition, 0.9)], level, {}, region="ES"))
    assert "112" in es and not UK_WORDS.search(es)
    us = _plan_text(build_care_plan([(condition, 0.9)], level, {}, region="US"))
    assert "911" in us
    neutral = _plan_text(build_care_plan([(condition, 0.9)], level, {}, region="default"))
    assert "your local emergency number" in neutral
    assert not re.search(r"\b(999|911|112)\b", neutral)
    gb = _plan_text(build_care_plan([(condition, 0.9)], level, {}, region="GB"))
    assert "999" in gb


def test_the_environment_setting_drives_plans_and_follow_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAINPATH_REGION", "ES")
    plan = build_care_plan([("hip_fracture", 0.9)], "emergency", {})
    assert plan.headline.startswith("Call 112 for an ambulance")
    monkeypatch.setenv("PAINPATH_REGION", "US")
    same = OutcomeSnapshot(pain=6)
    result = followup_result(same, same, weeks_since_first=8, current_triage_level="self_care")
    assert "primary care doctor" in result.advice.text and "GP" not in result.advice.text
    monkeypatch.setenv("PAINPATH_REGION", "XX")
    with pytest.raises(ValueError, match="PAINPATH_REGION"):
        build_care_plan([("gout", 0.9)], "soon", {})


def test_urgent_plans_name_the_regions_same_day_service() -> None:
    gb = build_care_plan([("cellulitis", 0.9)], "urgent", {}, region="GB")
    us = build_care_plan([("cellulitis", 0.9)], "urgent", {}, region="US")
    assert "NHS 111" in gb.do_now[0].text and "GP surgery" in gb.do_now[0].text
    assert us.do_now[0].text == ("Contact your doctor's office and ask for a same-day appointment. If it is "
                                 "closed, use an urgent care center or your doctor's after-hours line.")


# --- every care file ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("region", ["US", "ES", "default"])
def test_every_item_of_every_care_file_is_free_of_uk_services_when_filled(region: str) -> None:
    words = services(region)
    tables = {
        "content.yaml": CONTENT.conditions,
        "exercises.yaml": CONTENT.library,
        "treatments.yaml": CONTENT.treatments,
        "next_steps.yaml": CONTENT.next_steps,
        "tailoring.yaml": {r.id: r for r in CONTENT.tailoring},
        "outcomes.yaml": {"outcomes": CONTENT.outcomes},
    }
    bad = []
    for file, table in tables.items():
        for key, item in table.items():
            text = json.dumps(fill_deep(item.model_dump(mode="json", exclude={"sources"}), words), ensure_ascii=False)
            if UK_WORDS.search(text) or PLACEHOLDER.search(text):
                bad.append(f"{file}: {key}")
    assert not bad, bad


def test_spanish_translations_are_filled_for_every_region() -> None:
    from painpath.web import i18n

    cat = i18n.catalogue("es")
    msgid = "Call {emergency_number} or go to {emergency_department} now."
    pairs = dict(localised_pairs({msgid: cat[msgid]}, "es"))
    assert pairs["Call 112 or go to the hospital emergency department (urgencias) now."] == (
        "Llame al 112 o vaya a urgencias del hospital ahora.")
    assert cat["Call 911 or go to the emergency room now."] == "Llame al 911 o vaya a la sala de emergencias ahora."
    neutral = "Call your local emergency number or go to the nearest emergency department now."
    assert cat[neutral] == "Llame al número local de emergencias o vaya a urgencias del hospital más cercano ahora."


@pytest.mark.parametrize(("condition", "level"), [(c, lvl) for c, lvl in PLANS if lvl in ("emergency", "urgent")])
def test_acute_plans_read_in_spanish_for_a_us_user(condition: str, level: str) -> None:
    from painpath.web import i18n

    plan = build_care_plan([(condition, 0.9)], level, {}, region="US")
    texts = [plan.headline, plan.why.text, *(i.text for i in plan.do_now), *(i.text for i in plan.safety_net)]
    untranslated = [t for t in texts if i18n.translate(t, "es") == t]
    assert not untranslated
    spanish = " ".join(i18n.translate(t, "es") for t in texts)
    assert not UK_WORDS.search(spanish) and not PLACEHOLDER.search(spanish)
