"""Benchmark v2 cases walked through the web interview on a phone, one per body-map region family.

The person taps the body map from the case's location findings and answers every screen from the case
by the benchmark's rules (as benchmarks/web_walk.py does for every case, in-process); the result must be
the one the simulated interview of ``painpath evaluate --interview`` gives: same urgency, same leading
condition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from playwright.sync_api import expect

from painpath.cases import parse_case
from painpath.engine import default_compiled
from painpath.interview.simulate import simulate
from painpath.web.bodymap import regions_for, regions_from_case
from painpath.web.render import LEVEL_LABEL
from tests.browser import flows
from tests.browser.conftest import shot

V2 = (Path(__file__).resolve().parents[2] / ".." / "shared" / "benchmark-v2" / "dev").resolve()
FAMILIES = ["back", "hip", "thigh", "knee", "lower_leg", "ankle_foot"]


def _case_for(family: str) -> tuple[Any, dict[str, Any]]:
    """A v2 dev case for each family, each a different case: the one whose painful places lie most within
    the family (fewest places elsewhere; file order on ties), with no emergency gold."""
    ckb = default_compiled()
    fam = {r.key: r.family for r in regions_for(ckb)}
    cases = []
    for path in sorted(V2.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw.setdefault("id", path.stem)
        if (raw.get("gold") or {}).get("triage") == "emergency":
            continue
        case = parse_case({k: v for k, v in raw.items() if k not in ("gold", "title", "narrative", "source")}, ckb)
        cases.append((case, raw, [fam[k] for k in regions_from_case(ckb, case.findings)]))
    used: set[str] = set()
    for f in FAMILIES:
        fits = [(sum(x != f for x in fams), i) for i, (_c, _r, fams) in enumerate(cases)
                if f in fams and cases[i][0].id not in used]
        if not fits:
            if f == family:
                pytest.skip(f"no v2 dev case with a {family} region")
            continue
        case, raw, _f = cases[min(fits)[1]]
        used.add(case.id)
        if f == family:
            return case, raw
    raise AssertionError(family)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_v2_case_walked_on_a_phone_gives_the_interview_result(family: str, phone: Any) -> None:
    if not V2.is_dir():
        pytest.skip(f"benchmark v2 not found at {V2}")
    ckb = default_compiled()
    case, _raw = _case_for(family)
    f = case.findings

    def decide(key: str) -> str:
        if ckb.kb.findings.findings[key].kind == "sign" or (key in f and f[key] is None):
            return "unknown"
        return "present" if f.get(key) else "absent"

    page = phone
    flows.start(page, case.age, case.sex)
    regions = sorted(regions_from_case(ckb, f))
    flows.fill_body_map(page, regions, both_legs=f.get("pain_both_legs", False),
                        leg_worse=f.get("leg_pain_worse_than_back", False))
    flows.submit_body_map(page)
    asked = flows.interview(page, decide)
    shot(page, f"walk-{family}-{case.id}")
    sim = simulate(case, "self", ckb=ckb)
    key = list(getattr(ckb, "candidates", ckb.conditions))[int(np.argmax(sim.posterior))]
    if page.url.endswith("/emergency"):
        page.goto(page.url.replace("/emergency", "/result"))
    got = flows.result_summary(page)
    if key == "other":  # the result says so in plain words instead of naming a cause
        expect(page.locator(".leading")).to_contain_text("do not fit the common causes")
        top = got["top"]
    else:
        top = ckb.kb.conditions.conditions[key].short_name
    assert (got["level"], got["top"]) == (LEVEL_LABEL[sim.level], top), (
        f"{case.id} ({family}): the web gave {got['level']!r} / {got['top']!r}, the simulated interview "
        f"{LEVEL_LABEL[sim.level]!r} / {top!r} (asked: {asked})")
