"""Reading cases (benchmark format) and encoding them as evidence arrays.

A case is ``{age, sex, findings}`` plus optional ``id``, ``title``,
``narrative``, ``source`` and ``gold``. Answer rules (benchmark README):
a symptom or history finding the case does not list is absent; a sign it does
not list is unknown; ``null`` is unknown; in ``self`` mode signs are hidden.

The "unlisted symptom = absent" rule belongs to case *files*, whose authors
list every symptom the narrative states. An interview knows only what it
asked: :meth:`painpath.interview.InterviewState.as_case` builds a case with
``unlisted="unknown"``, so a finding never asked is never weighed as "no". So
do FHIR ``$assess`` and CDS Hooks (a QuestionnaireResponse, the EHR's
Observations) and, by default, REST ``/v1/assess``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from painpath.domain import LEVELS_DESCENDING, ModeName, SexName
from painpath.engine.compiled import OTHER, CompiledKB
from painpath.errors import CaseError

__all__ = ["Case", "Gold", "Mode", "encode", "encode_many", "load_case", "load_cases", "parse_case"]

Mode = ModeName
TOP_KEYS = {"id", "title", "narrative", "age", "sex", "findings", "gold", "source"}
GOLD_KEYS = {"condition", "triage", "also_acceptable"}
LEVELS = LEVELS_DESCENDING


@dataclass(frozen=True)
class Gold:
    condition: str
    triage: str
    also_acceptable: tuple[str, ...] = ()

    @property
    def right_answers(self) -> tuple[str, ...]:
        return (self.condition, *self.also_acceptable)


@dataclass(frozen=True)
class Case:
    id: str
    age: int
    sex: SexName
    findings: Mapping[str, bool | None]
    gold: Gold | None = None
    title: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    unlisted: Literal["absent", "unknown"] = "absent"
    """How a symptom or history finding the case does not list is read: ``absent`` for case
    files (the benchmark rule), ``unknown`` for interviews (only the answers given count)."""


def _err(where: str, msg: str) -> CaseError:
    return CaseError(f"{where}: {msg}" if where else msg)


def parse_case(
    data: Any,
    ckb: CompiledKB,
    *,
    where: str = "",
    default_id: str = "case",
    require_gold: bool = False,
) -> Case:
    """Validate a decoded case mapping; raise CaseError naming the key on any problem."""
    if not isinstance(data, Mapping):
        raise _err(where, f"a case must be a mapping with age, sex and findings, not {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in TOP_KEYS)
    if unknown:
        raise _err(where, f"unknown top-level key '{unknown[0]}' (allowed: {', '.join(sorted(TOP_KEYS))})")
    for key in ("age", "sex", "findings"):
        if key not in data:
            raise _err(where, f"missing required key '{key}'")
    age = data["age"]
    if isinstance(age, bool) or not isinstance(age, int):
        raise _err(where, f"age: must be a whole number of years, got {age!r}")
    if not 0 <= age <= 120:
        raise _err(where, f"age: {age} is out of range (0 to 120)")
    sex = data["sex"]
    if sex not in ("female", "male"):
        raise _err(where, f"sex: must be 'female' or 'male', got {sex!r}")
    raw = data["findings"]
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _err(where, "findings: must be a mapping of finding key to true, false or null")
    findings: dict[str, bool | None] = {}
    for key, value in raw.items():
        if key not in ckb.fidx:
            raise _err(where, f"findings.{key}: unknown finding key")
        if value is not None and not isinstance(value, bool):
            raise _err(where, f"findings.{key}: must be true, false or null, got {value!r}")
        findings[str(key)] = value
    gold = None
    if "gold" in data and data["gold"] is not None:
        g = data["gold"]
        if not isinstance(g, Mapping):
            raise _err(where, "gold: must be a mapping with condition and triage")
        bad = sorted(str(k) for k in g if k not in GOLD_KEYS)
        if bad:
            raise _err(where, f"gold.{bad[0]}: unknown key (allowed: condition, triage, also_acceptable)")
        for key in ("condition", "triage"):
            if key not in g:
                raise _err(where, f"gold.{key}: missing")
        if not isinstance(g["condition"], str) or (g["condition"] not in ckb.cidx and g["condition"] != OTHER):
            raise _err(where, f"gold.condition: unknown condition key '{g['condition']}' (a condition key, or 'other')")
        if g["triage"] not in LEVELS:
            raise _err(where, f"gold.triage: must be one of {', '.join(LEVELS)}, got {g['triage']!r}")
        also = g.get("also_acceptable") or []
        if not isinstance(also, list):
            raise _err(where, "gold.also_acceptable: must be a list of condition keys")
        for c in also:
            if c == OTHER:
                raise _err(where, "gold.also_acceptable: 'other' is never an also-acceptable answer (only condition keys)")
            if not isinstance(c, str) or c not in ckb.cidx:
                raise _err(where, f"gold.also_acceptable: unknown condition key '{c}'")
        gold = Gold(g["condition"], g["triage"], tuple(also))
    elif require_gold:
        raise _err(where, "gold: missing (needed to score)")
    cid = data.get("id", default_id)
    if not isinstance(cid, str | int):
        raise _err(where, "id: must be a string")
    title = data.get("title")
    return Case(id=str(cid), age=age, sex=sex, findings=findings, gold=gold, title=title if isinstance(title, str) else None)


def _decode(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CaseError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise CaseError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise CaseError(f"{path}: malformed JSON at line {exc.lineno} ({exc.msg})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise CaseError(f"{path}: malformed YAML{line} ({getattr(exc, 'problem', None) or exc})") from exc
    except Exception as exc:  # noqa: BLE001 - only the parse is inside this try
        # a value the reader cannot build: PyYAML's constructors raise ValueError, IndexError, KeyError or
        # AttributeError on a date like 2020-99-99 or an empty !!int / !!bool / !!timestamp; nesting too deep
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise CaseError(f"{path}: malformed {kind} ({exc})") from exc


def load_case(path: str | Path, ckb: CompiledKB, *, require_gold: bool = False) -> Case:
    p = Path(path)
    if not p.is_file():
        raise CaseError(f"{p}: no such file")
    return parse_case(_decode(p), ckb, where=str(p), default_id=p.stem, require_gold=require_gold)


def load_cases(directory: str | Path, ckb: CompiledKB, *, require_gold: bool = False) -> list[Case]:
    """Every *.yaml, *.yml and *.json case in the directory itself, in file-name order."""
    d = Path(directory)
    if not d.is_dir():
        raise CaseError(f"{d}: not a directory")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in (".yaml", ".yml", ".json"))
    if not files:
        raise CaseError(f"{d}: no case files (*.yaml, *.yml, *.json)")
    return [load_case(p, ckb, require_gold=require_gold) for p in files]


def encode(case: Case, ckb: CompiledKB, mode: Mode = "self") -> np.ndarray:
    """Evidence vector (F,) of +1 present, -1 absent, 0 unknown under the answer rules.

    Unlisted symptoms and history are absent only when ``case.unlisted == "absent"`` (case files).
    """
    if case.unlisted == "absent":
        ev = np.where(ckb.is_sign, 0, -1).astype(np.int8)
    else:
        ev = np.zeros(len(ckb.findings), dtype=np.int8)
    for key, value in case.findings.items():
        ev[ckb.fidx[key]] = 0 if value is None else (1 if value else -1)
    if mode == "self":
        ev[ckb.is_sign] = 0
    return ev


def encode_many(cases: list[Case], ckb: CompiledKB, mode: Mode = "self") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ev = np.stack([encode(c, ckb, mode) for c in cases]) if cases else np.zeros((0, len(ckb.findings)), np.int8)
    age = np.array([c.age for c in cases], dtype=int)
    female = np.array([c.sex == "female" for c in cases], dtype=bool)
    return ev, age, female
