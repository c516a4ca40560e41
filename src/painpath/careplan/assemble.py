"""Build a care plan from a ranked differential, a triage level and the findings.

Steps:

1. The leading known condition (:func:`plan_lead`) decides the plan; its content for the plan's
   level is used. That level is decided by ``painpath.services.final_level`` (the triage level,
   raised to the condition's own base level) and passed in; a note says when it was raised.
2. Emergency and urgent plans carry only the action, why, safety-netting and clinician next
   steps: no exercises, self-care or treatments.
3. Otherwise tailoring rules add items for findings that are True (each noted with its trigger),
   and a STarT Back result, for back-related conditions, adds its stratum advice.
4. If the second condition is within ``CLOSE_MARGIN`` probability of the first, its summary,
   safety-netting and next steps are added, and what the two plans share is listed.
5. ``other`` (the engine's share for "fits no known cause") has its own content: when it leads,
   or when no ranked key has content, the plan says to see a clinician, what to tell them and
   what to watch for.
6. The region's services (``regions.py``: emergency number, urgent service, primary care) are
   filled into every text of the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from painpath.domain import Level as _Level
from painpath.messages import Message, render, render_all

from .loader import CareContent, load_care_content
from .regions import fill_deep, services
from .schema import (
    LEVELS,
    CareItem,
    CarePlan,
    ConditionContent,
    ConditionSummary,
    Level,
    LevelContent,
    LibraryItem,
    NextStep,
    PlanItem,
    PlanTreatment,
    SharedAdvice,
    SourceRef,
    StartBackResult,
    TailoringNote,
    level_rank,
)

__all__ = ["CLOSE_MARGIN", "OTHER", "build_care_plan", "plan_lead"]

#: A second condition this close in probability to the first is treated as "close".
CLOSE_MARGIN = 0.15
#: The key of the "fits no known cause" share (the engine's ``other`` class).
OTHER = "other"


def _item(ci: CareItem | NextStep, condition: str | None) -> PlanItem:
    return PlanItem(text=ci.text, sources=list(ci.sources), condition=condition)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _merge_items(items: Iterable[PlanItem]) -> list[PlanItem]:
    seen: set[str] = set()
    out = []
    for it in items:
        if it.text not in seen:
            seen.add(it.text)
            out.append(it)
    return out


def _block_at_or_above(cond: ConditionContent, level: Level) -> tuple[Level, LevelContent]:
    """The condition's content at ``level``, or at the nearest more urgent level it has."""
    for lvl in LEVELS:
        if level_rank(lvl) >= level_rank(level) and lvl in cond.levels:
            return lvl, cond.levels[lvl]
    raise LookupError(f"no care content at or above {level!r}")  # pragma: no cover - guarded by checks


def _summary(key: str, prob: float, cond: ConditionContent) -> ConditionSummary:
    return ConditionSummary(
        key=key,
        name=cond.name,
        probability=prob,
        summary=cond.summary.text,
        sources=list(cond.summary.sources),
    )


def _next_steps(
    content: CareContent, key: str, cond: ConditionContent, level: Level, findings: Mapping[str, bool | None]
) -> list[PlanItem]:
    """The condition's clinician steps shown at this level, plus, for emergency/urgent plans,
    steps triggered by warning findings that are True (whatever the condition)."""
    chosen = [s for s in cond.next_steps if level in content.next_steps[s].levels]
    if _Level.parse(level).is_acute:
        chosen += [
            sid
            for sid, step in content.next_steps.items()
            if sid not in chosen and any(findings.get(f) is True for f in step.triggers)
        ]
    return [_item(content.next_steps[s], key) for s in chosen]


def _apply_tailoring(
    content: CareContent,
    condition: str,
    level: Level,
    findings: Mapping[str, bool | None],
    exercises: list[str],
    self_care: list[str],
    treatments: list[str],
) -> list[TailoringNote]:
    notes = []
    for rule in content.tailoring:
        if level not in rule.levels:
            continue
        if "*" not in rule.conditions and condition not in rule.conditions:
            continue
        triggered = [f for f in rule.when_any if findings.get(f) is True]
        if not triggered:
            continue
        exercises += [x for x in rule.add_exercises if x not in exercises]
        self_care += [x for x in rule.add_self_care if x not in self_care]
        treatments += [x for x in rule.add_treatments if x not in treatments]
        notes.append(
            TailoringNote(
                rule=rule.id,
                findings=triggered,
                items=[*rule.add_exercises, *rule.add_self_care, *rule.add_treatments],
                note=rule.note,
            )
        )
    return notes


def _collect_sources(content: CareContent, plan: CarePlan) -> list[SourceRef]:
    ids: list[str] = []
    dumped = plan.model_dump(mode="python", exclude={"sources_used"})

    def walk(obj: object) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key == "sources" and isinstance(value, list):
                    ids.extend(v for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    walk(dumped)
    refs = []
    for sid in _unique(ids):
        src = content.sources.get(sid)
        if src is not None:
            refs.append(SourceRef(id=sid, title=src.title, url=src.url, doi=src.doi))
    return refs


def _known(ranked: Sequence[tuple[str, float]], content: CareContent) -> list[tuple[str, float]]:
    """The ranked keys the care content has a plan for, most likely first ("fits no known cause" if none)."""
    known = [(k, float(p)) for k, p in ranked if k in content.conditions]
    if not known:
        if not ranked:
            raise ValueError("ranked is empty: no condition to build a care plan for")
        # nothing the content knows: fall back to the "fits no known cause" plan
        known = [(OTHER, 0.0)]  # build_care_plan's note names the keys that were skipped
    return known


def plan_lead(ranked: Sequence[tuple[str, float]]) -> tuple[str, Level]:
    """The condition a care plan for ``ranked`` is built for, and its lowest level (``base_level``, the
    knowledge base's ``condition_levels``): what ``painpath.services.final_level`` raises the plan's
    level to."""
    content = load_care_content()
    key = _known(ranked, content)[0][0]
    return key, content.conditions[key].base_level


def _plan_level(triage_level: str, level: str | None, lead_key: str, lead: ConditionContent,
                followup_level: str | None) -> tuple[Level, list[Message]]:
    """The decided ``level`` checked against the plan's inputs (a level is never lowered, the leading
    condition has no content below its lowest level, and a follow-up's call is kept), with the notes saying
    what raised it above the triage level; not a decision."""
    chosen = _Level.parse(level if level is not None else triage_level)
    if chosen < _Level.parse(triage_level):
        raise ValueError(f"level: {chosen.value} is below the triage level {triage_level}; a level is never lowered")
    if chosen < _Level.parse(lead.base_level):
        raise ValueError(f"level: {lead_key} has no care below {lead.base_level}, got {chosen.value}; decide the "
                         "plan's level with painpath.services.final_level")
    if followup_level is not None and chosen < _Level.parse(followup_level):
        raise ValueError(f"level: the follow-up calls for at least {followup_level}, got {chosen.value}; decide "
                         "the plan's level with painpath.services.final_level")
    if chosen == _Level.parse(triage_level):
        return chosen.value, []
    notes: list[Message] = []
    if chosen == _Level.parse(lead.base_level):
        notes.append(Message(id="plan.note.level_raised",
                             params={"from_level": triage_level, "to_level": chosen.value, "condition": lead_key}))
    if followup_level is not None and chosen == _Level.parse(followup_level):
        notes.append(Message(id="plan.note.level_raised_followup",
                             params={"from_level": triage_level, "to_level": chosen.value}))
    if not notes:
        raise ValueError(f"level: nothing raises the plan from {triage_level} to {chosen.value} (the lowest level "
                         f"for {lead_key} is {lead.base_level}, the follow-up calls for {followup_level}); decide "
                         "the plan's level with painpath.services.final_level")
    return chosen.value, notes


def build_care_plan(
    ranked: Sequence[tuple[str, float]],
    triage_level: str,
    findings: Mapping[str, bool | None],
    *,
    level: str | None = None,
    triage_reasons: Sequence[str] = (),
    startback: StartBackResult | None = None,
    region: str | None = None,
    followup_level: str | None = None,
) -> CarePlan:
    """Assemble the care plan for the leading condition (:func:`plan_lead`) at ``level``.

    ``level`` is the final level as decided by ``painpath.services.final_level``: ``triage_level``
    raised to the leading condition's lowest level and to ``followup_level`` (what a follow-up calls
    for, None without one); a note says which raised it. The plan does not decide it: a level below
    one of those, or above the triage level with nothing that raises it, is a ``ValueError``; without
    ``level`` the plan is at ``triage_level``. ``ranked`` is
    ``[(condition_key, probability), ...]`` sorted most likely first; keys the care content does
    not know are skipped (with a note). ``findings`` maps finding keys to True / False / None.
    ``region`` (default: the ``PAINPATH_REGION`` setting) decides the emergency number and
    services the plan names. ``other`` may appear in ``ranked`` like a condition key.
    """
    words = services(region)  # raises ValueError on an unknown region
    level_rank(triage_level)  # raises ValueError on an unknown level
    content = load_care_content()
    def names(kind: str, key: str) -> str | None:
        return content.conditions[key].name if kind == "care_condition" and key in content.conditions else None

    notes: list[Message] = []
    known = _known(ranked, content)
    unknown = [k for k, _ in ranked if k not in content.conditions]
    if unknown:
        notes.append(Message(id="plan.note.no_content", params={"keys": unknown}))

    lead_key, lead_p = known[0]
    lead = content.conditions[lead_key]
    level, raised = _plan_level(triage_level, level, lead_key, lead, followup_level)  # the checked LevelName
    notes += raised
    block = lead.levels[level]
    acute = _Level.parse(level).is_acute

    second = known[1] if len(known) > 1 and known[0][1] - known[1][1] <= CLOSE_MARGIN + 1e-9 else None

    exercises = [] if acute else list(block.exercises)
    self_care = [] if acute else list(block.self_care)
    treatments = [] if acute else list(block.treatments)
    do_now = [_item(ci, lead_key) for ci in block.do_now]
    safety_net = [_item(ci, lead_key) for ci in block.safety_net]
    next_steps = _next_steps(content, lead_key, lead, level, findings)
    tailoring = (
        []
        if acute
        else _apply_tailoring(content, lead_key, level, findings, exercises, self_care, treatments)
    )
    summaries = [_summary(lead_key, lead_p, lead)]

    used_startback: StartBackResult | None = None
    if startback is not None:
        if lead.back_pain and not acute:
            used_startback = startback
            do_now.append(
                PlanItem(text=startback.advice, sources=list(startback.sources), condition=lead_key)
            )
            next_steps.insert(
                0,
                PlanItem(text=startback.clinician_step, sources=list(startback.sources), condition=lead_key),
            )
            extra = {"medium": ["manual_therapy_package"], "high": ["psychological_support_package"]}
            treatments += [t for t in extra.get(startback.stratum, []) if t not in treatments]
        elif not lead.back_pain:
            notes.append(Message(id="plan.note.startback_not_back"))

    shared: SharedAdvice | None = None
    if second is not None:
        sec_key, sec_p = second
        sec = content.conditions[sec_key]
        summaries.append(_summary(sec_key, sec_p, sec))
        sec_level, sec_block = _block_at_or_above(sec, level)
        sec_net = [_item(ci, sec_key) for ci in sec_block.safety_net]
        safety_net = _merge_items([*safety_net, *sec_net])
        next_steps = _merge_items([*next_steps, *_next_steps(content, sec_key, sec, level, findings)])
        both_ok = not acute and sec_level == level
        shared_ex = [x for x in exercises if both_ok and x in sec_block.exercises]
        shared_sc = [x for x in self_care if both_ok and x in sec_block.self_care]
        note = [Message(id="plan.shared.equally_likely", params={"a": lead_key, "b": sec_key})]
        if shared_ex or shared_sc:
            note.append(Message(id="plan.shared.suits_both"))
        if sec_level != level:
            note.append(Message(id=f"plan.shared.other_needs.{sec_level}", params={"name": sec_key}))
        shared = SharedAdvice(
            conditions=[lead_key, sec_key],
            note=render_all(note, names=names),
            note_messages=note,
            exercises=shared_ex,
            self_care=shared_sc,
            safety_net=sec_net,
        )

    if lead.back_pain and not acute and startback is None:
        notes.append(Message(id="plan.note.startback_missing"))

    library: Mapping[str, LibraryItem] = content.library
    plan = CarePlan(
        level=level,
        headline=block.headline,
        why=_item(block.why, lead_key),
        triage_reasons=list(triage_reasons),
        conditions=summaries,
        do_now=do_now,
        avoid=[_item(ci, lead_key) for ci in block.avoid],
        expected_course=_item(block.expected_course, lead_key) if block.expected_course else None,
        safety_net=safety_net,
        exercises=[library[x] for x in exercises],
        self_care=[library[x] for x in self_care],
        treatments=[
            PlanTreatment(
                id=t,
                name=content.treatments[t].name,
                grade=content.treatments[t].grade,
                summary=content.treatments[t].summary,
                sources=list(content.treatments[t].sources),
            )
            for t in treatments
        ],
        clinician_next_steps=next_steps,
        shared_advice=shared,
        tailoring=tailoring,
        startback=used_startback,
        notes=[render(m, names=names) for m in notes],
        note_messages=notes,
    )
    plan = plan.model_copy(update={"sources_used": _collect_sources(content, plan)})
    return CarePlan.model_validate(fill_deep(plan.model_dump(mode="python"), words))
