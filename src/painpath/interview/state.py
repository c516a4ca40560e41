"""The interview state: immutable and JSON-serialisable, so any front end can be stateless."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from painpath.cases import Case
from painpath.domain import Side, SideName
from painpath.engine import CompiledKB
from painpath.errors import CaseError

__all__ = ["BOTH_LEGS", "Answer", "AnswerValue", "InterviewState", "answer", "no_pain_anywhere", "start", "withdraw"]

AnswerValue = Literal["present", "absent", "unknown"]
BOTH_LEGS = "pain_both_legs"  # the finding the side refines


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    finding: str
    value: AnswerValue
    screen: str | None = None


class InterviewState(BaseModel):
    """Who is answering and every answer given, in order. Never mutated: each change returns a new state."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    version: Literal[1] = 1
    age: int = Field(ge=0, le=120)
    sex: Literal["female", "male"]
    mode: Literal["self", "clinician"] = "self"
    setting: str | None = None
    answers: tuple[Answer, ...] = ()
    screens_asked: tuple[str, ...] = Field(default=(), description="screens shown, in order (for counting and going back)")
    side: SideName | None = Field(
        default=None, description="which leg hurts (left, right or both), when the person said; it refines the "
        "answer to pain_both_legs (left or right: absent, both: present) and changes no result")

    @model_validator(mode="after")
    def _side_fits_the_answer(self) -> InterviewState:
        given = self.answer_map.get(BOTH_LEGS)
        if self.side is not None and given is not None and given != Side(self.side).both_legs:
            raise ValueError(f"side: '{self.side}' does not fit the answer {BOTH_LEGS}={given} "
                             f"(left or right means absent, both means present)")
        return self

    @field_validator("age", mode="before")
    @classmethod
    def _whole_years(cls, v: object) -> object:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError("age must be a whole number of years")
        return v

    @property
    def answer_map(self) -> dict[str, AnswerValue]:
        return {a.finding: a.value for a in self.answers}

    def as_case(self) -> Case:
        """The answers as a case; unanswered findings are *unknown* (nothing is assumed).

        The case lists only the answers given and reads every finding it does not list as
        unknown (``unlisted="unknown"``), unlike a case file, where an unlisted symptom is absent.
        """
        f: dict[str, bool | None] = {
            k: (True if v == "present" else False if v == "absent" else None) for k, v in self.answer_map.items()
        }
        return Case(id="interview", age=self.age, sex=self.sex, findings=f, unlisted="unknown")

    def evidence(self, ckb: CompiledKB) -> np.ndarray:
        ev = np.zeros(len(ckb.findings), dtype=np.int8)
        for k, v in self.answer_map.items():
            ev[ckb.fidx[k]] = 1 if v == "present" else -1 if v == "absent" else 0
        if self.mode == "self":
            ev[ckb.is_sign] = 0
        return ev


def start(age: int, sex: str, mode: str = "self", setting: str | None = None) -> InterviewState:
    try:
        return InterviewState(age=age, sex=sex, mode=mode, setting=setting)
    except ValueError as exc:
        raise CaseError(f"invalid interview start: {exc}") from exc


def answer(
    state: InterviewState,
    values: Mapping[str, AnswerValue],
    ckb: CompiledKB,
    *,
    screen: str | None = None,
    side: str | None = None,
) -> InterviewState:
    """Record answers (new or changed). A changed answer replaces the old one; everything is recomputed from the state.

    ``side`` (left, right or both) records which leg hurts and answers ``pain_both_legs`` with it (left or right:
    absent, both: present). Without it the side is kept while it fits the answer to ``pain_both_legs``: that
    answered present makes the side both, unknown clears it, absent keeps left or right."""
    problems: list[str] = []
    new_side: SideName | None = state.side
    if side is not None:
        if side not in set(Side):
            problems.append(f"side: must be left, right or both, got {side!r}")
        else:
            implied = Side(side).both_legs
            if values.get(BOTH_LEGS, implied) != implied:
                problems.append(f"side: '{side}' does not fit answers.{BOTH_LEGS}={values[BOTH_LEGS]!r} "
                                f"(left or right means absent, both means present)")
            if state.answer_map.get(BOTH_LEGS) != implied:  # an answer already given stays as it is
                values = {**values, BOTH_LEGS: implied}
            new_side = cast(SideName, side)  # checked just above
    elif BOTH_LEGS in values:  # the side follows a new answer to pain_both_legs
        given = values[BOTH_LEGS]
        if given == "present":
            new_side = Side.BOTH.value
        elif given != "absent" or state.side == Side.BOTH:
            new_side = None
    for key, value in values.items():
        if key not in ckb.fidx:
            problems.append(f"answers.{key}: unknown finding key")
            continue
        if value not in ("present", "absent", "unknown"):
            problems.append(f"answers.{key}: must be present, absent or unknown, got {value!r}")
        if state.mode == "self" and ckb.kb.findings.findings[key].kind == "sign":
            problems.append(f"answers.{key}: an examination finding cannot be answered in self mode")
    if problems:
        raise CaseError("; ".join(problems))
    kept = tuple(a for a in state.answers if a.finding not in values)
    new = tuple(Answer(finding=k, value=v, screen=screen) for k, v in values.items())
    asked = state.screens_asked + ((screen,) if screen and screen not in state.screens_asked else ())
    return state.model_copy(update={"answers": kept + new, "screens_asked": asked, "side": new_side})


def no_pain_anywhere(state: InterviewState, ckb: CompiledKB) -> list[str]:
    """A person's body map answered "no" at every place: nothing hurts, so there is nothing to assess.

    The front ends that take a person's answers (REST, stored assessments) refuse such a state; the core
    does not, so that simulated interviews of any case file still run."""
    for name, sc in ckb.kb.interview.screens.items():
        if sc.phase != "presenting":
            continue
        given = {a.finding: a.value for a in state.answers if a.finding in sc.findings}
        if len(given) == len(sc.findings) and all(v == "absent" for v in given.values()):
            return [f"answers: the '{name}' screen says there is no pain anywhere; "
                    "answer present for at least one place that hurts"]
    return []


def withdraw(state: InterviewState, findings: list[str] | None = None, *, screen: str | None = None) -> InterviewState:
    """Withdraw answers (by finding, or every answer of a screen, e.g. to go back)."""
    drop = set(findings or [])
    answers = tuple(a for a in state.answers if a.finding not in drop and (screen is None or a.screen != screen))
    # a screen none of whose answers remain counts as not asked, so its questions come back
    remaining = {a.screen for a in answers}
    before = {a.screen for a in state.answers}
    asked = tuple(s for s in state.screens_asked if s != screen and (s not in before or s in remaining))
    side = state.side if any(a.finding == BOTH_LEGS for a in answers) else None  # the side goes with its answer
    return state.model_copy(update={"answers": answers, "screens_asked": asked, "side": side})
