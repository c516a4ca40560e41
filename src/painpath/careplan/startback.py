"""Keele STarT Back Screening Tool scoring (Hill et al. 2008).

Items 1-8 are agree (1) / disagree (0). Item 9 (bothersomeness) is on a 5-point scale and scores 1
for "very much" or "extremely". Total = items 1-9 (0-9); psychosocial subscale = items 5-9 (0-5).
Low risk: total <= 3. Otherwise high risk if subscale >= 4, else medium risk.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from .loader import load_care_content
from .schema import StartBackResult

__all__ = ["StartBackAnswer", "score_startback"]

StartBackAnswer = int | bool | str


def _agree(item: str, value: StartBackAnswer) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str) and value.strip().lower() in ("agree", "disagree"):
        return int(value.strip().lower() == "agree")
    raise ValueError(
        f"{item}: expected agree/disagree as True/False, 1/0 or 'agree'/'disagree', got {value!r}"
    )


def _bothersome(value: StartBackAnswer) -> int:
    options = load_care_content().startback.bothersome_options
    if isinstance(value, bool):  # already dichotomised: True = very much / extremely
        return int(value)
    if isinstance(value, int):
        for opt in options:
            if opt.value == value:
                return int(opt.positive)
    if isinstance(value, str):
        key = value.strip().lower().replace(" ", "_")
        for opt in options:
            if opt.key == key:
                return int(opt.positive)
    allowed = ", ".join(f"{o.value}={o.key}" for o in options)
    raise ValueError(f"item9: expected True/False or one of {allowed}, got {value!r}")


def score_startback(answers: Mapping[str, StartBackAnswer]) -> StartBackResult:
    """Score the 9-item STarT Back tool from answers keyed ``item1`` .. ``item9``.

    Items 1-8: ``True``/``False`` (agree/disagree), ``1``/``0`` or ``"agree"``/``"disagree"``.
    Item 9: ``1``-``5`` (not at all, slightly, moderately, very much, extremely), the option key
    (e.g. ``"very_much"``), or a bool that is already dichotomised (True = very much/extremely).

    >>> score_startback({**{f"item{i}": False for i in range(1, 9)}, "item9": 1}).stratum
    'low'
    """
    spec = load_care_content().startback
    expected = [item.id for item in spec.items]
    missing = [k for k in expected if k not in answers]
    extra = [k for k in answers if k not in expected]
    if missing or extra:
        raise ValueError(f"STarT Back answers: missing {missing}, unexpected {extra}")
    scores = {
        item.id: _bothersome(answers[item.id])
        if item.response == "bothersomeness"
        else _agree(item.id, answers[item.id])
        for item in spec.items
    }
    total = sum(scores.values())
    psychosocial = sum(scores[item.id] for item in spec.items if item.subscale == "psychosocial")
    stratum: Literal["low", "medium", "high"]
    if total <= spec.low_max_total:
        stratum = "low"
    elif psychosocial >= spec.high_min_subscale:
        stratum = "high"
    else:
        stratum = "medium"
    advice = spec.strata[stratum]
    step = spec.clinician_steps[stratum]
    return StartBackResult(
        total=total,
        psychosocial=psychosocial,
        stratum=stratum,
        advice=advice.text,
        clinician_step=step.text,
        copyright=spec.copyright,
        sources=list(dict.fromkeys([*spec.sources, *advice.sources, *step.sources])),
    )
