"""Read and validate the care-plan YAML files shipped in ``painpath/careplan/data``.

Every failure raises :class:`CareContentError` whose message names the file and the key
(e.g. ``exercises.yaml: calf_raise_progressive.dose: a dose needs sources ...``).
Cross-file checks (ids that must exist elsewhere, level coverage) live in ``checks.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from painpath.domain import Level
from painpath.kb import KnowledgeBase, default_kb

from .schema import (
    ConditionContent,
    LibraryItem,
    NextStep,
    OutcomeSpec,
    Source,
    StartBackSpec,
    TailoringRule,
    Treatment,
)

__all__ = ["DATA_FILES", "CareContent", "CareContentError", "load_care_content"]

DATA_FILES = (
    "sources.yaml",
    "vocab.yaml",
    "content.yaml",
    "exercises.yaml",
    "treatments.yaml",
    "next_steps.yaml",
    "tailoring.yaml",
    "startback.yaml",
    "outcomes.yaml",
)

M = TypeVar("M", bound=BaseModel)


class CareContentError(ValueError):
    """A care-content file is missing, malformed, or fails validation. The message names file and key."""


@dataclass(frozen=True)
class CareContent:
    """All care-plan content, validated file by file."""

    sources: Mapping[str, Source]
    condition_levels: Mapping[str, str]  # the knowledge base's condition keys -> base triage level
    finding_keys: frozenset[str]
    conditions: Mapping[str, ConditionContent]
    library: Mapping[str, LibraryItem]
    treatments: Mapping[str, Treatment]
    next_steps: Mapping[str, NextStep]
    tailoring: tuple[TailoringRule, ...]
    startback: StartBackSpec
    outcomes: OutcomeSpec
    origin: str
    other_level: str = Level.SOON.value  # base level of the "fits no known cause" plan (content key ``other``)


def _read(root: Traversable, name: str) -> Any:
    node = root / name
    try:
        text = node.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise CareContentError(f"{name}: cannot read file ({exc})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CareContentError(f"{name}: invalid YAML: {exc}") from exc


def _section(data: Any, file: str, key: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise CareContentError(f"{file}: top-level key '{key}' must be a mapping")
    section: dict[str, Any] = data[key]
    return section


def _format(file: str, key: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"])
        where = f"{key}.{loc}" if loc else key
        lines.append(f"{file}: {where}: {err['msg']}")
    return "\n".join(lines)


def _validate(model: type[M], file: str, key: str, raw: Any) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise CareContentError(_format(file, key, exc)) from exc


def _keyed(
    model: type[M],
    file: str,
    section: dict[str, Any],
    *,
    with_id: bool,
    prepare: Callable[[str, Any], Any] | None = None,
) -> dict[str, M]:
    out: dict[str, M] = {}
    for key, raw in section.items():
        if prepare is not None:
            raw = prepare(key, raw)
        if with_id:
            if not isinstance(raw, dict):
                raise CareContentError(f"{file}: {key}: must be a mapping")
            raw = {"id": key, **raw}
        out[key] = _validate(model, file, key, raw)
    return out


def _resolve_inherit(key: str, raw: Any) -> Any:
    """Let a level say ``inherit: <other level>`` and copy the fields it does not set."""
    if not isinstance(raw, dict) or not isinstance(raw.get("levels"), dict):
        return raw
    levels: dict[str, Any] = dict(raw["levels"])
    for level, block in list(levels.items()):
        if isinstance(block, dict) and "inherit" in block:
            parent_name = block["inherit"]
            parent = levels.get(parent_name)
            if not isinstance(parent, dict) or "inherit" in parent:
                raise CareContentError(
                    f"content.yaml: {key}.levels.{level}.inherit: "
                    f"level {parent_name!r} is missing or itself inherits"
                )
            levels[level] = {**parent, **{k: v for k, v in block.items() if k != "inherit"}}
    return {**raw, "levels": levels}


def _load(root: Traversable, origin: str, kb: KnowledgeBase | None = None) -> CareContent:
    raw = {name: _read(root, name) for name in DATA_FILES}

    sources = _keyed(
        Source, "sources.yaml", _section(raw["sources.yaml"], "sources.yaml", "sources"), with_id=False
    )
    # The condition keys (with their base levels) and finding keys are the knowledge base's own; vocab.yaml
    # holds only what is care content's alone: the base level of the "fits no known cause" plan.
    vocab = raw["vocab.yaml"]
    if not isinstance(vocab, dict):
        raise CareContentError("vocab.yaml: must be a mapping (other: <level>)")
    stale = sorted(set(vocab) & {"conditions", "findings"})
    if stale:
        raise CareContentError(f"vocab.yaml: {', '.join(stale)}: no longer read here; the condition and finding "
                               "keys come from the knowledge base (kb/data/triage.yaml, findings.yaml)")
    other_level = vocab.get("other", Level.SOON.value)
    kb = kb or default_kb()
    cond_levels = dict(kb.triage.condition_levels)
    findings = list(kb.findings.findings)

    conditions = _keyed(
        ConditionContent,
        "content.yaml",
        _section(raw["content.yaml"], "content.yaml", "conditions"),
        with_id=False,
        prepare=_resolve_inherit,
    )
    library = _keyed(
        LibraryItem,
        "exercises.yaml",
        _section(raw["exercises.yaml"], "exercises.yaml", "items"),
        with_id=True,
    )
    treatments = _keyed(
        Treatment,
        "treatments.yaml",
        _section(raw["treatments.yaml"], "treatments.yaml", "treatments"),
        with_id=True,
    )
    next_steps = _keyed(
        NextStep,
        "next_steps.yaml",
        _section(raw["next_steps.yaml"], "next_steps.yaml", "next_steps"),
        with_id=True,
    )
    rules = _keyed(
        TailoringRule,
        "tailoring.yaml",
        _section(raw["tailoring.yaml"], "tailoring.yaml", "rules"),
        with_id=True,
    )
    startback = _validate(StartBackSpec, "startback.yaml", "startback", raw["startback.yaml"])
    outcomes = _validate(OutcomeSpec, "outcomes.yaml", "outcomes", raw["outcomes.yaml"])

    return CareContent(
        sources=sources,
        condition_levels={str(k): str(v) for k, v in cond_levels.items()},
        finding_keys=frozenset(findings),
        conditions=conditions,
        library=library,
        treatments=treatments,
        next_steps=next_steps,
        tailoring=tuple(rules.values()),
        startback=startback,
        outcomes=outcomes,
        origin=origin,
        other_level=str(other_level),
    )


@functools.lru_cache(maxsize=1)
def _packaged() -> CareContent:
    root = resources.files("painpath.careplan") / "data"
    return _load(root, "painpath.careplan/data")


def load_care_content(data_dir: str | Path | None = None, kb: KnowledgeBase | None = None) -> CareContent:
    """Load and validate care content; the packaged data (cached) unless ``data_dir`` is given. Its condition
    and finding keys are those of ``kb`` (default: the packaged knowledge base)."""
    if data_dir is None and kb is None:
        return _packaged()
    if data_dir is None:
        return _load(resources.files("painpath.careplan") / "data", "painpath.careplan/data", kb)
    path = Path(data_dir)
    return _load(path, str(path), kb)
