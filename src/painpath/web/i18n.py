"""Translations through Babel message catalogues (``locale/<lang>/LC_MESSAGES/messages.po``).

The catalogues are read with Babel when the app starts (no compiled ``.mo``
files to keep in step). Knowledge-base and care-plan text (questions,
condition names, advice) is translated through the same catalogue, so one
``.po`` file per language holds everything a person reads.
Extract with ``make messages`` (``pybabel extract`` plus ``scripts/extract_content_messages.py``).
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
current: ContextVar[str] = ContextVar("painpath_locale", default=DEFAULT)


@lru_cache(maxsize=None)
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
    return out


def gettext(message: str) -> str:
    if not message:
        return message
    return catalogue(current.get()).get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def pick(requested: str | None, cookie: str | None, accept: str | None) -> str:
    for cand in (requested, cookie):
        if cand in LANGUAGES:
            return cand  # type: ignore[return-value]
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT
