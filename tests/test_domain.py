"""The domain vocabulary (painpath.domain): one ordered Level, and the values every module shares."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

import painpath
from painpath import domain
from painpath.domain import (
    AnswerName,
    AnswerValue,
    Level,
    LevelName,
    Mode,
    ModeName,
    RaisedLevelName,
    Sex,
    SexName,
    setting_for,
)

PKG = Path(painpath.__file__).resolve().parent


def test_levels_are_ordered_by_urgency() -> None:
    assert Level.SELF_CARE < Level.SOON < Level.URGENT < Level.EMERGENCY
    assert max(Level.SOON, Level.EMERGENCY, Level.URGENT) is Level.EMERGENCY
    assert sorted([Level.EMERGENCY, Level.SELF_CARE, Level.URGENT]) == [Level.SELF_CARE, Level.URGENT, Level.EMERGENCY]
    assert [lv.rank for lv in Level] == [0, 1, 2, 3]


def test_a_level_compares_with_its_plain_string() -> None:
    assert Level.URGENT > "soon"
    assert Level.SOON <= "soon"
    assert Level.SOON == "soon"
    assert {Level.SOON: 1}["soon"] == 1


def test_comparing_a_level_with_an_unknown_string_names_the_known_levels() -> None:
    with pytest.raises(ValueError, match="unknown triage level 'later'.*self_care"):
        _ = Level.SOON < "later"


def test_parse_and_from_rank_round_trip() -> None:
    for lv in Level:
        assert Level.parse(lv.value) is lv
        assert Level.from_rank(lv.rank) is lv
    with pytest.raises(ValueError, match="out of range"):
        Level.from_rank(4)
    with pytest.raises(ValueError, match="unknown triage level"):
        Level.parse("Emergency")


def test_only_urgent_and_emergency_are_acute() -> None:
    assert [lv for lv in Level if lv.is_acute] == [Level.URGENT, Level.EMERGENCY]


def test_descending_order_is_the_knowledge_base_order() -> None:
    assert domain.LEVELS_DESCENDING == tuple(reversed(domain.LEVELS_ASCENDING))
    assert painpath.default_kb().triage.levels == list(domain.LEVELS_DESCENDING)


@pytest.mark.parametrize(("alias", "enum"), [(LevelName, Level), (ModeName, Mode), (SexName, Sex),
                                             (AnswerName, AnswerValue)])
def test_each_literal_alias_lists_exactly_its_enum_values(alias: object, enum: type) -> None:
    assert set(get_args(alias)) == {m.value for m in enum}


def test_raised_levels_are_the_levels_above_self_care() -> None:
    assert set(get_args(RaisedLevelName)) == {lv.value for lv in Level if lv > Level.SELF_CARE}


def test_the_setting_follows_the_mode_unless_given() -> None:
    assert setting_for("self") == "self"
    assert setting_for("clinician") == "clinic"
    assert setting_for(Mode.CLINICIAN, "self") == "self"
    assert type(setting_for("self")) is str  # a plain string: stored, dumped to YAML, sent as JSON


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_no_module_outside_the_vocabulary_spells_a_level_order() -> None:
    """No module writes two or more level names as string literals (a tuple, dict or Literal of levels):
    the order and the set of levels come from painpath.domain."""
    levels = set(domain.LEVELS_ASCENDING)
    offenders = {}
    for path in sorted(PKG.rglob("*.py")):
        if path == PKG / "domain.py" or "migrations" in path.parts:
            continue
        spelled = sorted(set(_string_constants(path)) & levels)
        if len(spelled) >= 2:
            offenders[str(path.relative_to(PKG))] = spelled
    assert not offenders
