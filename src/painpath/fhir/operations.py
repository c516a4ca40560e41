"""The FHIR operations, framework-free: ``Questionnaire/$next-question`` (SDC adaptive forms) and
``QuestionnaireResponse/$assess``.

$next-question: the QuestionnaireResponse's *contained* Questionnaire (``questionnaire: "#<id>"``) holds the
items asked so far. The answers are read into an interview state (one screen per group, in order), the engine
chooses the next screen, and it is appended to the contained Questionnaire as a group (the "about you" group
first). When the engine stops, the response's status becomes ``completed`` with a ``stop-reason`` extension
(``emergency`` stops at once; its advice is appended as a display item) and a ``triage-level`` extension: the
one final level (``painpath.services.next_step_final``), the level ``$assess`` gives the same answers.

$assess, and the CDS Hooks card, read a response as an interview does: only the answers given count. A finding
the response did not ask is unknown, never "no" (the case-file rule, an unlisted symptom is absent, is for
case files: ``painpath evaluate`` and ``painpath batch``).
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

from painpath.assessment import Assessment
from painpath.cases import Case
from painpath.domain import Level, StopReason
from painpath.engine import CompiledKB
from painpath.errors import CaseError
from painpath.fhir import codes as C
from painpath.fhir.outcome import FhirError
from painpath.fhir.questionnaire import Response, about_you_group, read_response, screen_group
from painpath.fhir.results import build_bundle, raise_reasons
from painpath.interview import InterviewState, answer, start
from painpath.interview.presenting import REGIONS
from painpath.interview.state import BOTH_LEGS
from painpath.messages import MESSAGES, Message, render
from painpath.services import conclude_case, next_step_final

__all__ = ["assess_response", "largest_adaptive_response", "next_question", "unwrap"]

QR_STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
MAX_GROUPS = 80
LOCATION_NEEDED = "painpath-location-needed"
LOCATION_TEXT = ("PainPath assesses leg and back pain, so it needs to know where the pain is: answer Yes for at "
                 "least one place where you feel it. If you feel very unwell, get medical help now.")


def location_findings(ckb: CompiledKB) -> list[str]:
    """The findings that say where the pain is (the body regions and pain below the knee)."""
    return [k for k in (*REGIONS, "pain_below_knee") if k in ckb.fidx]


def needs_location(answers: dict[str, str], ckb: CompiledKB) -> bool:
    """True when no place that hurts was answered Yes and no warning sign was either: nothing to assess yet.

    A warning sign answered Yes is always assessed (its triage must not wait for a location)."""
    if any(answers.get(k) == "present" for k in location_findings(ckb)):
        return False
    warnings = {k for sc in ckb.kb.interview.screens.values() if sc.phase == "warning" for k in sc.findings}
    return not any(v == "present" for k, v in answers.items() if k in warnings)


def authored_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def unwrap(body: Any, names: tuple[str, ...] = ("questionnaire-response", "in")) -> tuple[dict[str, Any], str | None]:
    """The QuestionnaireResponse of a request body (itself, or a Parameters resource), and the ``mode`` parameter."""
    if not isinstance(body, dict) or "resourceType" not in body:
        raise FhirError("body: expected a FHIR resource (QuestionnaireResponse or Parameters)", expression="",
                        status=400, code="structure")
    if body["resourceType"] == "QuestionnaireResponse":
        return body, None
    if body["resourceType"] != "Parameters":
        raise FhirError(f"resourceType: expected QuestionnaireResponse or Parameters, got {body['resourceType']!r}",
                        expression="resourceType", status=400, code="structure")
    params = body.get("parameter") or []
    if not isinstance(params, list):
        raise FhirError("Parameters.parameter: must be an array", expression="Parameters.parameter", status=400)
    qr, mode = None, None
    for i, p in enumerate(params):
        at = f"Parameters.parameter[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise FhirError(f"{at}.name: required", expression=f"{at}.name", status=400)
        if p["name"] in names:
            if qr is not None:
                raise FhirError(f"{at}: only one questionnaire response", expression=at, code="duplicate")
            qr = p.get("resource")
            if not isinstance(qr, dict) or qr.get("resourceType") != "QuestionnaireResponse":
                raise FhirError(f"{at}.resource: must be a QuestionnaireResponse", expression=f"{at}.resource")
        elif p["name"] == "mode":
            mode = p.get("valueCode", p.get("valueString"))
            if mode not in ("self", "clinician"):
                raise FhirError(f"{at}.valueCode: mode must be 'self' or 'clinician', got {mode!r}",
                                expression=f"{at}.valueCode", code="code-invalid")
        else:
            raise FhirError(f"{at}.name: unknown parameter '{p['name']}' (known: {', '.join(names)}, mode)",
                            expression=f"{at}.name", code="not-supported")
    if qr is None:
        raise FhirError(f"Parameters: a '{names[0]}' parameter with the QuestionnaireResponse is required",
                        expression="Parameters.parameter", code="required")
    return qr, mode


def check_fhir(qr: dict[str, Any]) -> None:
    """Structural check with the FHIR models (R4B; wire-compatible with R4 for QuestionnaireResponse)."""
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
    from pydantic import ValidationError

    try:
        QuestionnaireResponse.model_validate(qr)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = "QuestionnaireResponse" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]
                                                 if p != "__root__")
        raise FhirError(f"{path}: {err['msg']}", expression=path, status=400, code="structure") from None
    except (TypeError, LookupError, AttributeError):  # fhir.resources' own errors, e.g. a resourceType of 5
        raise FhirError("QuestionnaireResponse.contained: each contained resource needs a known resourceType "
                        "(a string)", expression="QuestionnaireResponse.contained", status=400,
                        code="structure") from None
    status = qr.get("status")
    if status is not None and status not in QR_STATUSES:
        raise FhirError(f"QuestionnaireResponse.status: must be one of {', '.join(QR_STATUSES)}, got {status!r}",
                        expression="QuestionnaireResponse.status", code="code-invalid")


def _contained_questionnaire(qr: dict[str, Any]) -> dict[str, Any]:
    """The contained adaptive Questionnaire (created on the first call)."""
    ref = qr.get("questionnaire")
    contained = qr.setdefault("contained", [])
    if ref is None:
        if any(isinstance(r, dict) and r.get("resourceType") == "Questionnaire" for r in contained):
            raise FhirError("QuestionnaireResponse.questionnaire: must reference the contained Questionnaire "
                            "('#<id>')", expression="QuestionnaireResponse.questionnaire", code="required")
        q: dict[str, Any] = {"resourceType": "Questionnaire", "id": C.ADAPTIVE_ID}
        contained.append(q)
        qr["questionnaire"] = f"#{C.ADAPTIVE_ID}"
    else:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise FhirError("QuestionnaireResponse.questionnaire: $next-question needs a contained Questionnaire "
                            "('#<id>'); start with an empty QuestionnaireResponse",
                            expression="QuestionnaireResponse.questionnaire")
        found = [r for r in contained if isinstance(r, dict) and r.get("resourceType") == "Questionnaire"
                 and r.get("id") == ref[1:]]
        if not found:
            raise FhirError(f"QuestionnaireResponse.contained: no contained Questionnaire with id '{ref[1:]}'",
                            expression="QuestionnaireResponse.contained", code="not-found")
        q = found[0]
    q.setdefault("status", "active")
    q.setdefault("title", "PainPath leg-pain questions (adaptive)")
    q.setdefault("subjectType", ["Patient"])
    exts = [e for e in (q.get("extension") or []) if not (isinstance(e, dict) and e.get("url") == C.SDC_ADAPTIVE_EXT)]
    q["extension"] = [*exts, {"url": C.SDC_ADAPTIVE_EXT, "valueBoolean": True}]
    q.setdefault("derivedFrom", [C.QUESTIONNAIRE_URL])
    q.setdefault("item", [])
    return q


def _screen_of(link: str, ckb: CompiledKB) -> str:
    """The interview screen a group stands for: its linkId, or ``SCREEN.N`` for the N-th time a screen is
    asked (a warning screen asks only the items that are due, so it can come back for the rest)."""
    name, dot, n = link.rpartition(".")
    return name if dot and n.isdigit() and name in ckb.kb.interview.screens else link


def _asked_groups(q: dict[str, Any], ckb: CompiledKB) -> list[tuple[str, list[str]]]:
    """(group linkId, finding keys) of the contained Questionnaire, checked against the knowledge base."""
    screens = ckb.kb.interview.screens
    base = f"QuestionnaireResponse.contained.where(id='{q.get('id')}').item"
    out: list[tuple[str, list[str]]] = []
    items = q["item"]
    if not isinstance(items, list) or len(items) > MAX_GROUPS:
        raise FhirError(f"{base}: must be an array of at most {MAX_GROUPS} groups", expression=base)
    seen: set[str] = set()
    for i, g in enumerate(items):
        at = f"{base}[{i}]"
        link = g.get("linkId") if isinstance(g, dict) else None
        if link == "painpath-emergency":
            continue
        if link in seen:
            raise FhirError(f"{at}: group '{link}' appears twice", expression=at, code="duplicate")
        seen.add(str(link))
        if i == 0 and link != C.ABOUT_YOU:
            raise FhirError(f"{at}.linkId: the first group must be '{C.ABOUT_YOU}'", expression=f"{at}.linkId")
        if link == C.ABOUT_YOU:
            if i != 0:
                raise FhirError(f"{at}.linkId: '{C.ABOUT_YOU}' must be the first group", expression=f"{at}.linkId")
            continue
        screen = _screen_of(str(link), ckb)
        if screen not in screens:
            raise FhirError(f"{at}.linkId: '{link}' is not a PainPath interview screen", expression=f"{at}.linkId")
        keys = [c.get("linkId") for c in (g.get("item") or [])
                if isinstance(c, dict) and c.get("linkId") not in (LOCATION_NEEDED, C.SIDE_ITEM)]
        bad = [k for k in keys if k not in screens[screen].findings]
        if bad or not keys:
            raise FhirError(f"{at}.item: group '{link}' must hold findings of that screen"
                            + (f" ('{bad[0]}' is not one)" if bad else ""), expression=f"{at}.item")
        out.append((link, keys))  # type: ignore[arg-type]  # keys are the screen's finding keys (str)
    return out


def _state(resp: Response, groups: list[tuple[str, list[str]]], mode: str, ckb: CompiledKB) -> InterviewState:
    if resp.age is None or resp.sex is None:
        missing = "age" if resp.age is None else "sex"
        at = resp.paths.get(missing) or resp.paths.get(C.ABOUT_YOU) or "QuestionnaireResponse.item"
        raise FhirError(f"{at}: answer '{missing}' in the '{C.ABOUT_YOU}' group first", expression=at,
                        code="required")
    asked = {k for _, keys in groups for k in keys}
    if resp.side is not None and BOTH_LEGS not in asked:
        at = resp.paths[C.SIDE_ITEM]
        raise FhirError(f"{at}: which leg ('{C.SIDE_ITEM}') answers {BOTH_LEGS}, which was not asked (it is not in the "
                        "contained Questionnaire)", expression=f"{at}.linkId")
    for k in resp.answers:
        if k not in asked:
            at = resp.paths[k]
            raise FhirError(f"{at}.linkId: '{k}' was not asked (it is not in the contained Questionnaire)",
                            expression=f"{at}.linkId")
    state = start(resp.age, resp.sex, mode)
    for name, keys in groups:
        if name not in resp.groups:
            raise FhirError(f"QuestionnaireResponse.item: no answers for group '{name}'; answer its items "
                            "(Don't know is an answer)", expression="QuestionnaireResponse.item", code="required")
        got = resp.groups[name]
        values = {k: (got.get(k) or "unknown") for k in keys}
        try:
            state = answer(state, values, ckb, screen=_screen_of(name, ckb))  # type: ignore[arg-type]  # values are answer codes read from FHIR codings (AnswerName)
        except CaseError as exc:
            at = resp.paths.get(name, "QuestionnaireResponse.item")
            raise FhirError(f"{at}: {exc}", expression=at) from None
    return state


def _set_ext(res: dict[str, Any], url: str, value: dict[str, Any] | None) -> None:
    exts = [e for e in (res.get("extension") or []) if not (isinstance(e, dict) and e.get("url") == url)]
    if value is not None:
        exts.append({"url": url, **value})
    if exts:
        res["extension"] = exts
    else:
        res.pop("extension", None)


def _tag(qr: dict[str, Any]) -> None:
    meta = qr.setdefault("meta", {})
    tags = meta.setdefault("tag", [])
    if not any(isinstance(t, dict) and t.get("system") == C.PAINPATH_SYSTEM and t.get("code") == "painpath-response"
               for t in tags):
        tags.append(C.painpath_code("painpath-response"))


ORDER = ("resourceType", "id", "meta", "contained", "extension", "identifier", "questionnaire", "status", "subject",
         "authored", "author", "source", "item")


def _ordered(res: dict[str, Any]) -> dict[str, Any]:
    """The usual FHIR element order (for people reading the JSON; order has no meaning in FHIR JSON)."""
    return {k: res[k] for k in ORDER if k in res} | {k: v for k, v in res.items() if k not in ORDER}


def next_question(body: Any, ckb: CompiledKB) -> dict[str, Any]:
    """SDC ``$next-question``: the updated QuestionnaireResponse (in-progress, or completed when the engine stops)."""
    return _ordered(_next_question(body, ckb))


def _ask_location_again(qr: dict[str, Any], q: dict[str, Any], where: str) -> dict[str, Any]:
    """No place that hurts: the location group is asked again (its answers cleared, with a prompt)."""
    group = next(g for g in q["item"] if isinstance(g, dict) and g.get("linkId") == where)
    if not any(isinstance(c, dict) and c.get("linkId") == LOCATION_NEEDED for c in group.get("item") or []):
        group["item"] = [{"linkId": LOCATION_NEEDED, "type": "display", "text": LOCATION_TEXT},
                         *(group.get("item") or [])]
    qr["item"] = [it for it in qr.get("item") or [] if not (isinstance(it, dict) and it.get("linkId") == where)]
    if not qr["item"]:
        qr.pop("item")
    qr["status"] = "in-progress"
    _set_ext(qr, C.EXT_STOP, None)
    _set_ext(qr, C.EXT_LEVEL, None)
    return qr


def _next_question(body: Any, ckb: CompiledKB) -> dict[str, Any]:
    raw, mode_param = unwrap(body)
    qr = copy.deepcopy(raw)
    qr.setdefault("status", "in-progress")
    check_fhir(qr)
    qr.setdefault("authored", authored_now())
    q = _contained_questionnaire(qr)
    groups = _asked_groups(q, ckb)
    resp = read_response(qr, ckb)
    mode = mode_param or resp.mode or "self"
    _set_ext(qr, C.EXT_MODE, {"valueCode": mode})
    _tag(qr)
    if not q["item"]:
        q["item"].append(about_you_group())
        qr["status"] = "in-progress"
        _set_ext(qr, C.EXT_STOP, None)
        _set_ext(qr, C.EXT_LEVEL, None)
        return qr
    state = _state(resp, groups, mode, ckb)
    presenting = [name for name, _ in groups if ckb.kb.interview.screens[_screen_of(name, ckb)].phase == "presenting"]
    if presenting and needs_location(resp.answers, ckb):
        return _ask_location_again(qr, q, presenting[0])
    step = next_step_final(state, ckb)  # its level: the one final level, as $assess of these answers reports
    if step.should_stop:
        qr["status"] = "completed"
        _set_ext(qr, C.EXT_STOP, {"valueCode": step.stop_reason})
        _set_ext(qr, C.EXT_LEVEL, {"valueCoding": C.coding(C.TRIAGE_SYSTEM, step.level, C.LEVEL_DISPLAY[step.level])})
        if step.stop_reason == StopReason.EMERGENCY and not any(g.get("linkId") == "painpath-emergency" for g in q["item"]):
            q["item"].append({"linkId": "painpath-emergency", "type": "display",
                              "text": ckb.kb.triage.level_text[Level.EMERGENCY.value]})
        return qr
    question = step.question
    assert question is not None
    group = screen_group(ckb, question.screen, question.findings, mode=mode, why=question.why,
                         required=True, compact=True)
    links = {g.get("linkId") for g in q["item"]}
    n = 1
    while group["linkId"] in links:  # the screen again, for items that have become due: SCREEN.2, SCREEN.3 ...
        n += 1
        group["linkId"] = f"{question.screen}.{n}"
    q["item"].append(group)
    qr["status"] = "in-progress"
    _set_ext(qr, C.EXT_STOP, None)
    _set_ext(qr, C.EXT_LEVEL, None)
    return qr


def largest_adaptive_response(ckb: CompiledKB) -> dict[str, Any]:
    """An upper bound on the QuestionnaireResponse an adaptive interview can send to $next-question or $assess.

    Every screen of the knowledge base is in the contained Questionnaire (more than the screen caps allow), each
    group with the longest possible "why" text, and every item is answered, echoing the item's text as a client
    may. Built in the mode whose question texts are longer. The FHIR operations' body limit is sized from it
    (``tests/fhir/test_body_limit.py``)."""
    cond = ckb.kb.conditions.conditions

    def names(kind: str, key: str) -> str | None:
        return cond[key].short_name if kind == "condition" and key in cond else None

    longest = sorted((str(c) for c in ckb.conditions), key=lambda c: len(names("condition", c) or c))[-2:]
    whys = [render(Message(id=w, params={"a": longest[-1], "b": longest[0]} if w == "why.separates" else {}),
                   names=names) for w in MESSAGES if w.startswith("why.")]
    why = max(whys, key=len)
    out: dict[str, Any] = {}
    for mode in ("self", "clinician"):
        groups = [screen_group(ckb, name, mode=mode, why=why, required=True, compact=True)
                  for name in ckb.kb.interview.screens]
        answers = [{"linkId": g["linkId"], "text": g["text"], "item": [
            {"linkId": it["linkId"], "text": it["text"],
             "answer": [{"valueCoding": dict(C.LATERALITY["both"] if it["linkId"] == C.SIDE_ITEM else C.DONT_KNOW)}]}
            for it in g["item"]]} for g in groups]
        q = {"resourceType": "Questionnaire", "id": C.ADAPTIVE_ID, "status": "active",
             "title": "PainPath leg-pain questions (adaptive)", "subjectType": ["Patient"],
             "extension": [{"url": C.SDC_ADAPTIVE_EXT, "valueBoolean": True}], "derivedFrom": [C.QUESTIONNAIRE_URL],
             "item": [about_you_group(), *groups,
                      {"linkId": "painpath-emergency", "type": "display",
                       "text": ckb.kb.triage.level_text[Level.EMERGENCY.value]}]}
        qr: dict[str, Any] = {
            "resourceType": "QuestionnaireResponse", "id": str(uuid.uuid4()), "contained": [q],
            "questionnaire": f"#{C.ADAPTIVE_ID}", "status": "completed", "subject": {"reference": "Patient/" + "x" * 64},
            "authored": authored_now(),
            "item": [{"linkId": C.ABOUT_YOU, "item": [{"linkId": "age", "answer": [{"valueInteger": 120}]},
                                                      {"linkId": "sex", "answer": [{"valueCoding": dict(C.FEMALE)}]}]},
                     *answers]}
        _tag(qr)
        _set_ext(qr, C.EXT_MODE, {"valueCode": mode})
        _set_ext(qr, C.EXT_STOP, {"valueCode": StopReason.EMERGENCY.value})
        _set_ext(qr, C.EXT_LEVEL, {"valueCoding": C.coding(C.TRIAGE_SYSTEM, Level.EMERGENCY.value,
                                                           C.LEVEL_DISPLAY[Level.EMERGENCY.value])})
        if len(repr(qr)) > len(repr(out)):
            out = qr
    return _ordered(out)


def response_case(qr: dict[str, Any], ckb: CompiledKB, mode_param: str | None = None) -> tuple[Response, Case, str]:
    """Answers of a QuestionnaireResponse as a case, and the mode. The case knows only what the response asked:
    Yes and No as given, Don't know (or an item left unanswered) unknown, and every finding the response does not
    ask unknown too (``unlisted="unknown"``), never "no" (the case-file rule, where an unlisted symptom is absent,
    is for case files only)."""
    resp = read_response(qr, ckb)
    mode = mode_param or resp.mode or "self"
    for missing in ("age", "sex"):
        if getattr(resp, missing) is None:
            at = resp.paths.get(missing, "QuestionnaireResponse.item")
            raise FhirError(f"{at}: '{missing}' must be answered (linkId '{missing}' in the '{C.ABOUT_YOU}' group)",
                            expression=at, code="required")
    if mode == "self":
        for k in resp.answers:
            if ckb.kb.findings.findings[k].kind == "sign":
                at = resp.paths[k]
                raise FhirError(f"{at}: '{k}' is an examination finding; set the interview-mode extension (or the "
                                "mode parameter) to 'clinician'", expression=at, code="business-rule")
    findings = {k: (None if v == "unknown" else v == "present") for k, v in resp.answers.items()}
    case = Case(id=str(qr.get("id") or "fhir"), age=resp.age, sex=resp.sex,  # type: ignore[arg-type]  # age and sex are checked just above (required, in range)
                findings=findings, unlisted="unknown")
    return resp, case, mode


def assess_response(body: Any, ckb: CompiledKB) -> tuple[dict[str, Any], Assessment]:
    """``$assess``: a completed QuestionnaireResponse -> (collection Bundle, the assessment). The Bundle reports the
    one final level (``painpath.services.conclude_case``: the triage disposition, the RiskAssessment's
    mitigation), as a stored assessment's does, with notes saying why when it is above the engine's triage
    level; which leg (``painpath-side``) is the ``bodySite`` of the leg findings' Observations."""
    raw, mode_param = unwrap(body)
    qr = copy.deepcopy(raw)
    check_fhir(qr)
    if qr.get("status") not in ("completed", "amended"):
        raise FhirError(f"QuestionnaireResponse.status: must be 'completed' (or 'amended') to assess, got "
                        f"{qr.get('status')!r}; continue with Questionnaire/$next-question",
                        expression="QuestionnaireResponse.status", code="business-rule")
    ref = qr.get("questionnaire")
    ok = isinstance(ref, str) and (ref.split("|", 1)[0] == C.QUESTIONNAIRE_URL or (
        ref.startswith("#") and any(isinstance(r, dict) and r.get("resourceType") == "Questionnaire"
                                    and r.get("id") == ref[1:] for r in qr.get("contained") or [])))
    if not ok:
        raise FhirError(f"QuestionnaireResponse.questionnaire: must be {C.QUESTIONNAIRE_URL} or a contained "
                        "PainPath adaptive Questionnaire ('#<id>')", expression="QuestionnaireResponse.questionnaire")
    resp, case, mode = response_case(qr, ckb, mode_param)
    if needs_location(resp.answers, ckb):
        at = resp.paths.get(next((n for n, sc in ckb.kb.interview.screens.items() if sc.phase == "presenting"), ""),
                            "QuestionnaireResponse.item")
        raise FhirError(f"{at}: no place that hurts is answered Yes ({', '.join(location_findings(ckb))}); "
                        f"{LOCATION_TEXT}", expression=at, code="required")
    qr.setdefault("authored", authored_now())
    done = conclude_case(case, mode=mode, ckb=ckb, explain_conditions=None)  # type: ignore[arg-type]  # mode is 'self' or 'clinician' (read_response checks it)
    result = done.assessment
    seed = str(uuid.uuid4())
    _tag(qr)
    _set_ext(qr, C.EXT_MODE, {"valueCode": mode})
    reasons = raise_reasons(done.level, result, done.plan.model_dump(mode="json"))
    return build_bundle(ckb, _ordered(qr), resp.answers, result, seed=seed, level=done.level, extra_reasons=reasons,
                        side=resp.leg_side), result
