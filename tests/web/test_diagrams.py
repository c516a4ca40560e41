"""Exercise diagrams: every exercise a care plan can show resolves to a small, safe, well-formed SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from painpath.careplan import load_care_content
from painpath.web.render import DIAGRAMS, diagram, env

SVG_NS = "{http://www.w3.org/2000/svg}"
STATIC = DIAGRAMS.parent


def plan_exercises() -> list[str]:
    """Every exercise id that can reach a plan: named in a condition's level block or added by a tailoring rule."""
    content = load_care_content()
    ids: set[str] = set()
    for cond in content.conditions.values():
        for block in cond.levels.values():
            ids.update(block.exercises)
    for rule in content.tailoring:
        ids.update(rule.add_exercises)
    return sorted(ids)


def file_of(url: str) -> Path:
    assert url.startswith("/static/exercises/") and url.endswith(".svg"), url
    return STATIC / url.removeprefix("/static/")


def check_svg(path: Path) -> None:
    raw = path.read_bytes()
    assert len(raw) < 4096, f"{path.name}: {len(raw)} bytes (keep each diagram under 4 KB)"
    text = raw.decode("utf-8")
    root = ET.fromstring(text)  # well-formed XML
    assert root.tag == f"{SVG_NS}svg", f"{path.name}: root element is {root.tag}"
    assert root.get("viewBox") == "0 0 160 120", path.name
    lowered = text.lower()
    assert "<script" not in lowered and "javascript:" not in lowered, f"{path.name}: script"
    assert "<foreignobject" not in lowered and "<!entity" not in lowered and "<!doctype" not in lowered, path.name
    assert not re.search(r"\son[a-z]+\s*=", lowered), f"{path.name}: event handler attribute"
    for el in root.iter():
        for name, value in el.attrib.items():
            if name == "href" or name.endswith("}href"):
                assert value.startswith("#"), f"{path.name}: external reference {value!r}"
            if "url(" in value:
                assert re.fullmatch(r"url\(#[\w-]+\)", value.strip()), f"{path.name}: external url() {value!r}"
    assert "@import" not in lowered and "<image" not in lowered, f"{path.name}: external resource"


def test_every_plan_exercise_is_in_the_library() -> None:
    library = load_care_content().library
    ids = plan_exercises()
    assert ids, "no exercise is named in any plan"
    assert all(library[i].kind == "exercise" for i in ids)


@pytest.mark.parametrize("exercise_id", plan_exercises())
def test_every_plan_exercise_has_a_diagram(exercise_id: str) -> None:
    item = load_care_content().library[exercise_id]
    url = diagram(item)
    assert url is not None, f"{exercise_id} ({item.category}): no diagram for the exercise or its category"
    assert file_of(url).is_file()
    # the plan stored with an assessment is JSON: the lookup gives the same answer for the dict form
    assert diagram(item.model_dump(mode="json")) == url
    check_svg(file_of(url))


def test_every_exercise_category_has_its_own_diagram() -> None:
    library = load_care_content().library
    categories = {library[i].category for i in plan_exercises()}
    missing = sorted(c for c in categories if not (DIAGRAMS / f"{c}.svg").is_file())
    assert not missing, f"categories without a diagram: {missing}"


def test_per_exercise_diagram_wins_over_the_category() -> None:
    library = load_care_content().library
    specific = [i for i in plan_exercises() if (DIAGRAMS / f"{i}.svg").is_file()]
    assert specific, "no per-exercise diagram"
    for i in specific:
        assert diagram(library[i]) == f"/static/exercises/{i}.svg"
    general = [i for i in plan_exercises() if i not in specific]
    for i in general:
        assert diagram(library[i]) == f"/static/exercises/{library[i].category}.svg"


def test_unknown_exercise_and_category_give_no_diagram() -> None:
    assert diagram({"id": "no_such_exercise", "category": "medicine"}) is None
    assert diagram({}) is None
    assert diagram({"id": "../app", "category": "../../templates/base"}) is None


@pytest.mark.parametrize("path", sorted(DIAGRAMS.glob("*.svg")), ids=lambda p: p.name)
def test_every_diagram_file_is_safe(path: Path) -> None:
    check_svg(path)


def test_no_orphan_diagram_files() -> None:
    library = load_care_content().library
    names = {p.stem for p in DIAGRAMS.glob("*.svg")}
    known = {i for i, it in library.items() if it.kind == "exercise"} | {it.category for it in library.values()}
    assert names <= known, f"diagrams named after nothing: {sorted(names - known)}"


def test_plan_template_uses_the_lookup_and_omits_a_missing_picture() -> None:
    tpl = env().from_string('{% set plan = p %}{% include "_plan.html" %}')
    base = {"do_now": [], "avoid": [], "expected_course": None, "self_care": [], "treatments": [],
            "safety_net": [{"text": "Get help if it gets worse."}]}
    ex = {"id": "hamstring_stretch", "category": "stretch", "name": "Back-of-thigh stretch", "purpose": "p",
          "steps": ["s"], "dose": None, "stop_rules": ["r"]}
    html = tpl.render(p={**base, "exercises": [ex]})
    assert '<img src="/static/exercises/hamstring_stretch.svg"' in html
    html = tpl.render(p={**base, "exercises": [{**ex, "id": "x_new", "category": "medicine"}]})
    assert "<img" not in html and "Back-of-thigh stretch" in html


def test_diagrams_are_served(web) -> None:  # type: ignore[no-untyped-def]
    for path in sorted(DIAGRAMS.glob("*.svg")):
        r = web.browser.get(f"/static/exercises/{path.name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml"), path.name


@pytest.mark.parametrize("exercise_id", sorted(i for i, it in load_care_content().library.items() if it.kind == "exercise"))
def test_every_library_exercise_resolves_to_a_valid_svg(exercise_id: str) -> None:
    url = diagram(load_care_content().library[exercise_id])
    assert url is not None, exercise_id
    check_svg(file_of(url))


@pytest.mark.parametrize("exercise_id", ["calf_stretch_wall", "hip_flexor_stretch_kneeling", "quadriceps_stretch_standing"])
def test_the_three_seed_stretches_have_their_own_diagram(exercise_id: str) -> None:
    assert diagram(load_care_content().library[exercise_id]) == f"/static/exercises/{exercise_id}.svg"
    check_svg(DIAGRAMS / f"{exercise_id}.svg")
