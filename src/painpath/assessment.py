"""The Python API: assess one case or many, with typed, documented results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from painpath.cases import Case, Mode, encode, encode_many, parse_case
from painpath.domain import LevelName, setting_for
from painpath.engine import ENGINE_VERSION, CompiledKB, default_compiled
from painpath.engine.compiled import LEVEL_RANK, OTHER, RANK_LEVEL
from painpath.engine.fast import assess_fast
from painpath.engine.single import assess_one, top_answers
from painpath.errors import CaseError
from painpath.messages import Message

__all__ = [
    "Assessment",
    "BatchResult",
    "ConditionResult",
    "Evidence",
    "OtherResult",
    "TriageReason",
    "TriageResult",
    "assess",
    "assess_arrays",
    "assess_many",
    "care_plan_for",
]

Level = LevelName


class Evidence(BaseModel):
    """One answer's weight for a condition (natural-log units; + raises, - lowers)."""

    finding: str
    text: str
    answer: Literal["present", "absent"]
    weight: float


class ConditionResult(BaseModel):
    key: str
    name: str
    short_name: str
    origin: str
    probability: float
    level: Level = Field(description="the condition's own level after escalations")
    icd10cm: list[str]
    supporting: list[Evidence] = Field(default_factory=list, description="answers that raised it most")
    opposing: list[Evidence] = Field(default_factory=list, description="answers that lowered it most")


class OtherResult(BaseModel):
    """The share of a cause outside PainPath's conditions ("none of these")."""

    key: Literal["other"] = OTHER
    probability: float = Field(description="probability that the cause is none of the listed conditions")
    leads: bool = Field(description="true when 'other' ranks first: strictly more probable than every condition")
    level: Level = Field(description="its own level after its escalations (persistent, age)")
    message: str | None = Field(
        description="plain words to show when 'other' leads or is substantial; null when it is negligible")
    supporting: list[Evidence] = Field(default_factory=list, description="answers the listed conditions explain worst")
    opposing: list[Evidence] = Field(default_factory=list, description="answers a listed condition explains well")


class TriageReason(BaseModel):
    kind: Literal["floor", "condition", "escalation", "other"]
    id: str
    level: Level
    text: str = Field(description="the reason in English")
    source: str | None = None
    message: Message | None = Field(
        default=None, description="`text` as a message id with parameters, to show it in another language; "
                                  "null when `text` is knowledge-base wording (translate `text` itself)")


class TriageResult(BaseModel):
    level: Level
    advice: str
    reasons: list[TriageReason]
    floor_level: Level | None = Field(description="highest warning floor fired, if any")
    condition_level: Level = Field(description="level driven by the condition probabilities")


class Assessment(BaseModel):
    """The result of assessing one person's findings."""

    case_id: str
    mode: Mode
    setting: str
    age: int
    sex: str
    conditions: list[ConditionResult] = Field(description="every condition, most probable first")
    other: OtherResult | None = Field(
        default=None,
        description="a cause outside the listed conditions; condition probabilities and other.probability sum to 1 "
                    "(null when the knowledge base has no unlisted-cause class)")
    leading: str = Field(default="", description="the candidate ranked first: a condition key, or 'other'")
    origin: dict[str, float] = Field(
        description="probability that the pain comes from each origin (back, hip, leg, vascular, systemic); "
                    "'other' has no origin, so these sum to 1 - other.probability")
    triage: TriageResult
    kb_version: str
    engine_version: str = ENGINE_VERSION
    disclaimer: str = (
        "PainPath gives information, not a diagnosis. It does not replace a clinician. "
        "If you are worried or things get worse, seek medical help."
    )

    @property
    def top(self) -> ConditionResult:
        """The most probable *condition* (see ``leading`` and ``other`` for "none of these")."""
        return self.conditions[0]

    @property
    def other_leads(self) -> bool:
        return self.other is not None and self.other.leads

    def ranking(self) -> list[tuple[str, float]]:
        """Every candidate with its probability, most probable first: the conditions and "other"
        (which ranks after a condition of equal probability, as the benchmark's tie rule says)."""
        out = [(c.key, c.probability) for c in self.conditions]
        if self.other is not None:
            at = next((i for i, (_k, p) in enumerate(out) if self.other.probability > p), len(out))
            out.insert(at, (OTHER, self.other.probability))
        return out


class BatchResult(BaseModel):
    model_config = {"arbitrary_types_allowed": True}
    conditions: list[str]
    probabilities: Any  # numpy (N, C), one column per condition; with ``other`` each row sums to 1
    triage_levels: list[str]
    origin: Any  # numpy (N, O)
    other: Any = None  # numpy (N,) probability of "other", None when the KB has no unlisted-cause class


def _setting_for(mode: Mode, setting: str | None, ckb: CompiledKB | None = None) -> str:
    st = setting_for(mode, setting)
    known = (ckb or default_compiled()).log_prior
    if st not in known:
        raise CaseError(f"setting: unknown setting '{st}' (known: {', '.join(known)})")
    return st


@cache
def _evidence_base(ckb: CompiledKB) -> tuple[tuple[dict[str, str], ...], tuple[dict[str, str], ...]]:
    """Per finding, the fixed part of its :class:`Evidence` data: answered absent, answered present."""
    fs = ckb.kb.findings.findings
    return tuple(tuple({"finding": k, "text": fs[k].text, "answer": answer} for k in ckb.findings)
                 for answer in ("absent", "present"))  # type: ignore[return-value]  # two, by construction


_NO_EVIDENCE: tuple[list[dict], list[dict]] = ([], [])  # read only: pydantic copies the lists it validates


def _evidence_many(ckb: CompiledKB, top: list[tuple[list[int], list[float], list[int], list[float]]],
                   ev: np.ndarray, cols: list[int]) -> dict[int, tuple[list[dict], list[dict]]]:
    """For each candidate in ``cols``: the answers that raised and lowered it most (``top``, from
    :func:`painpath.engine.single.top_answers`: findings and weights, each past its threshold), as
    :class:`Evidence` data (the whole result is validated once, in Rust, by ``model_validate``)."""
    if not cols:
        return {}
    by_answer, answers = _evidence_base(ckb), ev.tolist()  # by_answer[answered present][finding]
    shown = _round3([x for _hi, hw, _lo, lw in top for x in (*hw, *lw)])  # as round(x, 3), in one pass
    out = {}
    at = 0
    for ci, (hi_l, hw, lo_l, lw) in zip(cols, top, strict=True):
        mid, end = at + len(hw), at + len(hw) + len(lw)
        out[ci] = ([dict(by_answer[answers[f] > 0][f], weight=x) for f, x in zip(hi_l, shown[at:mid], strict=True)],
                   [dict(by_answer[answers[f] > 0][f], weight=x) for f, x in zip(lo_l, shown[mid:end], strict=True)])
        at = end
    return out


def _round3(values: list[float]) -> list[float]:
    """``[round(x, 3) for x in values]``, vectorised: NumPy's rounding (x * 1000, to the nearest
    integer, / 1000) gives Python's correctly rounded result except within rounding error of a
    half-way point, where Python's ``round`` decides."""
    x = np.asarray(values, dtype=np.float64)
    scaled = x * 1000.0
    out = (np.rint(scaled) / 1000.0).tolist()
    for i in np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6).tolist():
        out[i] = round(values[i], 3)
    return out


@cache
def _condition_info(ckb: CompiledKB) -> tuple[dict[str, Any], ...]:
    kbc = ckb.kb.conditions.conditions
    return tuple({"key": k, "name": kbc[k].name, "short_name": kbc[k].short_name, "origin": kbc[k].origin,
                  "icd10cm": list(kbc[k].icd10cm)} for k in ckb.conditions)


def assess(
    case: Case | Mapping[str, Any],
    *,
    mode: Mode = "self",
    setting: str | None = None,
    ckb: CompiledKB | None = None,
    explain_top: int = 5,
    explain_conditions: int | None = 6,
) -> Assessment:
    """Assess one case: ranked conditions, origin, triage with reasons, explanations.

    ``case`` is a :class:`Case` or a mapping in the benchmark case format. The
    ``explain_top`` answers that weighed most for and against are listed for the
    ``explain_conditions`` most probable conditions (``None``: every condition).
    """
    ckb = ckb or default_compiled()
    if mode not in ("self", "clinician"):
        raise CaseError(f"mode: must be 'self' or 'clinician', got {mode!r}")
    if not isinstance(case, Case):
        case = parse_case(case, ckb)
    st = _setting_for(mode, setting, ckb)
    ev = encode(case, ckb, mode)
    # one case: the latency path (engine/single.py), the same float64 model as posterior/triage_arrays
    one = assess_one(ckb, ev, case.age, case.sex == "female", st)
    tri, p = one.triage, one.post
    info = _condition_info(ckb)
    C = len(ckb.conditions)
    eff = tri.effective_ranks[0]
    conds = []
    ranked = np.argsort(-p[:C], kind="stable").tolist()
    explained = ranked if explain_conditions is None else ranked[:explain_conditions]
    shown = explained + ([ckb.other_index] if ckb.other_index is not None else [])
    # weights of evidence only for the candidates whose explanations are listed
    evidence = _evidence_many(ckb, top_answers(ckb, ev, one.w, p, shown, explain_top), ev, shown)
    probs, levels = p.tolist(), eff.tolist()
    for ci in ranked:
        sup, opp = evidence.get(ci, _NO_EVIDENCE)
        conds.append(dict(info[ci], probability=probs[ci], level=RANK_LEVEL[levels[ci]], supporting=sup, opposing=opp))
    origin = dict(zip(ckb.origin_names, (p @ ckb.origin_matrix).tolist(), strict=True))
    o = ckb.other_index
    leads = o is not None and probs[o] > probs[ranked[0]]  # "other" ranks first (strictly above every condition)
    other = _other_result(ckb, tri, probs, leads, evidence)
    return Assessment.model_validate({
        "case_id": case.id,
        "mode": mode,
        "setting": st,
        "age": case.age,
        "sex": case.sex,
        "conditions": conds,
        "other": other,
        "leading": OTHER if other is not None and other["leads"] else conds[0]["key"],
        "origin": origin,
        "triage": _triage_result(ckb, tri, probs, ranked, leads),
        "kb_version": ckb.kb.version,
    })


#: Plain words for "none of these" (translated in the web catalogue).
OTHER_LEADS_TEXT = (
    "Your answers do not fit the common causes of leg pain well. "
    "A clinician can look for a cause that PainPath does not cover."
)
OTHER_POSSIBLE_TEXT = "Your answers may also fit a cause that PainPath does not cover."
#: "other" at or above this probability is mentioned even when it does not lead.
OTHER_MENTION = 0.20


def _other_result(ckb: CompiledKB, tri: Any, probs: list[float], leads: bool,
                  evidence: dict[int, Any]) -> dict[str, Any] | None:
    """:class:`OtherResult` data, or None when the KB has no unlisted-cause class."""
    o = ckb.other_index
    if o is None:
        return None
    prob = probs[o]
    message = OTHER_LEADS_TEXT if leads else OTHER_POSSIBLE_TEXT if prob >= OTHER_MENTION else None
    sup, opp = evidence[o]
    return {"probability": prob, "leads": leads, "level": RANK_LEVEL[int(tri.effective_ranks[0, o])],
            "message": message, "supporting": sup, "opposing": opp}


@cache
def _escalation_columns(ckb: CompiledKB) -> tuple[tuple[int, ...], ...]:
    """Per escalation: the candidates it raises (its conditions, or every condition at its ``from_level``),
    whose probability must reach 0.10 for it to be given as a reason."""
    t = ckb.kb.triage
    return tuple(
        tuple(ckb.cidx[c] for c in esc.conditions) if esc.conditions else
        tuple(i for i, c in enumerate(ckb.conditions) if t.condition_levels[c] == esc.from_level)
        for esc in t.escalations)


def _triage_result(ckb: CompiledKB, tri: Any, probs: list[float], ranked: list[int], leads: bool) -> dict[str, Any]:
    """:class:`TriageResult` data (validated with the whole result, once). ``probs``: the posterior as a
    list; ``ranked``: the conditions, most probable first; ``leads``: "other" ranks first."""
    t = ckb.kb.triage
    level = RANK_LEVEL[int(tri.level_rank[0])]
    reasons: list[dict[str, Any]] = []
    for fl, fired in zip(t.floors, tri.floors_fired[0].tolist(), strict=True):
        if fired:
            reasons.append({"kind": "floor", "id": fl.id, "level": fl.level, "text": fl.reason, "source": fl.src})
    for esc, cols, fired in zip(t.escalations, _escalation_columns(ckb), tri.escalations_fired[0].tolist(),
                                strict=True):
        if fired and any(probs[i] >= 0.10 for i in cols):
            reasons.append({"kind": "escalation", "id": esc.id, "level": esc.level, "text": esc.reason, "source": esc.src})
    cond_rank = int(tri.condition_rank[0])
    o = ckb.other_index
    eff = tri.effective_ranks[0].tolist()
    if leads and o is not None and cond_rank > 0 and eff[o] == cond_rank:
        other = ckb.kb.model.other
        assert other is not None
        for oesc, fired in zip(other.escalations, tri.other_fired[0].tolist(), strict=True):
            if fired and LEVEL_RANK[oesc.level] == cond_rank:
                reasons.append({"kind": "other", "id": oesc.id, "level": oesc.level, "text": oesc.reason, "source": oesc.src})
                break
    if cond_rank > 0 or not reasons:
        members = [i for i in ranked if eff[i] >= cond_rank][:3]  # the conditions ("other" is not one)
        conds = ckb.kb.conditions.conditions
        names = ", ".join(f"{conds[ckb.conditions[i]].short_name} ({probs[i]:.0%})" for i in members)
        lvl = RANK_LEVEL[cond_rank]
        reasons.append(
            {
                "kind": "condition",
                "id": f"conditions_at_{lvl}",
                "level": lvl,
                "text": f"The likely causes at this level of care: {names}.",
                "source": "nice_ng59_triage",
                "message": {"id": "triage.likely_causes",  # a Message, validated with the whole result
                            "params": {"causes": [[ckb.conditions[i], probs[i]] for i in members]}},
            }
        )
    floor_rank = int(tri.floor_rank[0])
    return {
        "level": level,
        "advice": t.level_text[level],  # type: ignore[index]  # level is a LevelName value (from RANK_LEVEL)
        "reasons": reasons,
        "floor_level": RANK_LEVEL[floor_rank] if floor_rank >= 0 else None,
        "condition_level": RANK_LEVEL[cond_rank],
    }


def assess_arrays(
    ev: np.ndarray,
    age: np.ndarray,
    female: np.ndarray,
    *,
    setting: str = "self",
    ckb: CompiledKB | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Batch form on encoded arrays: posteriors (N, M) and triage level ranks (N,).

    ``ev`` is (N, F) int8 with +1 present, -1 absent, 0 unknown, in
    ``ckb.findings`` order; the M columns of the posteriors are ``ckb.candidates``
    (the conditions, then "other" when the KB defines it); ranks are 3 emergency,
    2 urgent, 1 soon, 0 self_care. The fused batch path (:mod:`painpath.engine.fast`)
    computes them in float32 whatever the number of rows, so a case gets the same
    result in any batch; they agree with the float64 path of :func:`assess` to about 1e-5.
    """
    ckb = ckb or default_compiled()
    if setting not in ckb.log_prior:
        raise CaseError(f"setting: unknown setting '{setting}' (known: {', '.join(ckb.log_prior)})")
    return assess_fast(ckb, ev, age, female, setting)


def assess_many(
    cases: Iterable[Case | Mapping[str, Any]],
    *,
    mode: Mode = "self",
    setting: str | None = None,
    ckb: CompiledKB | None = None,
) -> BatchResult:
    """Assess many cases at once (vectorised); returns arrays, not per-case objects."""
    ckb = ckb or default_compiled()
    parsed: Sequence[Case] = [c if isinstance(c, Case) else parse_case(c, ckb) for c in cases]
    ev, age, female = encode_many(list(parsed), ckb, mode)
    post, ranks = assess_arrays(ev, age, female, setting=_setting_for(mode, setting, ckb), ckb=ckb)
    C = len(ckb.conditions)
    return BatchResult(
        conditions=list(ckb.conditions),
        probabilities=post[:, :C],
        triage_levels=[RANK_LEVEL[int(r)] for r in ranks],
        origin=post @ ckb.origin_matrix,
        other=post[:, ckb.other_index] if ckb.other_index is not None else None,
    )


def care_plan_for(result: Assessment, case: Case, startback: Any = None, *, level: str | None = None,
                  followup_level: str | None = None) -> Any:
    """The tailored care plan (:class:`painpath.careplan.CarePlan`) for an assessment of ``case``, at ``level``:
    the final level decided by ``painpath.services.final_level`` (``painpath.services.conclude`` passes it, and
    ``followup_level``, what a follow-up calls for, so that the plan's note says why the level was raised)."""
    from painpath.careplan import build_care_plan

    ranked = result.ranking()  # "other" included, so an unexplained pattern gets its own plan
    reasons = [r.text for r in result.triage.reasons]
    return build_care_plan(ranked, result.triage.level, dict(case.findings), level=level, triage_reasons=reasons,
                           startback=startback, followup_level=followup_level)
