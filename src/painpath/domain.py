"""PainPath's domain vocabulary, said once: triage levels, modes, settings, sexes, answers, stop reasons.

Every other module imports these names instead of spelling the values. The values are the strings
stored in the database, written in the knowledge base's YAML files and exchanged over the API, so
each enum is a :class:`~enum.StrEnum` (a member *is* its string: ``Level.SOON == "soon"``).

``Level`` is ordered by urgency (``Level.EMERGENCY > Level.SOON``; ``Level.SELF_CARE.rank == 0``).
The members are declared least urgent first, so declaration order is rank order and the order is
written nowhere else. The ``*Name`` ``Literal`` aliases exist for pydantic models and FastAPI
parameters whose JSON schema should stay an inline enum; ``tests/test_domain.py`` checks that each
alias lists exactly its enum's values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

__all__ = [
    "LEVELS_ASCENDING",
    "LEVELS_DESCENDING",
    "AnswerName",
    "AnswerValue",
    "Level",
    "LevelName",
    "RaisedLevelName",
    "Mode",
    "ModeName",
    "Setting",
    "Sex",
    "SexName",
    "Side",
    "SideName",
    "StopReason",
    "setting_for",
]


class Level(StrEnum):
    """A triage level. Ordered by urgency: comparisons (``<``, ``max``, ``sorted``) follow :attr:`rank`."""

    SELF_CARE = "self_care"
    SOON = "soon"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        """0 = self_care ... 3 = emergency."""
        return _RANK[self]

    @property
    def is_acute(self) -> bool:
        """Urgent or emergency: a plan that carries only the action, no self-management."""
        return self >= Level.URGENT

    @classmethod
    def parse(cls, value: str) -> Level:
        """The level named ``value``; ``ValueError`` naming the known levels if there is none."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"unknown triage level {value!r}; expected one of {list(LEVELS_ASCENDING)}"
            ) from None

    @classmethod
    def from_rank(cls, rank: int) -> Level:
        """The level of a rank (0 = self_care ... 3 = emergency); ``ValueError`` if out of range."""
        if not 0 <= rank < len(_BY_RANK):
            raise ValueError(f"triage level rank out of range: {rank}")
        return _BY_RANK[rank]

    def _other_rank(self, other: object) -> int | None:
        if isinstance(other, str):
            return Level.parse(other).rank
        return None

    def __lt__(self, other: object) -> bool:
        r = self._other_rank(other)
        return NotImplemented if r is None else self.rank < r

    def __le__(self, other: object) -> bool:
        r = self._other_rank(other)
        return NotImplemented if r is None else self.rank <= r

    def __gt__(self, other: object) -> bool:
        r = self._other_rank(other)
        return NotImplemented if r is None else self.rank > r

    def __ge__(self, other: object) -> bool:
        r = self._other_rank(other)
        return NotImplemented if r is None else self.rank >= r


_BY_RANK: tuple[Level, ...] = tuple(Level)
_RANK: dict[Level, int] = {lv: i for i, lv in enumerate(_BY_RANK)}

#: Level values, least urgent first (index = rank).
LEVELS_ASCENDING: tuple[str, ...] = tuple(lv.value for lv in _BY_RANK)
#: Level values, most urgent first (the order of the knowledge base's ``triage.yaml: levels``).
LEVELS_DESCENDING: tuple[str, ...] = LEVELS_ASCENDING[::-1]

#: The level values as a ``Literal`` (for pydantic fields and query parameters).
LevelName = Literal["emergency", "urgent", "soon", "self_care"]
#: The levels above self-care (those with a risk threshold in ``triage.yaml``), as a ``Literal``.
RaisedLevelName = Literal["emergency", "urgent", "soon"]


class Mode(StrEnum):
    """Who answers: the person in pain (no examination signs) or a clinician (signs too)."""

    SELF = "self"
    CLINICIAN = "clinician"


ModeName = Literal["self", "clinician"]


class Setting(StrEnum):
    """Where the person is seen; chooses the knowledge base's prior (``priors.yaml``)."""

    SELF = "self"
    CLINIC = "clinic"


def setting_for(mode: str, setting: str | None = None) -> str:
    """The prior setting of an assessment: an explicit ``setting`` wins, else self-assessments use the
    self-referred prior and clinician assessments the clinic prior."""
    if setting:
        return setting
    return (Setting.SELF if mode == Mode.SELF else Setting.CLINIC).value


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


SexName = Literal["female", "male"]


class AnswerValue(StrEnum):
    """An answer to one finding's question."""

    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"


AnswerName = Literal["present", "absent", "unknown"]


class Side(StrEnum):
    """Which leg hurts. It refines the finding ``pain_both_legs``: left or right is ``absent``, both is
    ``present`` (not sure is no side, and the finding ``unknown``)."""

    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"

    @property
    def both_legs(self) -> AnswerName:
        """The answer to ``pain_both_legs`` this side gives."""
        return "present" if self is Side.BOTH else "absent"


SideName = Literal["left", "right", "both"]


class StopReason(StrEnum):
    """Why an adaptive interview stopped (``Step.stop_reason``; ``""`` while it is still asking)."""

    EMERGENCY = "emergency"  # a warning floor at emergency level fired
    CAP = "cap"  # the question cap for the mode was reached
    CONFIDENT = "confident"  # no remaining screen is likely enough to change the result
