"""Advice that fits the country: the health services a care plan names, per region.

Care text (``careplan/data/*.yaml``) never names a country's service. It says
``{emergency_number}``, ``{emergency_department}``, ``{urgent_service}``, ``{primary_care}`` or
``{primary_care_practice}``; :func:`fill` puts in the region's words (``data/regions.yaml``) when
a plan is built. The region is the ``PAINPATH_REGION`` setting (``GB``, ``US``, ``ES``, or unset for
the neutral ``default`` that says "your local emergency number").

    region_code(value)     normalise and check a region code (ValueError names PAINPATH_REGION)
    current_region()       the code from the environment (``PAINPATH_REGION``)
    services(code, lang)   the region's words in ``en`` or ``es``, plus ``tel`` (number to dial)
    fill(text, values)     replace the known placeholders in one string
    fill_deep(obj, values) the same through dicts and lists (a dumped plan)
    localised_pairs(cat)   for a translation catalogue: filled English -> filled translation, every region

Standard library and PyYAML only.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "ENV_VAR",
    "PLACEHOLDERS",
    "Region",
    "current_region",
    "fill",
    "fill_deep",
    "localised_pairs",
    "region_code",
    "regions",
    "services",
]

ENV_VAR = "PAINPATH_REGION"
LANGS = ("en", "es")


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    tel: str | None
    words: Mapping[str, Mapping[str, str]]  # lang -> placeholder -> text


@functools.lru_cache(maxsize=1)
def _data() -> tuple[str, dict[str, str], tuple[str, ...], dict[str, Region]]:
    raw = yaml.safe_load((resources.files("painpath.careplan") / "data" / "regions.yaml").read_text("utf-8"))
    names = tuple(raw["placeholders"])
    out: dict[str, Region] = {}
    for code, spec in raw["regions"].items():
        words: dict[str, dict[str, str]] = {}
        for lang in LANGS:
            given = spec.get(lang) or {}
            missing = [n for n in names if not isinstance(given.get(n), str) or not given[n]]
            extra = sorted(set(given) - set(names))
            if missing or extra:
                raise ValueError(f"regions.yaml: {code}.{lang}: missing {missing}, unknown {extra}")
            words[lang] = {n: str(given[n]) for n in names}
        tel = spec.get("tel")
        if tel is not None and not re.fullmatch(r"\d{2,4}", str(tel)):
            raise ValueError(f"regions.yaml: {code}.tel: {tel!r} is not a short emergency number")
        out[str(code)] = Region(code=str(code), name=str(spec["name"]), tel=None if tel is None else str(tel),
                                words=words)
    default = str(raw["default"])
    if default not in out:
        raise ValueError(f"regions.yaml: default: {default!r} is not a region")
    aliases = {str(k).upper(): str(v) for k, v in (raw.get("aliases") or {}).items()}
    return default, aliases, names, out


def regions() -> dict[str, Region]:
    """Every region, by code."""
    return dict(_data()[3])


PLACEHOLDERS: tuple[str, ...] = _data()[2]
_PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def region_code(value: str | None) -> str:
    """The region code for a setting value: case-insensitive, ``UK`` = ``GB``, empty = the default."""
    default, aliases, _, known = _data()
    text = (value or "").strip()
    if not text:
        return default
    up = text.upper()
    code = aliases.get(up, up)
    for k in known:
        if k.upper() == code.upper():
            return k
    raise ValueError(f"{ENV_VAR}: unknown region {value!r}; expected one of {sorted(known)} (or unset)")


def current_region() -> str:
    """The region from ``PAINPATH_REGION`` (read each time, so a test or a restart can change it)."""
    return region_code(os.environ.get(ENV_VAR))


def services(code: str | None = None, lang: str = "en") -> dict[str, str | None]:
    """The region's words in ``lang`` (English if the language has none) and ``tel``, the number to dial."""
    region = regions()[region_code(code) if code is not None else current_region()]
    words = dict(region.words.get(lang) or region.words["en"])
    return {**words, "tel": region.tel, "region": region.code}


def fill(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with every known ``{placeholder}`` replaced; other braces are left as they are."""
    if "{" not in text:
        return text
    return _PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def fill_deep(obj: Any, values: Mapping[str, Any]) -> Any:
    """:func:`fill` applied to every string inside dicts, lists and tuples (keys are left alone)."""
    if isinstance(obj, str):
        return fill(obj, values)
    if isinstance(obj, dict):
        return {k: fill_deep(v, values) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [fill_deep(v, values) for v in obj]
    return obj


def placeholders_in(text: str) -> list[str]:
    """The ``{names}`` used in ``text`` (known or not)."""
    return re.findall(r"\{(\w+)\}", text)


def localised_pairs(catalogue: Mapping[str, str], lang: str) -> Iterator[tuple[str, str]]:
    """For each msgid with region placeholders: (msgid filled with a region's English words,
    translation filled with the same region's words in ``lang``), for every region. A plan stored as
    English under any region is then translated by a plain catalogue look-up."""
    for msgid, msgstr in catalogue.items():
        if "{" not in msgid or not _PLACEHOLDER_RE.search(msgid):
            continue
        for region in _data()[3].values():
            target = region.words.get(lang) or region.words["en"]
            yield fill(msgid, region.words["en"]), fill(msgstr, target)
