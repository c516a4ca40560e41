"""Compare a follow-up measurement with the previous one and decide whether to escalate.

Trend rules (minimal clinically important change, ``outcomes.yaml``):

- pain (0-10): a change of at least 2 points, or at least 30% of the earlier score (and at least
  1 point), counts; a fall is improving, a rise is worse.
- PSFS: a change of the mean of at least 2 points counts; a rise is improving.
- overall: worse if either measure is worse; improving if one improves and none is worse;
  otherwise no change.

Escalation (:func:`followup_min_level`, applied by ``painpath.services.final_level``): the level
is never less urgent than the current triage level (a new warning feature is passed in that way).
Not improving at ``no_improvement_weeks`` (6) or more -> at least ``soon``; clearly worse at any
time -> at least ``soon``.
"""

from __future__ import annotations

from painpath.domain import Level as _Level
from painpath.messages import Message, render

from .loader import load_care_content
from .regions import fill, services
from .schema import FollowUpResult, Level, OutcomeSnapshot, OutcomeSpec, PlanItem, Trend, level_rank

__all__ = ["compare_followup", "followup_min_level"]

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


def _trends(previous: OutcomeSnapshot, current: OutcomeSnapshot, spec: OutcomeSpec) -> tuple[
        tuple[Trend, float | None], tuple[float | None, Trend | None], Trend]:
    """(pain trend, pain change %), (PSFS mean change, PSFS trend) and the overall trend."""
    pain = _pain_trend(previous.pain, current.pain, spec.pain.mcid_points, spec.pain.mcid_percent)
    psfs_change: float | None = None
    psfs_trend: Trend | None = None
    before_mean, after_mean = previous.psfs_mean, current.psfs_mean
    if before_mean is not None and after_mean is not None:
        psfs_change = after_mean - before_mean
        if abs(psfs_change) >= spec.psfs.mcid_points - _EPS:
            psfs_trend = "improving" if psfs_change > 0 else "worse"
        else:
            psfs_trend = "no_change"
    trends = [t for t in (pain[0], psfs_trend) if t is not None]
    trend: Trend
    if "worse" in trends:
        trend = "worse"
    elif "improving" in trends:
        trend = "improving"
    else:
        trend = "no_change"
    return pain, (psfs_change, psfs_trend), trend


def _advice_key(trend: Trend, weeks_since_first: float, spec: OutcomeSpec) -> str:
    if trend == "worse":
        return "worse"
    if trend == "no_change":
        return "no_change_late" if weeks_since_first >= spec.no_improvement_weeks else "no_change_early"
    return "improving"


def followup_min_level(previous: OutcomeSnapshot, current: OutcomeSnapshot, *, weeks_since_first: float) -> Level | None:
    """The least urgent level this change calls for (``outcomes.yaml``): clearly worse at any time, or not
    improving at ``no_improvement_weeks`` or later; None when it calls for none. What
    ``painpath.services.final_level`` raises the level to."""
    if weeks_since_first < 0:
        raise ValueError("weeks_since_first must be 0 or more")
    spec = load_care_content().outcomes
    return _min_level(_advice_key(_trends(previous, current, spec)[2], weeks_since_first, spec), spec)


def _min_level(advice_key: str, spec: OutcomeSpec) -> Level | None:
    return {"worse": spec.worse_min_level, "no_change_late": spec.not_improving_min_level}.get(advice_key)


def compare_followup(
    previous: OutcomeSnapshot,
    current: OutcomeSnapshot,
    *,
    weeks_since_first: float,
    current_triage_level: str,
    level: str | None = None,
    region: str | None = None,
) -> FollowUpResult:
    """Trend, advice and level for a follow-up assessment compared with the previous one.

    ``level``: the final level as decided by ``painpath.services.final_level`` (the current triage level
    raised to :func:`followup_min_level` and to the care plan's condition's lowest level); this function
    does not decide it. ``escalated``: whether this change itself calls for more than the current triage
    level. Without ``level`` the
    current triage level is used, and must then already be at least what the change calls for
    (``ValueError`` otherwise). ``region`` (default: the ``PAINPATH_REGION`` setting) names the services
    in the advice."""
    if weeks_since_first < 0:
        raise ValueError("weeks_since_first must be 0 or more")
    level_rank(current_triage_level)  # validates
    spec = load_care_content().outcomes
    reasons: list[Message] = []

    pain_change = current.pain - previous.pain
    (pain_trend, pain_pct), (psfs_change, psfs_trend), trend = _trends(previous, current, spec)
    reasons.append(Message(id=f"followup.pain.{pain_trend}", params={"before": previous.pain, "after": current.pain}))

    before_mean, after_mean = previous.psfs_mean, current.psfs_mean
    if before_mean is not None and after_mean is not None and psfs_trend is not None:
        reasons.append(Message(id=f"followup.psfs.{psfs_trend}", params={"before": before_mean, "after": after_mean}))
        same = {a.activity.strip().lower() for a in previous.psfs} == {
            a.activity.strip().lower() for a in current.psfs
        }
        if not same:
            reasons.append(Message(id="followup.psfs_activities_differ"))

    advice_key = _advice_key(trend, weeks_since_first, spec)
    if advice_key == "no_change_late":
        reasons.append(Message(id="followup.no_improvement", params={"weeks": weeks_since_first}))
    if _Level.parse(current_triage_level).is_acute:
        reasons.append(Message(id=f"followup.current_acute.{current_triage_level}"))
    minimum = _min_level(advice_key, spec)  # what followup_min_level gives, from the trend worked out above
    decided = _followup_level(current_triage_level, level, minimum)

    advice = spec.advice[advice_key]  # type: ignore[index]  # advice_key is one of the keys the schema requires
    return FollowUpResult(
        pain_change=pain_change,
        pain_change_percent=pain_pct,
        pain_trend=pain_trend,
        psfs_change=psfs_change,
        psfs_trend=psfs_trend,
        trend=trend,
        weeks_since_first=weeks_since_first,
        level=decided,
        escalated=minimum is not None and _Level.parse(minimum) > _Level.parse(current_triage_level),
        advice=PlanItem(text=fill(advice.text, services(region)), sources=list(advice.sources)),
        reasons=[render(m) for m in reasons],
        reason_messages=reasons,
        sources=list(dict.fromkeys([*spec.rule_sources, *spec.pain.sources, *spec.psfs.sources])),
    )


def _followup_level(current_triage_level: str, level: str | None, minimum: str | None) -> Level:
    """The decided ``level`` checked against the comparison (never below the current triage level, nor below
    what the change calls for); not a decision."""
    chosen = _Level.parse(level if level is not None else current_triage_level)
    if chosen < _Level.parse(current_triage_level):
        raise ValueError(f"level: {chosen.value} is below the current triage level {current_triage_level}")
    if minimum is not None and chosen < _Level.parse(minimum):
        raise ValueError(f"level: this follow-up calls for at least {minimum}, got {chosen.value}; decide the level "
                         "with painpath.services.final_level")
    return chosen.value
