"""Seed cases typed into the web interview give the same triage level and top condition as painpath.assess.

The person chooses the body-map regions from the case's location findings and answers every
question from the case: true -> Yes, false or not listed -> No, null -> I don't know (examination
signs are "I don't know": in self mode they are ignored).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

import painpath
from painpath.engine import default_compiled
from painpath.web.bodymap import regions_from_case
from painpath.web.render import LEVEL_LABEL
from tests.browser import flows
from tests.browser.conftest import shot
from tests.conftest import DEV

SEEDS = ["dev-001", "dev-013", "dev-020"]


@pytest.mark.parametrize("case_id", SEEDS)
def test_seed_case_through_the_web_matches_assess(case_id: str, phone: Any) -> None:
    path = DEV / f"{case_id}.yaml"
    if not path.is_file():
        pytest.skip(f"seed case {case_id} not found at {path} (the benchmark lives in ../shared/benchmark/dev "
                    "next to the repository)")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    findings: dict[str, bool | None] = raw["findings"]
    kb = default_compiled().kb
    expected = painpath.assess(painpath.load_case(path, default_compiled()), mode="self")

    def as_bool(key: str) -> bool | None:
        return findings.get(key, False)

    def decide(finding: str) -> str:
        if kb.findings.findings[finding].kind == "sign":
            return "unknown"
        v = findings.get(finding, False)
        return "unknown" if v is None else "present" if v else "absent"

    page = phone
    flows.start(page, raw["age"], raw["sex"])
    regions = sorted(regions_from_case(default_compiled(), findings))
    assert regions, f"{case_id} has no body-map region"
    flows.fill_body_map(page, regions, both_legs=as_bool("pain_both_legs"),
                        leg_worse=as_bool("leg_pain_worse_than_back"))
    flows.submit_body_map(page)
    asked = flows.interview(page, decide)
    assert page.url.endswith("/result"), page.url
    shot(page, f"seed-{case_id}-result")

    got = flows.result_summary(page)
    want_level, want_top = LEVEL_LABEL[expected.triage.level], expected.conditions[0].short_name
    assert (got["level"], got["top"]) == (want_level, want_top), (
        f"{case_id}: the web interview gave {got['level']!r} / {got['top']!r}; painpath.assess gives "
        f"{want_level!r} / {want_top!r} (questions asked: {asked})")
