"""Cross-file checks on care content, in the spirit of pgmpy's ``check_model()``.

``check_care_content()`` returns a list of problem strings, each naming file and key; an empty
list means the content is complete. It is what ``painpath kb check`` runs for the care plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from painpath.domain import Level

from .loader import CareContent, CareContentError, load_care_content
from .regions import PLACEHOLDERS, placeholders_in
from .schema import LEVELS, Source, level_rank

__all__ = ["check_care_content", "required_levels"]


def required_levels(base_level: str) -> list[str]:
    """Levels a condition can take: its base level and every more urgent one (warning floors)."""
    return [lvl for lvl in LEVELS if level_rank(lvl) >= level_rank(base_level)]


def _walk(obj: object, path: str) -> Iterator[tuple[str, BaseModel]]:
    if isinstance(obj, BaseModel):
        yield path, obj
        for name in type(obj).model_fields:
            yield from _walk(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _walk(value, f"{path}[{i}]")


def _check_sources(content: CareContent, file: str, key: str, obj: object) -> list[str]:
    problems = []
    for path, model in _walk(obj, key):
        sources = getattr(model, "sources", None)
        if not isinstance(sources, list):
            continue
        for sid in sources:
            if sid not in content.sources:
                problems.append(f"{file}: {path}.sources: unknown source id {sid!r}")
            elif content.sources[sid].kind == "estimate" and not getattr(model, "estimate", None):
                problems.append(f"{file}: {path}: cites {sid!r} but gives no 'estimate:' reason")
    return problems


def _check_conditions(content: CareContent) -> list[str]:
    problems: list[str] = []
    file = "content.yaml"
    expected = {**content.condition_levels, "other": content.other_level}
    for key in expected:
        if key not in content.conditions:
            problems.append(f"{file}: {key}: no care content for this condition")
    for key, cond in content.conditions.items():
        if key not in expected:
            problems.append(f"{file}: {key}: not a known condition key (the knowledge base's triage.yaml)")
            continue
        if cond.base_level != expected[key]:
            problems.append(
                f"{file}: {key}.base_level: {cond.base_level!r} but the knowledge base says {expected[key]!r}"
            )
        for level in required_levels(expected[key]):
            if level not in cond.levels:
                problems.append(f"{file}: {key}.levels.{level}: missing (condition can be triaged {level})")
        for level in cond.levels:
            if level_rank(level) < level_rank(expected[key]):
                problems.append(
                    f"{file}: {key}.levels.{level}: below the condition's base level {expected[key]!r}"
                )
        for i, step in enumerate(cond.next_steps):
            if step not in content.next_steps:
                problems.append(f"{file}: {key}.next_steps[{i}]: unknown next-step id {step!r}")
        for level, block in cond.levels.items():
            where = f"{key}.levels.{level}"
            if not Level.parse(level).is_acute and block.expected_course is None:
                problems.append(f"{file}: {where}.expected_course: missing")
            for i, ex in enumerate(block.exercises):
                item = content.library.get(ex)
                if item is None:
                    problems.append(f"{file}: {where}.exercises[{i}]: unknown exercise id {ex!r}")
                elif item.kind != "exercise":
                    problems.append(f"{file}: {where}.exercises[{i}]: {ex!r} is a self_care item")
            for i, sc in enumerate(block.self_care):
                if sc not in content.library:
                    problems.append(f"{file}: {where}.self_care[{i}]: unknown self-care id {sc!r}")
            for i, tr in enumerate(block.treatments):
                if tr not in content.treatments:
                    problems.append(f"{file}: {where}.treatments[{i}]: unknown treatment id {tr!r}")
        problems += _check_sources(content, file, key, cond)
    return problems


def _check_library_and_rules(content: CareContent) -> list[str]:
    problems: list[str] = []
    known_conditions = set(content.condition_levels) | {"*"}
    for key, item in content.library.items():
        problems += _check_sources(content, "exercises.yaml", key, item)
    for key, tr in content.treatments.items():
        problems += _check_sources(content, "treatments.yaml", key, tr)
        for c in tr.conditions:
            if c not in known_conditions:
                problems.append(f"treatments.yaml: {key}.conditions: unknown condition {c!r}")
    for key, step in content.next_steps.items():
        problems += _check_sources(content, "next_steps.yaml", key, step)
        for f in step.triggers:
            if f not in content.finding_keys:
                problems.append(f"next_steps.yaml: {key}.triggers: unknown finding {f!r}")
    for rule in content.tailoring:
        where = f"tailoring.yaml: {rule.id}"
        problems += _check_sources(content, "tailoring.yaml", rule.id, rule)
        for f in rule.when_any:
            if f not in content.finding_keys:
                problems.append(f"{where}.when_any: unknown finding {f!r}")
        for c in rule.conditions:
            if c not in known_conditions:
                problems.append(f"{where}.conditions: unknown condition {c!r}")
        if any(Level.parse(lv).is_acute for lv in rule.levels):
            problems.append(f"{where}.levels: tailoring may not add items at emergency/urgent")
        for field, table in (
            ("add_exercises", content.library),
            ("add_self_care", content.library),
            ("add_treatments", content.treatments),
        ):
            for i, ref in enumerate(getattr(rule, field)):
                if ref not in table:
                    problems.append(f"{where}.{field}[{i}]: unknown id {ref!r}")
    return problems


#: Words that tie advice to one country's health service; content says {emergency_number} etc. instead.
_COUNTRY_WORDS = re.compile(r"\b(999|911|112|111)\b|A&E|\bNHS\b|\bGPs?\b|\bER\b")


def _texts(obj: object, path: str) -> Iterator[tuple[str, str]]:
    """Every string a person can read in ``obj`` (bibliography entries excluded), with its path."""
    if isinstance(obj, Source):
        return
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            if name in ("sources", "id", "estimate", "grade_note"):
                continue
            yield from _texts(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _texts(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _texts(value, f"{path}[{i}]")


def _check_region_words(content: CareContent) -> list[str]:
    """No country's emergency number or service is written into the content, and every
    ``{placeholder}`` is one the region data fills (see regions.py)."""
    problems: list[str] = []
    tables = (
        ("content.yaml", content.conditions),
        ("exercises.yaml", content.library),
        ("treatments.yaml", content.treatments),
        ("next_steps.yaml", content.next_steps),
        ("tailoring.yaml", {r.id: r for r in content.tailoring}),
        ("outcomes.yaml", {"outcomes": content.outcomes}),
    )
    for file, table in tables:
        for key, obj in table.items():
            for path, text in _texts(obj, key):
                found = _COUNTRY_WORDS.search(text)
                if found:
                    problems.append(
                        f"{file}: {path}: names a country's service {found.group(0)!r}; "
                        "use {emergency_number}, {emergency_department}, {urgent_service}, "
                        "{primary_care} or {primary_care_practice}"
                    )
                for name in placeholders_in(text):
                    if name not in PLACEHOLDERS:
                        problems.append(f"{file}: {path}: unknown placeholder {{{name}}}")
    return problems


def _check_instruments(content: CareContent) -> list[str]:
    problems = _check_sources(content, "startback.yaml", "startback", content.startback)
    problems += _check_sources(content, "outcomes.yaml", "outcomes", content.outcomes)
    for sid in content.startback.sources + content.outcomes.rule_sources:
        if sid not in content.sources:
            problems.append(f"startback.yaml/outcomes.yaml: unknown source id {sid!r}")
    ids = [item.id for item in content.startback.items]
    if ids != [f"item{i}" for i in range(1, 10)]:
        problems.append(f"startback.yaml: items: ids must be item1..item9 in order, got {ids}")
    psych = [item.id for item in content.startback.items if item.subscale == "psychosocial"]
    if psych != [f"item{i}" for i in range(5, 10)]:
        problems.append("startback.yaml: items: the psychosocial subscale must be items 5-9")
    return problems


def check_care_content(data_dir: str | Path | None = None) -> list[str]:
    """Every problem in the care content, as ``file: key: message`` strings (empty = all good)."""
    try:
        content = load_care_content(data_dir)
    except CareContentError as exc:
        return str(exc).splitlines()
    problems = _check_conditions(content)
    problems += _check_library_and_rules(content)
    problems += _check_instruments(content)
    problems += _check_region_words(content)
    return problems
