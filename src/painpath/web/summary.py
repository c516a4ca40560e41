"""What the result and report pages show of a stored result: a phone-sized summary and reasons with answers.

* Causes whose own level is more urgent than the level shown are not named in the summary (a self-care
  result does not name a clot at 7%); causes that round to 0% are never listed.
* Every reason for or against a cause carries the answer actually given ("calf swelling: no"); a reason
  built on a question that was never asked is left out (the person never said it).
* Why the level was raised above the engine's triage level (:func:`raise_notes`): the stored plan's notes that
  say so, for the patient's result page and the clinic's assessment page alike (``_raised.html``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from painpath.domain import Level
from painpath.messages import LEVEL_RAISED
from painpath.storage import assessments as store
from painpath.storage.models import AssessmentRecord

__all__ = ["LEVEL_RANK", "other_share", "raise_notes", "reasons_with_answers", "result_view"]

LEVEL_RANK: dict[str, int] = {lv.value: lv.rank for lv in Level}
MIN_NAMED = 0.05  # a cause is named in the summary at 5% or more
MIN_LISTED = 0.005  # and listed at all when it rounds to at least 1%


def other_share(result: dict[str, Any]) -> float | None:
    """The share of "none of the known causes" (unexplained pattern) when the engine gives one."""
    for key in ("other_probability", "other"):
        v = result.get(key)
        if isinstance(v, dict):
            v = v.get("probability")
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None


def _answer_word(value: str) -> str:
    return {"present": "yes", "absent": "no", "unknown": "don't know"}[value]


def reasons_with_answers(evidence: list[dict[str, Any]], answered: Mapping[str, str]) -> list[dict[str, Any]]:
    """The reasons whose finding was answered, each with the answer given (never the engine's assumption)."""
    out = []
    for e in evidence:
        given = answered.get(e["finding"])
        if given is None or given == "unknown":
            continue
        out.append({**e, "given": given, "word": _answer_word(given)})
    return out


def result_view(rec: AssessmentRecord) -> dict[str, Any]:
    result = rec.result or {}
    level = rec.triage_level or result.get("triage", {}).get("level", Level.SOON.value)
    rank = LEVEL_RANK.get(level, Level.SOON.rank)
    answered = store.state_of(rec).answer_map
    conds = []
    for c in result.get("conditions", []):
        if c["probability"] < MIN_LISTED:
            continue
        conds.append({**c, "for": reasons_with_answers(c.get("supporting", []), answered),
                      "against": reasons_with_answers(c.get("opposing", []), answered)})
    named = [c for c in conds if c["probability"] >= MIN_NAMED and LEVEL_RANK.get(c["level"], Level.SELF_CARE.rank) <= rank]
    leading = named[0] if named else None
    at_level = [c for c in named if c["level"] == level][:3]
    other = other_share(result)
    top_p = conds[0]["probability"] if conds else 0.0
    flag = result.get("other", {}).get("leads") if isinstance(result.get("other"), dict) else None
    other_leads = bool(flag) if flag is not None else (other is not None and other > top_p)
    reasons = []
    for r in result.get("triage", {}).get("reasons", []):
        if r["kind"] == "condition":
            if at_level:
                reasons.append({"kind": "condition", "causes": at_level})
        else:
            reasons.append({"kind": r["kind"], "text": r["text"], "message": r.get("message")})
    treatments = (rec.plan or {}).get("treatments", [])
    advice = result.get("triage", {}).get("advice", "")
    if level != result.get("triage", {}).get("level"):  # raised (painpath.services.final_level): that level's advice
        from painpath.engine import default_compiled

        advice = default_compiled().kb.triage.level_text.get(level, advice)  # type: ignore[arg-type]  # level is a LevelName value
    return {
        "level": level,
        "advice": advice,
        "leading": None if other_leads else leading,
        "other": other,
        "other_leads": other_leads,
        "causes": conds[:6],
        "reasons": reasons,
        "origin": sorted(((k, v) for k, v in result.get("origin", {}).items() if v >= MIN_LISTED),
                         key=lambda kv: -kv[1]),
        "treatments_offered": [t for t in treatments if t.get("grade") != "not_recommended"],
        "treatments_not": [t for t in treatments if t.get("grade") == "not_recommended"],
        "do_now": ((rec.plan or {}).get("do_now") or [])[:2],  # the rest is in the full plan
    }


def raise_notes(rec: AssessmentRecord) -> list[tuple[Any, str]]:
    """The stored plan's notes that say why the level was raised above the triage level: (message, English)
    pairs for the page to render in the reader's language. A plan stored before message ids gives none (its
    English is not parsed back)."""
    plan = rec.plan or {}
    msgs, texts = plan.get("note_messages") or [], plan.get("notes") or []
    if len(msgs) != len(texts):
        return []
    return [(m, str(t)) for m, t in zip(msgs, texts, strict=True) if isinstance(m, dict) and m.get("id") in LEVEL_RAISED]
