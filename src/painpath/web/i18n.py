"""Translations through Babel message catalogues (``locale/<lang>/LC_MESSAGES/messages.po``).

The catalogues are read with Babel when the app starts (no compiled ``.mo``
files to keep in step). Knowledge-base and care-plan text (questions,
condition names, advice) is translated through the same catalogue, so one
``.po`` file per language holds everything a person reads.
Extract with ``make messages`` (``pybabel extract`` plus ``scripts/extract_content_messages.py``);
see ``docs/i18n.md``.

Some English is composed in Python with names or numbers inside (the "why am I
asked this?" text, the triage sentence listing the likely causes, notes of the
care plan and of the follow-up). Those modules stay English-only; instead
:data:`DYNAMIC_PATTERNS` lists each composed sentence as a msgid with
``{placeholder}`` slots, and :func:`translate_dynamic` recognises the English
sentence, translates its fixed part through the catalogue and puts the
(translated) names back in. :func:`gettext`, which the templates use as ``_``,
falls back to it when a string has no translation of its own.
:data:`CODE_MESSAGES` lists the fixed English sentences those modules produce
without placeholders, so that the extraction puts them in the catalogue too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

from painpath.careplan import regions
from painpath.domain import Level

__all__ = [
    "CODE_MESSAGES",
    "DEFAULT",
    "DYNAMIC_PATTERNS",
    "LANGUAGES",
    "LOCALE_DIR",
    "DynamicPattern",
    "catalogue",
    "current",
    "gettext",
    "ngettext",
    "pick",
    "reload",
    "translate_dynamic",
]

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
current: ContextVar[str] = ContextVar("painpath_locale", default=DEFAULT)


@cache
def catalogue(lang: str) -> dict[str, str]:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.is_file():
        return {}
    with path.open("rb") as f:
        cat = read_po(f, locale=lang)
    out: dict[str, str] = {}
    for msg in cat:
        if msg.id and msg.string and not msg.fuzzy and isinstance(msg.id, str) and isinstance(msg.string, str):
            out[msg.id] = msg.string
    # care text names the region's services through {placeholders}; a plan is stored filled in, so
    # add "filled English -> filled translation" for every region (painpath.careplan.regions)
    out.update({k: v for k, v in regions.localised_pairs(dict(out), lang) if k not in out})
    return out


def reload() -> None:
    """Forget the catalogues read so far (after editing a ``.po`` file in a running process)."""
    catalogue.cache_clear()
    _dynamic.cache_clear()


def gettext(message: str) -> str:
    """The translation of ``message`` in the current language (composed sentences: :func:`translate_dynamic`)."""
    if not message:
        return message
    lang = current.get()
    if lang == DEFAULT:
        return message
    found = catalogue(lang).get(message)
    if found is not None:
        return found
    return _dynamic(lang, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def pick(requested: str | None, cookie: str | None, accept: str | None) -> str:
    for cand in (requested, cookie):
        if cand in LANGUAGES:
            return cand
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT


# --- English composed in Python code ----------------------------------------------------------------

#: Fixed English sentences that Python code outside the web package produces without ``_()``
#: (msgid -> where it comes from). The extraction adds them to the catalogue; the tests check
#: that the real functions still produce them.
CODE_MESSAGES: dict[str, str] = {
    "Where the pain is tells us most about where it comes from, so we ask it first.":
        "painpath.interview.policy.why_text (presenting screen)",
    "We ask about these warning signs as soon as your answers make them possible, because each of them "
    "needs quick medical care whatever the cause of the pain.":
        "painpath.interview.policy.why_text (warning screens)",
    "Your answer helps us check the most likely causes.":
        "painpath.interview.policy.why_text (the question does not separate the likely causes)",
    "The exercises and self-care listed here suit both.":
        "painpath.careplan.assemble: CarePlan.shared_advice.note (second sentence)",
    "STarT Back applies to back-related pain only; not used for this condition":
        "painpath.careplan.assemble: CarePlan.notes",
    "STarT Back not completed: score it to tailor the back-pain plan (stratified care)":
        "painpath.careplan.assemble: CarePlan.notes",
    "PSFS activities differ between the two measurements; compare with care":
        "painpath.careplan.followup: FollowUpResult.reasons",
    "current assessment is urgent: follow that plan first":
        "painpath.careplan.followup: FollowUpResult.reasons",
    "current assessment is emergency: follow that plan first":
        "painpath.careplan.followup: FollowUpResult.reasons",
}

# Slot kinds: "term" is itself a msgid (a condition name) and is translated through the catalogue;
# "causes" is a list "Name (12%), Name (5%)" whose names are translated; "number" and "raw" are kept.
_SLOT_RE = re.compile(r"\{(\w+)\}")
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_CAUSE_RE = re.compile(r"(?P<name>.+?) \((?P<pct>\d+%)\)(?:, |$)")


@dataclass(frozen=True)
class DynamicPattern:
    """A sentence composed in code: ``msgid`` is the English with ``{slot}`` placeholders."""

    msgid: str
    slots: Mapping[str, str]
    source: str
    parts: tuple[tuple[str, str], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parts: list[tuple[str, str]] = []
        pos = 0
        for m in _SLOT_RE.finditer(self.msgid):
            if m.start() > pos:
                parts.append(("lit", self.msgid[pos:m.start()]))
            if m.group(1) not in self.slots:
                raise ValueError(f"{self.msgid!r}: slot {m.group(1)!r} has no kind")
            parts.append(("slot", m.group(1)))
            pos = m.end()
        if pos < len(self.msgid):
            parts.append(("lit", self.msgid[pos:]))
        object.__setattr__(self, "parts", tuple(parts))

    def fill(self, template: str, values: Mapping[str, str]) -> str:
        """``template`` (msgid or a translation) with its placeholders replaced by ``values``."""
        return _SLOT_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template)

    def matches(self, text: str) -> Iterator[dict[str, str]]:
        """Every way ``text`` is this sentence: slot name -> English value."""
        if not all(lit in text for kind, lit in self.parts if kind == "lit"):
            return
        yield from self._match(text, 0, 0, {})

    def _match(self, text: str, pos: int, i: int, got: dict[str, str]) -> Iterator[dict[str, str]]:
        if i == len(self.parts):
            if pos == len(text):
                yield dict(got)
            return
        kind, value = self.parts[i]
        if kind == "lit":
            if text.startswith(value, pos):
                yield from self._match(text, pos + len(value), i + 1, got)
            return
        nxt = self.parts[i + 1][1] if i + 1 < len(self.parts) else None
        ends = [len(text)] if nxt is None else [m.start() for m in re.finditer(f"(?={re.escape(nxt)})", text)]
        for end in ends:
            if end <= pos:
                continue
            piece = text[pos:end]
            if self._valid(value, piece):
                got[value] = piece
                yield from self._match(text, end, i + 1, got)
                del got[value]

    def _valid(self, slot: str, piece: str) -> bool:
        kind = self.slots[slot]
        if kind == "number":
            return _NUMBER_RE.fullmatch(piece) is not None
        if kind == "causes":
            return "".join(m.group(0) for m in _CAUSE_RE.finditer(piece)) == piece
        if kind == "term":
            return piece.strip() == piece and ". " not in piece
        return piece.strip() == piece


def _levels(text: str, levels: tuple[str, ...]) -> list[str]:
    return [text.replace("{level}", lvl) for lvl in levels]


_TRENDS = ("improving", "no change", "worse")

#: Every sentence composed with names or numbers in code outside the web package.
DYNAMIC_PATTERNS: tuple[DynamicPattern, ...] = (
    DynamicPattern(
        "Your answers so far fit more than one cause. These are common with {a} but not with {b}, "
        "so your answer helps tell them apart.",
        {"a": "term", "b": "term"}, "painpath.interview.policy.why_text"),
    DynamicPattern("The likely causes at this level of care: {causes}.", {"causes": "causes"},
                   "painpath.assessment._triage_result (TriageReason.text, kind 'condition')"),
    DynamicPattern("{a} and {b} are about equally likely.", {"a": "term", "b": "term"},
                   "painpath.careplan.assemble: CarePlan.shared_advice.note"),
    *(DynamicPattern(t, {"name": "term"}, "painpath.careplan.assemble: CarePlan.shared_advice.note")
      for t in _levels("{name} would need {level} care: watch its warning signs.",
                       (Level.SOON, Level.URGENT, Level.EMERGENCY))),
    *(DynamicPattern(f"pain {{before}} -> {{after}} ({t})", {"before": "number", "after": "number"},
                     "painpath.careplan.followup: FollowUpResult.reasons") for t in _TRENDS),
    *(DynamicPattern(f"PSFS mean {{before}} -> {{after}} ({t})", {"before": "number", "after": "number"},
                     "painpath.careplan.followup: FollowUpResult.reasons") for t in _TRENDS),
    DynamicPattern("no improvement after {weeks} weeks", {"weeks": "number"},
                   "painpath.careplan.followup: FollowUpResult.reasons"),
    DynamicPattern("level raised from {from_level} to {to_level}, the lowest level for {condition}",
                   {"from_level": "raw", "to_level": "raw", "condition": "raw"},
                   "painpath.careplan.assemble: CarePlan.notes"),
    DynamicPattern("no care content for {keys}; skipped", {"keys": "raw"},
                   "painpath.careplan.assemble: CarePlan.notes"),
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _translate_slot(kind: str, value: str, cat: Mapping[str, str]) -> str:
    if kind == "term":
        return cat.get(value, value)
    if kind == "causes":
        out = []
        for m in _CAUSE_RE.finditer(value):
            sep = ", " if m.group(0).endswith(", ") else ""
            out.append(f"{cat.get(m['name'], m['name'])} ({m['pct']}){sep}")
        return "".join(out)
    return value


def _one(text: str, cat: Mapping[str, str]) -> str | None:
    """The translation of one whole sentence (direct, or by a pattern), or None."""
    found = cat.get(text)
    if found is not None:
        return found
    for pat in DYNAMIC_PATTERNS:
        target = cat.get(pat.msgid)
        if target is None:
            continue
        best: dict[str, str] | None = None
        best_score = -1
        for values in pat.matches(text):  # prefer the reading whose names are all known
            score = sum(1 for k, v in values.items() if pat.slots[k] != "term" or v in cat)
            if score > best_score:
                best, best_score = values, score
        if best is not None:
            return pat.fill(target, {k: _translate_slot(pat.slots[k], v, cat) for k, v in best.items()})
    return None


def _translate_in(text: str, cat: Mapping[str, str]) -> str | None:
    whole = _one(text, cat)
    if whole is not None:
        return whole
    # Several sentences glued together (e.g. the shared-advice note): translate sentence by sentence,
    # letting a "sentence" span several pieces when a name itself contains ". ".
    pieces = _SENTENCE_END.split(text)
    seps = _SENTENCE_END.findall(text)
    n = len(pieces)
    if n < 2 or n > 12:
        return None
    best: list[str | None] = [None] * (n + 1)
    best[0] = ""
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            before = best[i]
            if before is None:
                continue
            chunk = "".join(pieces[k] + (seps[k] if k < j - 1 else "") for k in range(i, j))
            done = _one(chunk, cat)
            if done is not None:
                best[j] = before + (seps[i - 1] if i > 0 else "") + done
                break
    return best[n]


@lru_cache(maxsize=8192)
def _dynamic(lang: str, text: str) -> str:
    cat = catalogue(lang)
    if not cat:
        return text
    done = _translate_in(text, cat)
    return text if done is None else done


def translate_dynamic(text: str, lang: str | None = None) -> str:
    """Translate English composed in code (see :data:`DYNAMIC_PATTERNS`) into ``lang`` (default: current).

    Whole strings that are msgids are translated directly; a sentence that fits a pattern gets the
    pattern's translation with its names translated; several such sentences in a row are translated
    one by one. Anything else is returned unchanged (English), so English output never changes.
    """
    if not text:
        return text
    lang = lang or current.get()
    if lang == DEFAULT:
        return text
    return _dynamic(lang, text)
