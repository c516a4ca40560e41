"""Compare a follow-up measurement with the previous one and decide whether to escalate.

Trend rules (minimal clinically important change, ``outcomes.yaml``):

- pain (0-10): a change of at least 2 points, or at least 30% of the earlier score (and at least
  1 point), counts; a fall is improving, a rise is worse.
- PSFS: a change of the mean of at least 2 points counts; a rise is improving.
- overall: worse if either measure is worse; improving if one improves and none is worse;
  otherwise no change.

Escalation: the result is never less urgent than ``current_triage_level`` (a new warning feature
is passed in that way). Not improving at ``no_improvement_weeks`` (6) or more -> at least
``soon``; clearly worse at any time -> at least ``soon``.
"""

from __future__ import annotations

from painpath.domain import Level as _Level
from painpath.messages import Message, render

from .loader import load_care_content
from .regions import fill, services
from .schema import FollowUpResult, Level, OutcomeSnapshot, PlanItem, Trend, level_rank, more_urgent

__all__ = ["compare_followup"]

_EPS = 1e-9


def _pain_trend(
    before: float, after: float, mcid_points: float, mcid_percent: float | None
) -> tuple[Trend, float | None]:
    change = after - before
    percent = (change / before * 100.0) if before > 0 else None
    big = abs(change) >= mcid_points - _EPS or (
        percent is not None
        and mcid_percent is not None
        and abs(percent) >= mcid_percent - _EPS
        and abs(change) >= 1
    )
    if not big or change == 0:
        return "no_change", percent
    return ("improving" if change < 0 else "worse"), percent


def compare_followup(
    previous: OutcomeSnapshot,
    current: OutcomeSnapshot,
    *,
    weeks_since_first: float,
    current_triage_level: str,
    region: str | None = None,
) -> FollowUpResult:
    """Trend, advice and level for a follow-up assessment compared with the previous one.

    ``region`` (default: the ``PAINPATH_REGION`` setting) names the services in the advice."""
    if weeks_since_first < 0:
        raise ValueError("weeks_since_first must be 0 or more")
    level_rank(current_triage_level)  # validates
    spec = load_care_content().outcomes
    reasons: list[Message] = []

    pain_change = current.pain - previous.pain
    pain_trend, pain_pct = _pain_trend(
        previous.pain, current.pain, spec.pain.mcid_points, spec.pain.mcid_percent
    )
    reasons.append(Message(id=f"followup.pain.{pain_trend}", params={"before": previous.pain, "after": current.pain}))

    psfs_change: float | None = None
    psfs_trend: Trend | None = None
    before_mean, after_mean = previous.psfs_mean, current.psfs_mean
    if before_mean is not None and after_mean is not None:
        psfs_change = after_mean - before_mean
        if abs(psfs_change) >= spec.psfs.mcid_points - _EPS:
            psfs_trend = "improving" if psfs_change > 0 else "worse"
        else:
            psfs_trend = "no_change"
        reasons.append(Message(id=f"followup.psfs.{psfs_trend}", params={"before": before_mean, "after": after_mean}))
        same = {a.activity.strip().lower() for a in previous.psfs} == {
            a.activity.strip().lower() for a in current.psfs
        }
        if not same:
            reasons.append(Message(id="followup.psfs_activities_differ"))

    trends = [t for t in (pain_trend, psfs_trend) if t is not None]
    trend: Trend
    if "worse" in trends:
        trend = "worse"
    elif "improving" in trends:
        trend = "improving"
    else:
        trend = "no_change"

    level: Level = current_triage_level  # type: ignore[assignment]  # validated by Level.parse above
    if trend == "worse":
        advice_key = "worse"
        level = more_urgent(level, spec.worse_min_level)
    elif trend == "no_change" and weeks_since_first >= spec.no_improvement_weeks:
        advice_key = "no_change_late"
        level = more_urgent(level, spec.not_improving_min_level)
        reasons.append(Message(id="followup.no_improvement", params={"weeks": weeks_since_first}))
    elif trend == "no_change":
        advice_key = "no_change_early"
    else:
        advice_key = "improving"
    if _Level.parse(current_triage_level).is_acute:
        reasons.append(Message(id=f"followup.current_acute.{current_triage_level}"))

    advice = spec.advice[advice_key]  # type: ignore[index]  # advice_key is one of the keys the schema requires
    return FollowUpResult(
        pain_change=pain_change,
        pain_change_percent=pain_pct,
        pain_trend=pain_trend,
        psfs_change=psfs_change,
        psfs_trend=psfs_trend,
        trend=trend,
        weeks_since_first=weeks_since_first,
        level=level,
        escalated=level != current_triage_level,
        advice=PlanItem(text=fill(advice.text, services(region)), sources=list(advice.sources)),
        reasons=[render(m) for m in reasons],
        reason_messages=reasons,
        sources=list(dict.fromkeys([*spec.rule_sources, *spec.pain.sources, *spec.psfs.sources])),
    )
