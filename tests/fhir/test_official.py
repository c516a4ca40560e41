"""The official-definition checks (tests/fhir/official.py) find what they claim to find: each broken copy of a real
response is refused with the rule it breaks (so the "0 errors" over every emitted resource means something)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fhir import official
from tests.fhir.conftest import FHIR_JSON, about_you, answer_value, completed_response

NEXT = "/fhir/Questionnaire/$next-question"


@pytest.fixture(scope="module")
def adaptive(app_env: dict[str, Any]) -> dict[str, Any]:
    c: TestClient = app_env["client"]
    qr = c.post(NEXT, json={"resourceType": "QuestionnaireResponse", "status": "in-progress"}, headers=FHIR_JSON).json()
    qr["item"] = [about_you(60, "male")]
    return c.post(NEXT, json=qr, headers=FHIR_JSON).json()  # type: ignore[no-any-return]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(r: dict[str, Any]) -> None:
        *head, last = path.split(".")
        node: Any = r
        for p in head:
            node = node[int(p)] if p.isdigit() else node[p]
        if value is KeyError:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return change


BROKEN = [
    ("authored", _set("authored", KeyError), "sdc-questionnaireresponse-adapt QuestionnaireResponse.authored has 0"),
    ("url on the adaptive questionnaire", _set("contained.0.url", "https://x.example/q"),
     "sdc-questionnaire-adapt Questionnaire.url has 1, allowed 0..0"),
    ("derivedFrom", _set("contained.0.derivedFrom", KeyError), "Questionnaire.derivedFrom has 0, allowed 1..1"),
    ("item text", _set("contained.0.item.1.text", KeyError), "Questionnaire.item.text has 0, allowed 1..1"),
    ("a group without items", _set("contained.0.item.1.item", KeyError), "que-1"),
    ("not contained", _set("questionnaire", "https://x.example/q"), "dom-3"),
    ("answer and items", _set("item.0.item.0.item", [{"linkId": "x"}]), "qrs-1"),
    ("extension with no value", _set("extension.0", {"url": "https://x.example/e"}), "ext-1"),
    ("unknown element", _set("colour", "blue"), "R4 JSON schema: Additional properties"),
    ("bad status", _set("status", "done"), "R4 JSON schema"),
    ("bad dateTime", _set("authored", "yesterday"), "R4 JSON schema"),
]


@pytest.mark.parametrize(("what", "change", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_broken_copy_is_refused(adaptive: dict[str, Any], what: str, change: Callable[[dict[str, Any]], None],
                                     expected: str) -> None:
    assert official.check(adaptive) == []
    bad = copy.deepcopy(adaptive)
    change(bad)
    with official.scratch():
        errors = official.check(bad)
    assert any(expected in e for e in errors), errors


def test_a_static_response_is_checked_against_the_sdc_response_profile() -> None:
    qr = completed_response(40, "male", {"calf_pain": "present"})
    qr["authored"] = "2026-12-02T08:00:00Z"
    assert official.check(qr) == []
    twice = copy.deepcopy(qr["item"][1]["item"][0])  # the same linkId answered twice, Yes and No
    twice["answer"] = [answer_value("absent")]
    qr["item"][1]["item"].append(twice)
    with official.scratch():
        assert any("sdcqr-2" in e for e in official.check(qr))
