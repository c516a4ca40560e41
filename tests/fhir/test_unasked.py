"""A QuestionnaireResponse says only what it asked (issue 13): ``$assess`` and the CDS Hooks card read a finding
the response did not ask, or that no Observation records, as unknown, never "no". The case-file rule (an unlisted
symptom is absent) is for case files only.

The responses are subsets of the benchmark's development cases: for each case, where it hurts and the answers
that set its warning level (the present findings of the warning floors and escalations its full assessment
names), alone ("little") and with every third of its other answers ("some"). Examination findings are left out
(a self-mode response asks none). Each is checked against the engine on the same answers with
``unlisted="unknown"``: the same probabilities, level and card; explanations and Observations citing only
findings the response asked; and, where the subset holds the warning answers, a level no lower than the whole
case's.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from fastapi.testclient import TestClient

from painpath.cases import Case, load_case
from painpath.domain import Level
from painpath.engine import default_compiled
from painpath.fhir import codes as C
from painpath.fhir.cds import assessment_card, patient_view, raised_lines
from painpath.fhir.operations import assess_response, location_findings, needs_location
from painpath.fhir.results import warning_findings
from painpath.services import Conclusion, conclude_case
from tests.conftest import SKIP_NO_BENCH_V2, dev_v2_case_files
from tests.fhir.conftest import FHIR_JSON, Keys, completed_response

CKB = default_compiled()
FINDINGS = CKB.kb.findings.findings
LOCATION = set(location_findings(CKB))
WARNING_RULES = ({f.id: (*f.any, *f.with_any) for f in CKB.kb.triage.floors}
                 | {e.id: tuple(e.any) for e in CKB.kb.triage.escalations})
CASES = dev_v2_case_files(in_scope_only=False)
needs_dev = pytest.mark.skipif(not CASES, reason=SKIP_NO_BENCH_V2)
PV = "painpath-patient-view"
# one answer of a RiskAssessment rationale: "<finding text> (present|absent, +0.84)"
CITED = re.compile(r"(?:For: |Against: |; )(.+?) \((present|absent), [+-]\d+\.\d+\)")


@dataclass(frozen=True)
class Subset:
    name: str  # case id / little or some
    case: Case  # the whole case file, read with the case-file rule
    full: Conclusion  # the whole case's conclusion
    answers: dict[str, str]  # what the response asks: finding -> present | absent | unknown
    warned: bool  # it holds the answers that set the whole case's warning level

    @property
    def findings(self) -> dict[str, bool | None]:
        return {k: None if v == "unknown" else v == "present" for k, v in self.answers.items()}

    def asked(self) -> Conclusion:
        """The engine on these answers alone: every finding the response did not ask is unknown."""
        case = Case(id="asked", age=self.case.age, sex=self.case.sex, findings=self.findings, unlisted="unknown")
        return conclude_case(case, ckb=CKB, explain_conditions=None)

    def as_if_absent(self) -> Conclusion:
        """The case-file rule on these answers: what the response did not ask would count as "no"."""
        case = Case(id="absent", age=self.case.age, sex=self.case.sex, findings=self.findings, unlisted="absent")
        return conclude_case(case, ckb=CKB, explain_conditions=None)


def _value(v: bool | None) -> str:
    return "unknown" if v is None else "present" if v else "absent"


def _warning_answers(case: Case, full: Conclusion) -> set[str]:
    """The case's present findings that fired the warning floors and escalations its assessment names."""
    return {k for r in full.assessment.triage.reasons if r.kind in ("floor", "escalation")
            for k in WARNING_RULES.get(r.id, ()) if case.findings.get(k) is True}


@cache
def subsets() -> tuple[Subset, ...]:
    out = []
    for path in CASES:
        case = load_case(path, CKB)
        full = conclude_case(case, ckb=CKB)
        own = {k: _value(v) for k, v in case.findings.items() if FINDINGS[k].kind != "sign"}
        warned = _warning_answers(case, full)
        core = {k: v for k, v in own.items() if k in LOCATION or k in warned}
        rest = [k for k in own if k not in core]
        for name, extra in (("little", []), ("some", rest[::3])):
            answers = core | {k: own[k] for k in extra}
            if not needs_location(answers, CKB):  # nothing to assess without a place that hurts
                out.append(Subset(f"{case.id}/{name}", case, full, answers, bool(warned)))
    return tuple(out)


def _resources(bundle: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _cited(rationale: str) -> dict[str, str]:
    """The findings a rationale cites, by their text: finding key -> the answer it cites (present / absent)."""
    by_text = {f.text: k for k, f in FINDINGS.items()}
    found = CITED.findall(rationale)
    assert len(found) == len(re.findall(r"\((?:present|absent), [+-]\d", rationale)), f"cannot read {rationale!r}"
    for text, _ in found:
        assert text in by_text, f"{text!r} in {rationale!r} is not a finding's text"
    return {by_text[text]: answer for text, answer in found}


def _probabilities(done: Conclusion) -> list[tuple[str, float]]:
    return [(key, round(p, 6)) for key, p in done.assessment.ranking()]


@needs_dev
def test_the_subsets_are_there() -> None:
    """Every development case gives its subsets (a place that hurts among its answers), some with warnings."""
    names = [s.name for s in subsets()]
    assert len(names) == 2 * len(CASES), sorted({p.stem for p in CASES} - {n.split("/")[0] for n in names})
    assert sum(s.warned for s in subsets()) >= 10


@needs_dev
def test_assess_weighs_only_the_answers_given() -> None:
    """$assess of a subset is the engine on those answers with everything else unknown: the same probabilities,
    in the same order, and the same final level; not what the case-file rule (the rest "no") would give."""
    differs = 0
    for s in subsets():
        bundle, _ = assess_response(completed_response(s.case.age, s.case.sex, s.answers), CKB)
        asked = s.asked()
        (ra,) = _resources(bundle, "RiskAssessment")
        got = [(p["outcome"]["coding"][-1]["code"], p["probabilityDecimal"]) for p in ra["prediction"]]
        assert [k for k, _ in got] == [k for k, _ in _probabilities(asked)], s.name
        assert [p for _, p in got] == pytest.approx([p for _, p in _probabilities(asked)], abs=2e-6), s.name
        tri = next(o for o in _resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == "triage-disposition")
        assert tri["valueCodeableConcept"]["coding"][0]["code"] == asked.level, s.name
        absent = s.as_if_absent()
        differs += max(abs(a - b) for (_, a), (_, b) in zip(sorted(_probabilities(asked)),
                                                            sorted(_probabilities(absent)), strict=True)) > 1e-3
    assert differs >= len(subsets()) // 2  # the two readings differ, so the comparison above means something


@needs_dev
def test_the_bundle_cites_only_findings_it_asked() -> None:
    """The RiskAssessment's rationales and the Bundle's Observations name only answered findings, each with the
    answer given: a finding never asked is never shown as "absent"."""
    warn = warning_findings(CKB)
    for s in subsets():
        bundle, _ = assess_response(completed_response(s.case.age, s.case.sex, s.answers), CKB)
        (ra,) = _resources(bundle, "RiskAssessment")
        cited: dict[str, str] = {}
        for p in ra["prediction"]:
            if p["outcome"]["coding"][-1]["code"] != "other" and "rationale" in p:
                cited |= _cited(p["rationale"])
        assert cited, f"{s.name}: no rationale cites an answer"
        assert {k: s.answers.get(k) for k in cited} == cited, f"{s.name}: a rationale cites what was not asked"
        observed = {o["code"]["coding"][0]["code"]: o["valueBoolean"] for o in _resources(bundle, "Observation")
                    if o["code"]["coding"][0]["system"] == C.FINDING_SYSTEM}
        assert observed == {k: v == "present" for k, v in s.answers.items()
                            if v == "present" or (v == "absent" and k in warn)}, s.name


@needs_dev
def test_a_subset_with_the_warning_answers_keeps_the_level() -> None:
    """Safety: asking less never lowers the level. A response holding the answers that set the whole case's
    warning level gets at least the whole case's level."""
    checked = 0
    for s in subsets():
        if not s.warned:
            continue
        bundle, _ = assess_response(completed_response(s.case.age, s.case.sex, s.answers), CKB)
        tri = next(o for o in _resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == "triage-disposition")
        level = tri["valueCodeableConcept"]["coding"][0]["code"]
        assert Level.parse(level) >= Level.parse(s.full.level), (
            f"{s.name}: {level} from the subset, {s.full.level} from the whole case")
        checked += 1
    assert checked >= 10


def _hook(prefetch: dict[str, Any]) -> dict[str, Any]:
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "77"}, "prefetch": prefetch}


def _expected_card(s: Subset, side: str | None) -> dict[str, Any]:
    asked = s.asked()
    return assessment_card(asked.assessment, level=asked.level, raised=raised_lines(asked.plan.note_messages),
                           side=side, ckb=CKB)


def _same_card(got: dict[str, Any], want: dict[str, Any]) -> bool:
    return {k: v for k, v in got.items() if k != "uuid"} == {k: v for k, v in want.items() if k != "uuid"}


@needs_dev
def test_the_cds_card_from_a_response_is_the_engine_on_its_answers() -> None:
    differs = 0
    for s in subsets():
        qr = completed_response(s.case.age, s.case.sex, s.answers, subject={"reference": "Patient/77"})
        (card,) = patient_view(_hook({"painpathResponse": qr}), CKB)["cards"]
        side = "both" if s.answers.get("pain_both_legs") == "present" else None
        assert _same_card(card, _expected_card(s, side)), s.name
        absent = s.as_if_absent()
        differs += not _same_card(card, assessment_card(absent.assessment, level=absent.level, side=side, ckb=CKB,
                                                        raised=raised_lines(absent.plan.note_messages)))
    assert differs >= 10  # the card the case-file rule would give is another card


@needs_dev
def test_the_cds_card_from_observations_reads_what_is_not_recorded_as_unknown() -> None:
    """From the EHR's Observations: a finding with no Observation was not recorded, so it is unknown."""
    today = dt.date.today()
    for s in subsets():
        recorded = {k: v for k, v in s.answers.items() if v != "unknown"}
        observations = [{"resourceType": "Observation", "id": f"o{i}", "status": "final",
                         "subject": {"reference": "Patient/77"}, "valueBoolean": v == "present",
                         "code": {"coding": [{"system": C.FINDING_SYSTEM, "code": k}]}}
                        for i, (k, v) in enumerate(recorded.items())]
        patient = {"resourceType": "Patient", "id": "77", "gender": s.case.sex,
                   "birthDate": f"{today.year - s.case.age}-01-01"}  # the age in whole years today
        prefetch = {"painpathResponse": {"resourceType": "Bundle", "type": "searchset",
                                         "entry": [{"resource": o} for o in observations]}, "patient": patient}
        (card,) = patient_view(_hook(prefetch), CKB)["cards"]
        assert _same_card(card, _expected_card(s, None)), s.name


@needs_dev
def test_over_http_a_subset_gets_the_same_bundle_and_card(fc: TestClient, keys: Keys) -> None:
    """The routes take the same path: one subset with warning answers through $assess and the CDS service."""
    s = next(x for x in subsets() if x.warned and x.name.endswith("/little"))
    asked = s.asked()
    qr = completed_response(s.case.age, s.case.sex, s.answers, subject={"reference": "Patient/77"})
    r = fc.post("/fhir/QuestionnaireResponse/$assess", json=qr, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    (ra,) = _resources(r.json(), "RiskAssessment")
    assert [p["probabilityDecimal"] for p in ra["prediction"]] == pytest.approx(
        [p for _, p in _probabilities(asked)], abs=2e-6)
    r = fc.post(f"/cds-services/{PV}", json=_hook({"painpathResponse": qr}),
                headers={"Authorization": f"Bearer {keys.token(PV)}"})
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    side = "both" if s.answers.get("pain_both_legs") == "present" else None
    assert _same_card(card, _expected_card(s, side) | {"source": card["source"]})
