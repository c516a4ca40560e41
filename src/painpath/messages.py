"""What the core says in words, as message ids with parameters, so each front end can say it in its language.

The domain core (interview, triage, care plan, follow-up) composes a few sentences with names or numbers
inside: why a question is asked, the likely causes at the triage level, the care plan's notes and shared
advice, the follow-up's reasons, why an interview stopped. Each of those is a :class:`Message`: an ``id``
from :data:`MESSAGES` and the ``params`` that fill its slots (condition *keys*, numbers, levels), never the
finished English. :func:`render` turns a message into text:

* ``gettext`` translates the English template (which is the catalogue's msgid, ``{slot}`` placeholders and
  all) and every name put in a slot; the default (identity) gives the English the core has always written;
* ``names`` says what a key is called in English: a knowledge-base condition's short name (slot kind
  ``condition``), a care-plan condition's name (``care_condition``); the default reads the shipped knowledge
  base and care content. A key it does not know is shown as the key.

Slot kinds (``Template.slots``): ``condition`` and ``care_condition`` (a key, rendered as its translated
name), ``causes`` (a list of ``[condition key, probability]`` pairs: ``Name (12%), Name (5%)``), ``number``
(``{:g}``), ``decimal`` (``{:.1f}``), ``raw`` (kept as it is), ``key_list`` (a list of keys, written as a Python
list), and ``level`` (a triage level value) and ``condition_key`` (a care-plan condition key): these two are
written as they are by default (the care plan's notes say ``self_care`` and the key, as they always did), and
named only by a ``names`` that knows them (the web's: the level's label, the condition's name). Numbers are
formatted the same in every language.

Knowledge-base and care-content text that is not composed (a warning floor's reason, advice) has no
message id: that text is its own msgid. This module is part of the core: it imports no framework.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from painpath.domain import Level, StopReason

__all__ = [
    "LEVEL_RAISED",
    "MESSAGES",
    "SLOT_KINDS",
    "Message",
    "Names",
    "Template",
    "default_names",
    "render",
    "render_all",
    "stop_message",
]

#: (slot kind, key) -> the English name of that key, or None when it is unknown.
Names = Callable[[str, str], "str | None"]
Gettext = Callable[[str], str]

#: The care plan's notes that say why its level is above the engine's triage level (the plan's condition's lowest
#: level; a follow-up): the ids front ends pick out to show why the level was raised.
LEVEL_RAISED = ("plan.note.level_raised", "plan.note.level_raised_followup")

SLOT_KINDS = ("condition", "care_condition", "causes", "number", "decimal", "raw", "key_list", "level", "condition_key")


class Message(BaseModel):
    """A sentence as an id and its parameters; :func:`render` writes it in a language."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="message id (painpath.messages.MESSAGES); its English template is the "
                                "translation catalogue's msgid")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="the values of the template's {slots}: condition keys (shown as the condition's name), "
                    "numbers, level values, or for 'causes' a list of [condition key, probability] pairs")


@dataclass(frozen=True)
class Template:
    """A message's English template with ``{slot}`` placeholders, each slot's kind, and who says it."""

    text: str
    slots: Mapping[str, str]
    source: str

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.slots.items() if v not in SLOT_KINDS}
        if bad:
            raise ValueError(f"{self.text!r}: unknown slot kinds {bad}")
        try:
            self.text.format_map({k: "" for k in self.slots})
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"{self.text!r}: a placeholder has no slot ({exc})") from None


_WHY = "painpath.interview.policy.why_message (Question.why)"
_TRIAGE = "painpath.assessment._triage_result (TriageReason.text, kind 'condition')"
_SHARED = "painpath.careplan.assemble (CarePlan.shared_advice.note)"
_NOTES = "painpath.careplan.assemble (CarePlan.notes)"
_FOLLOWUP = "painpath.careplan.followup (FollowUpResult.reasons)"
_STOP = "painpath.interview.policy (Step.stop_reason)"
_TRENDS = {"improving": "improving", "no_change": "no change", "worse": "worse"}
_LEVEL_WORDS = {lv.value: lv.value.replace("_", " ") for lv in Level}

#: Every message id the core uses -> its English template.
MESSAGES: dict[str, Template] = {
    "why.presenting": Template(
        "Where the pain is tells us most about where it comes from, so we ask it first.", {}, _WHY),
    "why.warning": Template(
        "We ask about these warning signs as soon as your answers make them possible, because each of them "
        "needs quick medical care whatever the cause of the pain.", {}, _WHY),
    "why.check": Template("Your answer helps us check the most likely causes.", {}, _WHY),
    "why.separates": Template(
        "Your answers so far fit more than one cause. These are common with {a} but not with {b}, "
        "so your answer helps tell them apart.", {"a": "condition", "b": "condition"}, _WHY),
    "triage.likely_causes": Template("The likely causes at this level of care: {causes}.", {"causes": "causes"},
                                     _TRIAGE),
    "plan.shared.equally_likely": Template("{a} and {b} are about equally likely.",
                                           {"a": "care_condition", "b": "care_condition"}, _SHARED),
    "plan.shared.suits_both": Template("The exercises and self-care listed here suit both.", {}, _SHARED),
    **{f"plan.shared.other_needs.{lv.value}": Template(
        f"{{name}} would need {_LEVEL_WORDS[lv.value]} care: watch its warning signs.", {"name": "care_condition"},
        _SHARED) for lv in Level if lv > Level.SELF_CARE},
    "plan.note.level_raised": Template(
        "level raised from {from_level} to {to_level}, the lowest level for {condition}",
        {"from_level": "level", "to_level": "level", "condition": "condition_key"}, _NOTES),
    "plan.note.level_raised_followup": Template(
        "level raised from {from_level} to {to_level}, what the follow-up calls for (worse, or not improving)",
        {"from_level": "level", "to_level": "level"}, _NOTES),
    "plan.note.no_content": Template("no care content for {keys}; skipped", {"keys": "key_list"}, _NOTES),
    "plan.note.startback_not_back": Template(
        "STarT Back applies to back-related pain only; not used for this condition", {}, _NOTES),
    "plan.note.startback_missing": Template(
        "STarT Back not completed: score it to tailor the back-pain plan (stratified care)", {}, _NOTES),
    **{f"followup.pain.{t}": Template(f"pain {{before}} -> {{after}} ({words})",
                                      {"before": "number", "after": "number"}, _FOLLOWUP)
       for t, words in _TRENDS.items()},
    **{f"followup.psfs.{t}": Template(f"PSFS mean {{before}} -> {{after}} ({words})",
                                      {"before": "decimal", "after": "decimal"}, _FOLLOWUP)
       for t, words in _TRENDS.items()},
    "followup.psfs_activities_differ": Template(
        "PSFS activities differ between the two measurements; compare with care", {}, _FOLLOWUP),
    "followup.no_improvement": Template("no improvement after {weeks} weeks", {"weeks": "number"}, _FOLLOWUP),
    **{f"followup.current_acute.{lv.value}": Template(
        f"current assessment is {lv.value}: follow that plan first", {}, _FOLLOWUP) for lv in Level if lv.is_acute},
    f"stop.{StopReason.EMERGENCY.value}": Template("Stop the questions: please get help now.", {}, _STOP),
    f"stop.{StopReason.CAP.value}": Template("The questions stopped at the most we ask.", {}, _STOP),
    f"stop.{StopReason.CONFIDENT.value}": Template(
        "The questions stopped: more answers would not change the result.", {}, _STOP),
}


def stop_message(reason: str) -> Message | None:
    """The message for an interview's stop reason (``Step.stop_reason``); None while it is still asking."""
    if not reason:
        return None
    StopReason(reason)  # ValueError on an unknown reason
    return Message(id=f"stop.{reason}")


@cache
def _kb_short_names() -> dict[str, str]:
    from painpath.kb import default_kb

    return {k: c.short_name for k, c in default_kb().conditions.conditions.items()}


@cache
def _care_names() -> dict[str, str]:
    from painpath.careplan.loader import load_care_content

    return {k: c.name for k, c in load_care_content().conditions.items()}


def default_names(kind: str, key: str) -> str | None:
    """English names from the shipped knowledge base (``condition``) and care content (``care_condition``); the
    kinds ``level`` and ``condition_key`` are not named here, so the core's English keeps the value."""
    if kind == "condition":
        return _kb_short_names().get(key)
    if kind == "care_condition":
        return _care_names().get(key)
    return None


def _identity(text: str) -> str:
    return text


def _slot(kind: str, value: Any, gettext: Gettext, names: Names) -> str:
    if kind in ("condition", "care_condition", "level", "condition_key"):
        name = names(kind, str(value))
        return str(value) if name is None else gettext(name)
    if kind == "causes":
        parts = []
        for key, prob in value:
            name = names("condition", str(key))
            parts.append(f"{str(key) if name is None else gettext(name)} ({float(prob):.0%})")
        return ", ".join(parts)
    if kind == "number":
        return f"{float(value):g}"
    if kind == "decimal":
        return f"{float(value):.1f}"
    if kind == "key_list":
        return str([str(v) for v in value])
    return str(value)


def render(message: Message | Mapping[str, Any], gettext: Gettext | None = None, names: Names | None = None) -> str:
    """The text of ``message``: its template through ``gettext`` (default: English) with the slots filled.

    ``message`` may be a :class:`Message` or its stored JSON form (``{"id": ..., "params": {...}}``).
    ``KeyError`` for an unknown id or a missing parameter. A translation that lost or renamed a
    placeholder falls back to the English template (the catalogue test keeps that from happening).
    """
    msg = message if isinstance(message, Message) else Message.model_validate(message)
    spec = MESSAGES.get(msg.id)
    if spec is None:
        raise KeyError(f"unknown message id {msg.id!r}")
    tr = gettext or _identity
    nm = names or default_names
    missing = [k for k in spec.slots if k not in msg.params]
    if missing:
        raise KeyError(f"message {msg.id!r}: no value for {missing}")
    values = {k: _slot(kind, msg.params[k], tr, nm) for k, kind in spec.slots.items()}
    template = tr(spec.text)
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):
        return spec.text.format_map(values)


def render_all(messages: Sequence[Message | Mapping[str, Any]], gettext: Gettext | None = None,
               names: Names | None = None, sep: str = " ") -> str:
    """Several messages as one text (the shared-advice note is made of up to two sentences)."""
    return sep.join(render(m, gettext, names) for m in messages)
