"""Translations through Babel message catalogues (``locale/<lang>/LC_MESSAGES/messages.po``).

The catalogues are read with Babel when the app starts (no compiled ``.mo``
files to keep in step). Knowledge-base and care-plan text (questions,
condition names, advice) is translated through the same catalogue, so one
``.po`` file per language holds everything a person reads.
Extract with ``make messages`` (``pybabel extract`` plus ``scripts/extract_content_messages.py``);
see ``docs/i18n.md``.

Sentences the domain core composes with names or numbers inside (the "why am I
asked this?" text, the triage sentence listing the likely causes, notes of the
care plan and of the follow-up, stop reasons) come as message ids with
parameters (:mod:`painpath.messages`). :func:`message` renders one in the
current language: its English template is the msgid, and the condition names
put in its slots are translated through the same catalogue. Nothing here reads
English back: text stored before message ids existed is shown as it was
written (:func:`message` falls back to ``gettext`` of the stored text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages import pofile
from pydantic import ValidationError

from painpath import messages
from painpath.careplan.regions import localised_pairs

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "LOCALE_DIR",
    "catalogue",
    "current",
    "gettext",
    "message",
    "message_list",
    "message_text",
    "ngettext",
    "pick",
    "reload",
    "translate",
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
        cat = pofile.read_po(f, locale=lang)
    out: dict[str, str] = {}
    for msg in cat:
        if msg.id and msg.string and not msg.fuzzy and isinstance(msg.id, str) and isinstance(msg.string, str):
            out[msg.id] = msg.string
    # care text names the region's services through {placeholders}; a plan is stored filled in, so
    # add "filled English -> filled translation" for every region (painpath.careplan.regions)
    out.update({k: v for k, v in localised_pairs(dict(out), lang) if k not in out})
    return out


def reload() -> None:
    """Forget the catalogues read so far (after editing a ``.po`` file in a running process)."""
    catalogue.cache_clear()


def translate(text: str, lang: str | None = None) -> str:
    """The translation of ``text`` (a msgid) in ``lang`` (default: the current language); else ``text``."""
    if not text:
        return text
    lang = lang or current.get()
    if lang == DEFAULT:
        return text
    return catalogue(lang).get(text, text)


def gettext(text: str) -> str:
    """The translation of ``text`` in the current language (the templates' ``_``)."""
    return translate(text)


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


# --- message ids from the domain core (painpath.messages) ------------------------------------------------

def reader_names(kind: str, key: str) -> str | None:
    """Names for a reader of the web pages: the core's (condition names), and besides them a level as its label
    (``Look after it yourself``) and a care-plan condition key as the condition's name, where the core's English
    (the API's, the CLI's) keeps the value."""
    if kind == "level":
        from painpath.web.render import LEVEL_LABEL

        return LEVEL_LABEL.get(key)
    if kind == "condition_key":
        return messages.default_names("care_condition", key) or messages.default_names("condition", key)
    return messages.default_names(kind, key)


def message(msg: messages.Message | Mapping[str, Any] | None, fallback: str | None = None,
            lang: str | None = None) -> str:
    """``msg`` (a :class:`painpath.messages.Message` or its stored JSON form) in ``lang`` (default: current).

    Without a usable message (``None``, as in records stored before message ids, or an id this version
    does not know) the ``fallback`` text is shown through the catalogue: English unless it is a msgid.
    """
    return _rendered(messages.render, msg, fallback, lang)


def message_list(msgs: Sequence[Any] | None, texts: Sequence[str] | None, lang: str | None = None) -> list[str]:
    """Parallel ``*_messages`` and English ``texts`` of a stored plan or follow-up, in ``lang``.

    When the messages do not match the texts one for one (a record stored before message ids) the texts
    are shown as they are, through the catalogue.
    """
    texts = list(texts or [])
    msgs = list(msgs or [])
    if len(msgs) != len(texts):
        return [translate(t, lang) for t in texts]
    return [message(m, t, lang) for m, t in zip(msgs, texts, strict=True)]


def message_text(msgs: Sequence[Any] | None, text: str | None, lang: str | None = None) -> str:
    """Several messages rendered as one text (the shared-advice note), or ``text`` when there are none."""
    return _rendered(messages.render_all, msgs, text, lang)


def _rendered(render: Any, what: Any, fallback: str | None, lang: str | None) -> str:
    """``render(what, gettext)`` in ``lang``, or the ``fallback`` text through the catalogue when ``what`` is
    empty or cannot be rendered (an id this version does not know, parameters of another shape)."""
    if what:
        lang = lang or current.get()
        try:
            return str(render(what, lambda t: translate(t, lang), reader_names))
        except (KeyError, TypeError, ValueError, ValidationError):
            pass
    return translate(fallback or "", lang)
