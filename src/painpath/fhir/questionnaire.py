"""The PainPath interview as a FHIR R4 Questionnaire, and reading answers back from a QuestionnaireResponse.

* :func:`questionnaire` - the whole interview, exported from the knowledge base: an "about you" group
  (age, sex), then one group per interview screen (linkId = screen key) with one yes / no / don't know
  item per finding (linkId = finding key). Warning screens with ``when_any`` are enabled by the answer
  Yes to one of those findings; examination groups carry the ``clinician-only`` extension.
* :func:`read_response` - the answers of a QuestionnaireResponse, checked, with every refusal naming the
  element (``QuestionnaireResponse.item[2].item[0].answer[0]``).

Which leg (``painpath-side``, optional): a choice item right after ``pain_both_legs`` in its group, answered
with a SNOMED CT laterality (left, right, "right and left"). As in the interview it refines that finding: left or
right answers it No, both answers it Yes; an answer to ``pain_both_legs`` that disagrees is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from painpath.domain import Side
from painpath.engine import CompiledKB
from painpath.fhir import codes as C
from painpath.fhir.outcome import FhirError
from painpath.interview.state import BOTH_LEGS

__all__ = ["Response", "about_you_group", "finding_item", "questionnaire", "read_response", "screen_group",
           "screen_of", "side_item"]

AGE_HELP = "In whole years, for example 45."
SEX_HELP = "Some causes of leg pain are more common in one sex."
MODE_HELP = ("Examination questions are for a clinician who is examining the person; they appear only when a "
             "clinician is answering.")
SIDE_TEXT = "Which leg?"
SIDE_HELP = ("Left or right: the symptoms are in that leg only. Right and left: in both legs (count numbness or "
             "tingling in the other leg too). Leave it empty if you are not sure.")


def _help(link_id: str, text: str) -> dict[str, Any]:
    return {"linkId": link_id, "text": text, "type": "display",
            "extension": [{"url": C.ITEM_CONTROL_EXT, "valueCodeableConcept": {
                "coding": [{"system": C.ITEM_CONTROL, "code": "help", "display": "Help-Button"}]}}]}


def _radio() -> dict[str, Any]:
    """itemControl radio-button: renderers show the few answers side by side instead of a drop-down."""
    return {"url": C.ITEM_CONTROL_EXT, "valueCodeableConcept": {
        "coding": [{"system": C.ITEM_CONTROL, "code": "radio-button", "display": "Radio Button"}]}}


def _translated(spanish: str) -> dict[str, Any]:
    """``_display`` with its Spanish translation (the core translation extension)."""
    return {"extension": [{"url": C.TRANSLATION_EXT, "extension": [
        {"url": "lang", "valueCode": "es"}, {"url": "content", "valueString": spanish}]}]}


def answer_options(translations: bool = True) -> list[dict[str, Any]]:
    """Yes / No / Don't know as LOINC answers (displays as renderers show them; Spanish as translations)."""
    return [{"valueCoding": {**c, "_display": _translated(C.SPANISH[c["code"]])} if translations else dict(c)}
            for c in C.ANSWER_CODINGS]


def mode_item() -> dict[str, Any]:
    """Who is answering: the examination groups are enabled only by the answer "a clinician"."""
    return {"linkId": C.MODE_ITEM, "code": [C.painpath_code("interview-mode")], "text": "Who is answering?",
            "type": "choice", "required": True, "extension": [_radio()],
            "answerOption": [
                {"valueCoding": {**C.MODE_SELF, "_display": _translated(C.MODE_SPANISH["self"])},
                 "initialSelected": True},
                {"valueCoding": {**C.MODE_CLINICIAN, "_display": _translated(C.MODE_SPANISH["clinician"])}}],
            "item": [_help(f"{C.MODE_ITEM}-help", MODE_HELP)]}


def side_item(*, compact: bool = False) -> dict[str, Any]:
    """Which leg: optional, answered left, right or "right and left" (SNOMED CT laterality). ``compact``: as in
    :func:`finding_item`."""
    options = [{"valueCoding": dict(c) if compact else {**c, "_display": _translated(C.LATERALITY_SPANISH[side])}}
               for side, c in C.LATERALITY.items()]
    item: dict[str, Any] = {"linkId": C.SIDE_ITEM, "code": [C.painpath_code("leg-side")], "text": SIDE_TEXT,
                            "type": "choice", "required": False, "answerOption": options,
                            "item": [_help(f"{C.SIDE_ITEM}-help", SIDE_HELP)]}
    if not compact:
        item["extension"] = [_radio()]
    return item


def finding_item(ckb: CompiledKB, key: str, mode: str = "self", *, compact: bool = False) -> dict[str, Any]:
    """One finding as a choice item answered Yes / No / Don't know (help text as an SDC help display item).

    ``compact`` (the adaptive Questionnaire, which travels in every $next-question request and must stay well
    under the body limit): without the Spanish translations and the radio-button rendering hint."""
    f = ckb.kb.findings.findings[key]
    text = f.clinician_question if (mode == "clinician" or f.kind == "sign") and f.clinician_question else f.question
    item: dict[str, Any] = {
        "linkId": key,
        "code": [C.coding(C.FINDING_SYSTEM, key, f.text)],
        "text": text,
        "type": "choice",
        "required": False,
        "answerOption": answer_options(not compact),
    }
    if not compact:
        item["extension"] = [_radio()]
    if f.help:
        item["item"] = [_help(f"{key}-help", f.help)]
    return item


def about_you_group() -> dict[str, Any]:
    return {
        "linkId": C.ABOUT_YOU,
        "text": "About you",
        "type": "group",
        "required": True,
        "item": [
            {"linkId": "age", "code": [C.painpath_code("age")], "text": "How old are you?", "type": "integer",
             "required": True,
             "extension": [{"url": C.MIN_VALUE_EXT, "valueInteger": 0}, {"url": C.MAX_VALUE_EXT, "valueInteger": 120}],
             "item": [_help("age-help", AGE_HELP)]},
            {"linkId": "sex", "code": [C.painpath_code("sex")], "text": "What sex were you born with?",
             "type": "choice", "required": True, "extension": [_radio()],
             "answerOption": [{"valueCoding": dict(C.FEMALE)}, {"valueCoding": dict(C.MALE)}],
             "item": [_help("sex-help", SEX_HELP)]},
        ],
    }


def screen_group(ckb: CompiledKB, name: str, keys: list[str] | None = None, *, mode: str = "self",
                 why: str | None = None, required: bool = False, compact: bool = False) -> dict[str, Any]:
    """One interview screen as a group (``keys``: the findings to ask, default all of the screen's)."""
    sc = ckb.kb.interview.screens[name]
    ext: list[dict[str, Any]] = [{"url": C.EXT_PHASE, "valueCode": sc.phase}]
    if sc.phase == "exam":
        ext.append({"url": C.EXT_CLINICIAN_ONLY, "valueBoolean": True})
    if why:
        ext.append({"url": C.EXT_WHY, "valueString": why})
    items: list[dict[str, Any]] = []
    for k in keys if keys is not None else sc.findings:
        items.append(finding_item(ckb, k, mode, compact=compact))
        if k == BOTH_LEGS:  # which leg, right after the question it refines
            items.append(side_item(compact=compact))
    return {"linkId": name, "text": sc.title, "type": "group", "required": required, "extension": ext, "item": items}


def screen_of(ckb: CompiledKB) -> dict[str, str]:
    """finding key -> the one screen that asks it."""
    return {k: name for name, sc in ckb.kb.interview.screens.items() for k in sc.findings}


def questionnaire(ckb: CompiledKB, *, date: str | None = None) -> dict[str, Any]:
    """The whole PainPath interview as a static Questionnaire (``GET /fhir/Questionnaire/painpath``)."""
    kb = ckb.kb
    items: list[dict[str, Any]] = [mode_item(), about_you_group()]
    yes = {k: C.YES[k] for k in ("system", "code")}
    for name, sc in kb.interview.screens.items():
        g = screen_group(ckb, name)
        when = [{"question": k, "operator": "=", "answerCoding": dict(yes)} for k in sc.when_any]
        if sc.phase == "exam":  # hidden unless a clinician is answering (a standard enableWhen every renderer runs)
            if when:
                raise ValueError(f"screen {name}: an examination screen cannot also depend on answers")
            when = [{"question": C.MODE_ITEM, "operator": "=",
                     "answerCoding": {k: C.MODE_CLINICIAN[k] for k in ("system", "code")}}]
        if when:
            g["enableWhen"] = when
            if len(when) > 1:
                g["enableBehavior"] = "any"
        items.append(g)
    q: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": "painpath",
        "url": C.QUESTIONNAIRE_URL,
        "version": kb.version,
        "name": "PainPathLegPain",
        "title": "PainPath leg-pain questions",
        "status": "active",
        "experimental": False,
        "subjectType": ["Patient"],
        "publisher": "PainPath",
        "description": (
            "Every question PainPath can ask about leg pain, exported from its knowledge base (version "
            f"{kb.version}). Groups are interview screens (linkId = screen key); items are findings "
            "(linkId = finding key) answered Yes (LOINC LA33-6), No (LA32-8) or Don't know (LA12688-0). The first "
            f"item ('{C.MODE_ITEM}') says who is answering: the examination groups (clinician-only extension) are "
            "enabled only when a clinician is. PainPath asks a short adaptive subset of these: use "
            "Questionnaire/$next-question. PainPath gives information, not a diagnosis."),
        "purpose": "Assess where leg pain comes from, how urgent it is, and what to do.",
        "item": items,
    }
    if date:
        q["date"] = date
    return q


# --- reading a QuestionnaireResponse -----------------------------------------------------------------


@dataclass
class Response:
    """What a QuestionnaireResponse says, checked against the knowledge base."""

    age: int | None = None
    sex: str | None = None
    mode: str | None = None
    side: str | None = None  # which leg, as answered (painpath-side): left, right or both
    answers: dict[str, str] = field(default_factory=dict)  # finding -> present | absent | unknown
    unanswered: set[str] = field(default_factory=set)  # finding items present without an answer
    groups: dict[str, dict[str, str | None]] = field(default_factory=dict)  # top-level group -> finding -> value
    paths: dict[str, str] = field(default_factory=dict)  # finding / group linkId -> element path

    @property
    def leg_side(self) -> str | None:
        """Which leg, as the interview keeps it: the side answered, else both legs when symptoms in both legs
        were answered Yes (None while nothing says)."""
        if self.side is not None:
            return self.side
        return Side.BOTH.value if self.answers.get(BOTH_LEGS) == "present" else None


def _walk(items: Any, path: str) -> Iterator[tuple[dict[str, Any], str, str | None]]:
    """(item, element path, top-level group linkId) for every item, depth first."""

    def rec(nodes: Any, at: str, top: str | None) -> Iterator[tuple[dict[str, Any], str, str | None]]:
        if nodes is None:
            return
        if not isinstance(nodes, list):
            raise FhirError(f"{at}: must be an array of items", expression=at)
        for i, node in enumerate(nodes):
            here = f"{at}[{i}]"
            if not isinstance(node, dict):
                raise FhirError(f"{here}: must be an object", expression=here)
            link = node.get("linkId")
            if not isinstance(link, str) or not link:
                raise FhirError(f"{here}.linkId: required (a string)", expression=f"{here}.linkId")
            owner = top if top is not None else link
            yield node, here, owner
            yield from rec(node.get("item"), f"{here}.item", owner)

    yield from rec(items, path, None)


def _one_answer(node: dict[str, Any], here: str) -> tuple[dict[str, Any] | None, str]:
    ans = node.get("answer")
    if ans is None or ans == []:
        return None, here
    if not isinstance(ans, list) or not all(isinstance(a, dict) for a in ans):
        raise FhirError(f"{here}.answer: must be an array of answer objects", expression=f"{here}.answer")
    if len(ans) > 1:
        raise FhirError(f"{here}.answer: give one answer, not {len(ans)}", expression=f"{here}.answer")
    return ans[0], f"{here}.answer[0]"


def _finding_value(a: dict[str, Any], at: str) -> str:
    if "valueCoding" in a:
        c = a["valueCoding"]
        if isinstance(c, dict):
            got = C.VALUE_OF.get((c.get("system"), c.get("code")))
            if got:
                return got
        raise FhirError(f"{at}.valueCoding: must be {C.V2_0136}#Y, #N or {C.DATA_ABSENT}#asked-unknown",
                        expression=f"{at}.valueCoding", code="code-invalid")
    if "valueBoolean" in a:
        if not isinstance(a["valueBoolean"], bool):
            raise FhirError(f"{at}.valueBoolean: must be true or false", expression=f"{at}.valueBoolean")
        return "present" if a["valueBoolean"] else "absent"
    raise FhirError(f"{at}: a finding is answered with valueCoding (Yes / No / Don't know)",
                    expression=at, code="value")


DISPLAY_LINKS = {"age-help", "sex-help", "painpath-emergency", "painpath-location-needed", f"{C.MODE_ITEM}-help",
                 f"{C.SIDE_ITEM}-help"}


def read_response(qr: Any, ckb: CompiledKB, *, where: str = "QuestionnaireResponse") -> Response:
    """Read the answers (and the interview-mode extension); raise :class:`FhirError` naming the element."""
    if not isinstance(qr, dict) or qr.get("resourceType") != "QuestionnaireResponse":
        raise FhirError(f"{where}: expected a QuestionnaireResponse resource", expression=where, status=400,
                        code="structure")
    out = Response()
    exts = qr.get("extension") or []
    if not isinstance(exts, list):
        raise FhirError(f"{where}.extension: must be an array", expression=f"{where}.extension")
    for i, e in enumerate(exts):
        if isinstance(e, dict) and e.get("url") == C.EXT_MODE:
            v = e.get("valueCode")
            if v not in ("self", "clinician"):
                at = f"{where}.extension[{i}].valueCode"
                raise FhirError(f"{at}: interview mode must be 'self' or 'clinician', got {v!r}", expression=at,
                                code="code-invalid")
            out.mode = v
    screens = ckb.kb.interview.screens
    findings = ckb.kb.findings.findings
    help_links = {f"{k}-help" for k, f in findings.items() if f.help}
    for node, here, top in _walk(qr.get("item"), f"{where}.item"):
        link = node["linkId"]
        base, dot, n = str(link).rpartition(".")  # SCREEN.N: a screen asked again for items that became due
        if link == C.ABOUT_YOU or link in screens or (dot and n.isdigit() and base in screens):
            if node.get("answer"):
                raise FhirError(f"{here}: group '{link}' cannot have an answer", expression=f"{here}.answer")
            if link in out.paths:
                raise FhirError(f"{here}: group '{link}' appears twice", expression=here, code="duplicate")
            out.paths[link] = here
            if link != C.ABOUT_YOU:
                out.groups.setdefault(link, {})
            continue
        a, at = _one_answer(node, here)
        if link == "age":
            if a is not None:
                v = a.get("valueInteger")
                if isinstance(v, bool) or not isinstance(v, int):
                    raise FhirError(f"{at}.valueInteger: age must be a whole number of years",
                                    expression=f"{at}.valueInteger", code="value")
                if not 0 <= v <= 120:
                    raise FhirError(f"{at}.valueInteger: age {v} is out of range (0 to 120)",
                                    expression=f"{at}.valueInteger", code="value")
                out.age = v
            out.paths["age"] = here
        elif link == "sex":
            if a is not None:
                c = a.get("valueCoding")
                if not isinstance(c, dict) or c.get("system") != C.GENDER or c.get("code") not in ("female", "male"):
                    raise FhirError(f"{at}.valueCoding: sex must be {C.GENDER}#female or #male (the engine's priors "
                                    "are by sex at birth)", expression=f"{at}.valueCoding", code="code-invalid")
                out.sex = c["code"]
            out.paths["sex"] = here
        elif link in ckb.fidx:
            if link in out.answers or link in out.paths:
                raise FhirError(f"{here}: finding '{link}' is answered twice", expression=here, code="duplicate")
            out.paths[link] = here
            value = _finding_value(a, at) if a is not None else None
            if value is not None:
                out.answers[link] = value
            else:
                out.unanswered.add(link)
            if top is not None and top in out.groups:
                out.groups[top][link] = value
        elif link == C.MODE_ITEM:
            if a is not None:
                c = a.get("valueCoding")
                code = c.get("code") if isinstance(c, dict) and c.get("system") == C.MODE_SYSTEM else None
                if code not in ("self", "clinician"):
                    raise FhirError(f"{at}.valueCoding: who is answering must be {C.MODE_SYSTEM}#self or #clinician",
                                    expression=f"{at}.valueCoding", code="code-invalid")
                if out.mode is not None and out.mode != code:
                    raise FhirError(f"{at}.valueCoding: says '{code}' but the interview-mode extension says "
                                    f"'{out.mode}'", expression=f"{at}.valueCoding", code="business-rule")
                out.mode = code
            out.paths[C.MODE_ITEM] = here
        elif link == C.SIDE_ITEM:
            if C.SIDE_ITEM in out.paths:
                raise FhirError(f"{here}: which leg ('{C.SIDE_ITEM}') is answered twice", expression=here,
                                code="duplicate")
            if a is not None:
                c = a.get("valueCoding")
                side = C.SIDE_OF.get((c.get("system"), c.get("code"))) if isinstance(c, dict) else None
                if side is None:
                    codes = ", ".join(f"#{x['code']} ({x['display']})" for x in C.LATERALITY.values())
                    raise FhirError(f"{at}.valueCoding: which leg must be {C.SNOMED} {codes}",
                                    expression=f"{at}.valueCoding", code="code-invalid")
                out.side = side
            out.paths[C.SIDE_ITEM] = here
        elif link in help_links or link in DISPLAY_LINKS:
            if node.get("answer"):
                raise FhirError(f"{here}: display item '{link}' cannot have an answer", expression=f"{here}.answer")
        else:
            raise FhirError(f"{here}.linkId: '{link}' is not a PainPath item (finding key, screen key, "
                            f"about-you, age, sex, {C.MODE_ITEM} or {C.SIDE_ITEM})", expression=f"{here}.linkId",
                            code="value")
    if out.side is not None:
        _side_answers_both_legs(out, out.side)
    return out


def _side_answers_both_legs(out: Response, side: str) -> None:
    """The side answers ``pain_both_legs`` (left or right: No, both: Yes), as in the interview: an answer given to
    it must agree; an item left unanswered (or not there) takes the side's answer."""
    implied = Side(side).both_legs
    given = out.answers.get(BOTH_LEGS)
    if given is not None and given != implied:
        at = out.paths[C.SIDE_ITEM]
        words = {"present": "Yes", "absent": "No", "unknown": "Don't know"}
        raise FhirError(f"{at}: which leg '{side}' does not fit the answer {words[given]} to {BOTH_LEGS} (left or "
                        f"right means No, both means Yes)", expression=at, code="business-rule")
    out.answers[BOTH_LEGS] = implied
    out.unanswered.discard(BOTH_LEGS)
    for values in out.groups.values():
        if BOTH_LEGS in values:
            values[BOTH_LEGS] = implied
