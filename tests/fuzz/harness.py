"""Property-based fuzzing of every PainPath parser: strategies, the properties, and a runner that counts inputs.

Shared by the tests in ``tests/fuzz`` (a small budget, so the folder stays fast) and ``benchmarks/fuzz.py``
(a large budget, failures collected instead of raised). A *target* is one parser: a Hypothesis strategy of
inputs and a check that raises ``AssertionError`` (or any exception) when the parser misbehaves:

* case files: ``parse_case`` and ``load_case`` raise only ``CaseError``;
* interview state: ``InterviewState.model_validate`` raises only ``ValidationError``, and a valid state is
  refused only with ``CaseError``;
* API bodies (every JSON operation of ``/openapi.json``), FHIR operations and CDS Hooks services: never 5xx,
  and each 4xx has the documented error format;
* CLI argument lists: exit code 0, 1 or 2 and never a traceback;
* batch input: arbitrary CSV text is scored or refused with a ``PainPathError``.

The budget is ``PAINPATH_FUZZ_EXAMPLES`` examples per target when set, else the caller's default.
"""

from __future__ import annotations

import copy
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from painpath.engine import default_compiled

EXAMPLES_ENV = "PAINPATH_FUZZ_EXAMPLES"
CKB = default_compiled()
FINDINGS = list(CKB.kb.finding_keys)
CONDITIONS = list(CKB.kb.condition_keys)
SCREENS = list(CKB.kb.interview.screens)


def budget(default: int) -> int:
    """Examples per target: ``PAINPATH_FUZZ_EXAMPLES`` when set, else ``default``."""
    raw = os.environ.get(EXAMPLES_ENV, "").strip()
    return max(1, int(raw)) if raw else default


# --- counting ----------------------------------------------------------------------------------------------


@dataclass
class Stats:
    tried: int = 0
    failures: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"tried": self.tried, "failures": self.failures, "seconds": round(self.seconds, 2),
                "slowest_input_seconds": round(self.slowest, 3), "failure_examples": self.messages}


STATS: dict[str, Stats] = {}


@dataclass
class Target:
    """One parser: a strategy of inputs and a check of the parser's answer to one input."""

    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]


def run(target: Target, examples: int, *, collect: bool = False) -> Stats:
    """Try ``examples`` inputs on ``target`` (counted in ``STATS[target.name]``).

    ``collect=False`` (tests): the first failure is shrunk and raised. ``collect=True`` (benchmark): every
    failure is counted, its message kept (the first five), and the run goes on; nothing is shrunk.
    """
    stats = STATS.setdefault(target.name, Stats())
    phases = [Phase.explicit, Phase.generate] if collect else [Phase.explicit, Phase.generate, Phase.shrink]

    @settings(max_examples=examples, deadline=None, database=None, phases=phases, derandomize=False,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(target.strategy)
    def prop(value: Any) -> None:
        stats.tried += 1
        note(f"input: {value!r}"[:3000])  # shown with a failure
        t0 = time.perf_counter()
        try:
            target.check(value)
        except Exception as exc:  # noqa: BLE001 - counted (benchmark) or re-raised (tests)
            if not collect:
                raise
            stats.failures += 1
            if len(stats.messages) < 5:
                stats.messages.append(f"{type(exc).__name__}: {exc}"[:400] + f" | input: {value!r}"[:400])
        finally:
            stats.slowest = max(stats.slowest, time.perf_counter() - t0)

    t0 = time.perf_counter()
    try:
        prop()
    finally:
        stats.seconds += time.perf_counter() - t0
    return stats


# --- strategies ----------------------------------------------------------------------------------------------

SPECIAL_CHARS = list("\x00\n\r\t '\"<>&;%\\/-*{}[]:,!#|@`$") + ["\u202e", "\ufeff", "\u2028", "é", "ß", "中"]
INTERESTING_STRINGS = [
    "", " ", "null", "true", "false", "0", "-1", "NaN", "Infinity", "1e309", "present", "absent", "unknown",
    "female", "male", "self", "clinician", "clinic", "emergency", "urgent", "soon", "self_care", "where",
    "' OR '1'='1", "'; DROP TABLE assessments; --", "<script>alert(1)</script>", "../../etc/passwd",
    "\x00", "\ud800", "\udfff", "a" * 300, "ppp_x", "pps_x", "ppk_x", "item1", "item9", "#q", "Patient/1",
    *FINDINGS[:10], *CONDITIONS[:5], *SCREENS[:5],
]
_alphabet = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from(SPECIAL_CHARS))
texts = st.text(_alphabet, max_size=24)
with_surrogate = st.tuples(texts, st.characters(categories=["Cs"]), texts).map("".join)  # JSON allows "\ud800"
strings = st.one_of(texts, st.sampled_from(INTERESTING_STRINGS), with_surrogate)
integers = st.one_of(st.integers(-(2**70), 2**70),
                     st.sampled_from([0, -1, 1, 45, 120, 121, 2**31 - 1, 2**31, 2**63, -(2**63) - 1]))
scalars = st.one_of(st.none(), st.booleans(), integers, st.floats(), strings)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(strings, inner, max_size=6)),
    max_leaves=40)


@st.composite
def mutated(draw: Any, template: Any, rate: int = 25) -> Any:
    """``template`` with some values replaced by arbitrary JSON, keys dropped or added, lists grown."""

    def chance(percent: int) -> bool:  # the rare outcome at the high end: Hypothesis starts from low values
        return draw(st.integers(0, 99)) >= 100 - percent

    def walk(v: Any) -> Any:
        if chance(rate // 2):
            return draw(json_values)
        if isinstance(v, dict):  # values changed, keys dropped, renamed (value kept) or added
            out = {(draw(strings) if chance(rate // 3) else k): walk(x) for k, x in v.items() if not chance(rate // 4)}
            if chance(rate // 2):
                out[draw(strings)] = draw(json_values)
            return out
        if isinstance(v, list):
            items = [walk(x) for x in v]
            if items and chance(rate // 4):
                items = items * draw(st.integers(2, 4))
            if chance(rate // 3):
                items.insert(draw(st.integers(0, len(items))), draw(json_values))
            return items
        return v

    return walk(copy.deepcopy(template))


def bodies(*templates: Any) -> st.SearchStrategy[tuple[str, Any]]:
    """Request bodies: ("json", value) of arbitrary or mutated-template JSON, or ("raw", bytes)."""
    shaped = [mutated(t) for t in templates]
    json_text = st.text(st.sampled_from(list('{}[]":,0123456789-+eE.tfnrulsa \\u\n')), max_size=80)
    shaped_json = st.one_of(*[st.tuples(st.just("json"), s) for s in shaped])
    return st.one_of(  # mostly near-valid bodies (they reach deeper), some arbitrary JSON, some bytes
        shaped_json, shaped_json, shaped_json, st.tuples(st.just("json"), json_values),
        st.tuples(st.just("raw"), st.one_of(st.binary(max_size=200), json_text.map(str.encode))),
    )


def encode(body: tuple[str, Any]) -> bytes:
    kind, value = body
    return value if kind == "raw" else json.dumps(value).encode()  # NaN/Infinity and \ud800 escapes included


# --- case files ------------------------------------------------------------------------------------------------

CASE = {"id": "fuzz-1", "title": "t", "narrative": "n", "source": "s", "age": 45, "sex": "male",
        "findings": {"low_back_pain": True, "pain_below_knee": False, "calf_pain": None},
        "gold": {"condition": CONDITIONS[0], "triage": "soon", "also_acceptable": CONDITIONS[1:3]}}
YAML_FRAGMENTS = [
    "age: ", "sex: ", "findings:\n", "gold:\n", "  condition: ", "  triage: ", "  also_acceptable: ", "id: ",
    "45", "male", "female", "\n", "  ", "- ", "? ", ": ", "{", "}", "[", "]", ",", "'", '"', "&a ", "*a",
    "<<: *a\n", "!!timestamp ", "2020-99-99", "2001-12-14t21:59:43.10-99:99", "!!int ", "!!float ", "!!binary ",
    "!!set ", "!!omap ", "!!python/object/apply:os.system ", "%YAML 1.1\n---\n", "---\n", "...\n", "~", "null",
    ".inf", "-.nan", "1e99999", "0x1F", "0o17", "0b101", "12:30:00", "yes", "no", "on", '"\\ud800"', "\\x00",
    "\t", "#", "|\n", ">\n", *FINDINGS[:6], *CONDITIONS[:3],
]
yaml_texts = st.lists(st.one_of(st.sampled_from(YAML_FRAGMENTS), texts), max_size=30).map("".join)


def _dump(value: Any, kind: str) -> str:
    try:
        return json.dumps(value) if kind == "json" else yaml.safe_dump(value, allow_unicode=True)
    except (ValueError, TypeError, yaml.YAMLError):
        return "{}"


case_values = st.one_of(json_values, mutated(CASE, rate=40),
                        st.fixed_dictionaries({"age": json_values, "sex": json_values, "findings": json_values},
                                              optional={"gold": mutated(CASE["gold"], rate=50), "id": json_values}))
case_files = st.tuples(
    st.sampled_from([".yaml", ".yml", ".json", ".YAML", ".txt"]),
    st.one_of(st.binary(max_size=300),
              yaml_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
              st.tuples(case_values, st.sampled_from(["json", "yaml"])).map(lambda p: _dump(*p).encode(
                  "utf-8", "surrogatepass"))))


def case_targets(tmp: Path) -> list[Target]:
    from painpath.cases import load_case, parse_case
    from painpath.errors import CaseError

    def check_parse(data: Any) -> None:
        try:
            parse_case(data, CKB, where="fuzz")
        except CaseError:
            pass

    def check_load(file: tuple[str, bytes]) -> None:
        suffix, content = file
        path = tmp / f"case-{uuid.uuid4().hex[:8]}{suffix}"
        path.write_bytes(content)
        try:
            load_case(path, CKB)
        except CaseError:
            pass
        finally:
            path.unlink()

    return [Target("cases.parse_case", case_values, check_parse),
            Target("cases.load_case", case_files, check_load)]


# --- interview state -----------------------------------------------------------------------------------------


def _state_template() -> dict[str, Any]:
    from painpath.interview import answer, start

    state = answer(start(45, "male"), {"low_back_pain": "present", "pain_below_knee": "absent"}, CKB, screen="where")
    return state.model_dump(mode="json")


STATE = _state_template()
states = st.one_of(json_values, mutated(STATE, rate=40),
                   st.fixed_dictionaries({"age": st.one_of(st.integers(0, 120), json_values),
                                          "sex": st.sampled_from(["female", "male"])},
                                         optional={"mode": json_values, "setting": json_values,
                                                   "answers": st.lists(mutated(STATE["answers"][0], rate=60)),
                                                   "screens_asked": st.lists(st.one_of(
                                                       st.sampled_from(SCREENS), strings), max_size=8),
                                                   "version": json_values}))


def interview_targets() -> list[Target]:
    from pydantic import ValidationError

    from painpath.errors import CaseError
    from painpath.interview import InterviewState, answer, next_step
    from painpath.interview.policy import validate_state

    def check(data: Any) -> None:
        try:
            state = InterviewState.model_validate(data)
        except ValidationError:
            return
        try:
            validate_state(state, CKB)
            step = next_step(state, CKB)
            assert step.should_stop or step.question is not None, step
            if step.question is not None:
                values = {i.finding: "present" for i in step.question.items}
                answer(state, values, CKB, screen=step.question.screen)
        except CaseError:
            pass

    return [Target("interview.InterviewState", states, check)]


# --- the REST API ------------------------------------------------------------------------------------------------

STARTBACK = {**{f"item{i}": False for i in range(1, 9)}, "item9": 2}
API_TEMPLATES: dict[str, list[Any]] = {
    "POST /v1/assess": [{"id": "x", "age": 45, "sex": "male", "findings": {"low_back_pain": True, "calf_pain": None},
                         "unlisted": "absent", "mode": "self", "setting": "self", "include_plan": True,
                         "explain_conditions": 3}],
    "POST /v1/interview/start": [{"age": 45, "sex": "female", "mode": "self", "setting": None}],
    "POST /v1/interview/answer": [{"state": STATE, "answers": {"calf_pain": "present"}, "screen": SCREENS[1]}],
    "POST /v1/interview/next": [{"state": STATE}],
    "POST /v1/interview/why": [{"state": STATE, "screen": SCREENS[1]}],
    "POST /v1/assessments": [{"age": 45, "sex": "male", "mode": "self", "setting": None, "intake_code": None,
                              "patient_ref": "MRN-1"}],
    "PUT /v1/assessments/{assessment_id}/answers": [{"answers": {"low_back_pain": "present", "calf_pain": "absent"},
                                                    "screen": "where", "revision": None}],
    "POST /v1/assessments/{assessment_id}/withdraw": [{"findings": ["low_back_pain"], "screen": "where",
                                                       "revision": None}],
    "PUT /v1/assessments/{assessment_id}/outcome": [{"pain": 4, "psfs": [{"activity": "walking", "score": 5}]}],
    "POST /v1/assessments/{assessment_id}/finish": [{"startback": STARTBACK}],
    "POST /v1/assessments/{assessment_id}/amend": [{"answers": {"calf_pain": "present"}, "mode": "clinician"}],
    "POST /v1/auth/login": [{"email": "nobody@example.org", "password": "not the password"}],
    "POST /v1/auth/reset-password": [{"code": "ppr_AAAA-BBBB-CCCC-DDDD", "new_password": "a new passphrase"}],
    "POST /v1/clinic/claim": [{"share_code": "ABCD-EFGH-JKMN"}],
    "POST /v1/clinic/tokens": [{"name": "integration"}],
}
PROBLEM = "application/problem+json"


def json_operations(app: Any) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the app's OpenAPI document that takes a JSON body."""
    ops = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            content = (op.get("requestBody") or {}).get("content", {}) if isinstance(op, dict) else {}
            if "application/json" in content:
                ops.append((method.upper(), path))
    return sorted(ops)


def check_problem(r: Any) -> None:
    """Not 5xx; an error is problem+json with its status; a success is JSON (or empty)."""
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith(PROBLEM), (r.status_code, r.headers["content-type"])
        body = r.json()
        assert body["status"] == r.status_code and isinstance(body["detail"], str) and body["title"], body
        assert isinstance(body["errors"], list), body
    elif r.status_code != 204 and r.content:
        r.json()


class ApiEnv:
    """A clinic with an administrator's session and assessments to send the fuzzed bodies to."""

    def __init__(self, client: Any, database: Any) -> None:
        from painpath.storage import accounts

        self.client, self.database = client, database
        slug = f"fuzz-{uuid.uuid4().hex[:10]}"
        with database.write() as s:
            clinic = accounts.create_clinic(s, slug, "Fuzz clinic")
            user = accounts.create_user(s, clinic, f"admin@{slug}.example.org", "correct horse battery staple",
                                        role="admin")
            _, raw = accounts.issue_token(s, clinic.id, kind="session", user_id=user.id, hours=2)
        self.admin = {"Authorization": f"Bearer {raw}"}
        self._open: tuple[str, dict[str, str]] | None = None
        self._finished: tuple[str, dict[str, str]] | None = None

    def _new(self, finished: bool) -> tuple[str, dict[str, str]]:
        r = self.client.post("/v1/assessments", json={"age": 50, "sex": "female"})
        assert r.status_code == 201, r.text
        aid, h = r.json()["assessment"]["id"], {"Authorization": f"Bearer {r.json()['patient_token']}"}
        r = self.client.put(f"/v1/assessments/{aid}/answers", headers=h, json={"answers": {"low_back_pain": "present"}})
        assert r.status_code == 200, r.text
        if finished:
            assert self.client.post(f"/v1/assessments/{aid}/finish", headers=h).status_code == 200
        return aid, h

    def target_of(self, method: str, path: str) -> tuple[str, dict[str, str]]:
        """The URL and headers for one request to this operation."""
        if "{assessment_id}" in path:
            if path.endswith("/amend"):
                self._finished = self._finished or self._new(True)
                aid, h = self._finished
            else:
                self._open = self._open or self._new(False)
                aid, h = self._open
            return path.replace("{assessment_id}", aid), h
        return path, self.admin if path.startswith(("/v1/clinic", "/v1/assessments")) else {}

    def send(self, method: str, path: str, body: tuple[str, Any]) -> Any:
        url, headers = self.target_of(method, path)
        r = self.client.request(method, url, content=encode(body),
                                headers={**headers, "content-type": "application/json"})
        if "{assessment_id}" in path and not path.endswith("/amend") and r.status_code < 300:
            if r.json().get("status") == "finished":
                self._open = None  # answer a fresh one next time
        return r


def api_targets(env: ApiEnv, app: Any) -> list[Target]:
    out = []
    for method, path in json_operations(app):
        templates = API_TEMPLATES.get(f"{method} {path}", [{}])

        def check(body: tuple[str, Any], method: str = method, path: str = path) -> None:
            check_problem(env.send(method, path, body))

        out.append(Target(f"api {method} {path}", bodies(*templates), check))
    return out


# --- FHIR and CDS Hooks ------------------------------------------------------------------------------------------

FHIR_JSON = "application/fhir+json"
NEXT = "/fhir/Questionnaire/$next-question"
ASSESS = "/fhir/QuestionnaireResponse/$assess"


def check_outcome(r: Any) -> None:
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    if r.status_code >= 400:  # the body limit's 413 too: an OperationOutcome under /fhir (documented)
        assert r.headers["content-type"].startswith(FHIR_JSON), r.headers["content-type"]
        body = r.json()
        assert body["resourceType"] == "OperationOutcome" and body["issue"], body
        assert all(i["severity"] in ("error", "fatal") and i["code"] for i in body["issue"]), body
    else:
        assert r.headers["content-type"].startswith(FHIR_JSON)
        assert r.json()["resourceType"]


def fhir_templates(client: Any) -> tuple[list[Any], list[Any]]:
    """Realistic QuestionnaireResponses: the first call, one with the 'about you' answers, a completed one."""
    from tests.fhir.conftest import about_you, completed_response

    first = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    r = client.post(NEXT, json=first, headers={"content-type": FHIR_JSON})
    assert r.status_code == 200, r.text
    second = r.json()
    second.setdefault("item", []).append(about_you(45, "male"))
    r = client.post(NEXT, json=second, headers={"content-type": FHIR_JSON})
    assert r.status_code == 200, r.text
    third = r.json()
    done = completed_response(38, "male", {"low_back_pain": "present", "calf_pain": "absent", "fever_unwell": "unknown"})
    params = {"resourceType": "Parameters", "parameter": [{"name": "questionnaire-response", "resource": done},
                                                          {"name": "mode", "valueCode": "self"}]}
    return [first, second, third], [done, params]


def fhir_targets(client: Any) -> list[Target]:
    nexts, assesses = fhir_templates(client)

    def poster(path: str) -> Callable[[tuple[str, Any]], None]:
        def check(body: tuple[str, Any]) -> None:
            check_outcome(client.post(path, content=encode(body), headers={"content-type": FHIR_JSON}))
        return check

    return [Target("fhir Questionnaire/$next-question", bodies(*nexts), poster(NEXT)),
            Target("fhir QuestionnaireResponse/$assess", bodies(*assesses), poster(ASSESS))]


PV, IMG = "painpath-patient-view", "painpath-lumbar-imaging"


def cds_templates() -> dict[str, list[Any]]:
    from painpath.fhir import codes as C
    from tests.fhir.conftest import completed_response

    qr = completed_response(38, "male", {"low_back_pain": "present", "history_of_cancer": "present"},
                            subject={"reference": "Patient/123"})
    order = {"resourceType": "ServiceRequest", "id": "sr-1", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/123"},
             "code": {"coding": [{"system": C.LOINC, "code": "30679-5", "display": "MR Lumbar spine WO contrast"}]}}
    pv = {"hook": "patient-view", "hookInstance": "f7b0f3a2-1c1e-4c43-9a59-3b2a7d3c9f10",
          "context": {"userId": "Practitioner/1", "patientId": "123"}, "prefetch": {"painpathResponse": qr}}
    pv_bundle = copy.deepcopy(pv)
    pv_bundle["prefetch"] = {"painpathResponse": {"resourceType": "Bundle", "type": "searchset",
                                                  "entry": [{"resource": qr}]},
                             "patient": {"resourceType": "Patient", "id": "123", "birthDate": "1980-02-29",
                                         "gender": "male"}}
    pv_obs = copy.deepcopy(pv)
    pv_obs["prefetch"] = {
        "painpathResponse": {"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/123"},
                          "code": {"coding": [{"system": C.FINDING_SYSTEM, "code": k}]}, **value}}
            for k, value in (("low_back_pain", {"valueBoolean": True}), ("calf_pain", {"valueBoolean": False}),
                             ("fever_unwell", {"valueCodeableConcept": {"coding": [dict(C.CODING_OF["present"])]}}))]},
        "patient": {"resourceType": "Patient", "id": "123", "gender": "female", "birthDate": "1970-05-01"}}
    img = {"hook": "order-select", "hookInstance": "0e0c2f8c-5b0e-4d55-8d57-2f5b0e4c7a11",
           "context": {"userId": "Practitioner/1", "patientId": "123", "selections": ["ServiceRequest/sr-1"],
                       "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]}},
           "prefetch": {"painpathResponse": qr}}
    return {PV: [pv, pv_bundle, pv_obs], IMG: [img]}


def check_cds(r: Any) -> None:
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    body = r.json()
    if r.status_code == 413:
        assert r.headers["content-type"].startswith(PROBLEM)
    elif r.status_code >= 400:
        assert r.status_code != 401, body  # the JWT is valid: a refusal must be about the body
        assert isinstance(body["error"], str) and isinstance(body["error_description"], str), body
    else:
        assert isinstance(body["cards"], list), body


def cds_targets(client: Any, keys: Any) -> list[Target]:
    out = []
    for service, templates in cds_templates().items():
        def check(body: tuple[str, Any], service: str = service) -> None:
            token = keys.token(service)
            check_cds(client.post(f"/cds-services/{service}", content=encode(body),
                                  headers={"content-type": "application/json", "Authorization": f"Bearer {token}"}))

        out.append(Target(f"cds {service}", bodies(*templates), check))
    return out


# --- knowledge-base files (what `painpath kb check --path DIR` reads) ------------------------------------------


def kb_targets(tmp: Path) -> list[Target]:
    """One file of the tiny test knowledge base replaced by arbitrary bytes, YAML-ish text or a mutated copy of
    its own content: ``load_kb`` raises only ``KnowledgeBaseError``; ``kb check --path`` exits 1, no traceback."""
    from painpath.errors import KnowledgeBaseError
    from painpath.kb import load_kb
    from tests.conftest import TINY_KB

    originals = {f.name: f.read_bytes() for f in sorted(TINY_KB.glob("*.yaml"))}
    parsed = {name: yaml.safe_load(content) for name, content in originals.items()}
    contents = st.sampled_from(sorted(originals)).flatmap(lambda name: st.tuples(st.just(name), st.one_of(
        st.binary(max_size=200), yaml_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
        mutated(parsed[name], rate=15).map(lambda v: _dump(v, "yaml").encode("utf-8", "surrogatepass")))))

    def check(change: tuple[str, bytes]) -> None:
        name, content = change
        d = tmp / f"kb-{uuid.uuid4().hex[:8]}"
        d.mkdir()
        for fname, original in originals.items():
            (d / fname).write_bytes(content if fname == name else original)
        try:
            load_kb(d)
        except KnowledgeBaseError as exc:
            assert exc.problems and all(isinstance(p, str) and p for p in exc.problems), exc.problems

    return [Target("kb.load_kb", contents, check)]


# --- the command line ---------------------------------------------------------------------------------------------

# a path argument: a prepared file or directory, or text that names nothing (no '/', so nothing outside)
safe_names = st.text(st.characters(exclude_characters="/\\\x00", exclude_categories=["Cs"]), min_size=1,
                     max_size=12).filter(lambda s: s not in (".", ".."))


class CliFiles:
    """Files and directories the fuzzed argument lists point at (in ``root``)."""

    def __init__(self, root: Path) -> None:
        from tests.conftest import DEV, TINY_KB, shipped_kb_dir

        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        cases = root / "cases"
        cases.mkdir(exist_ok=True)
        dev = sorted(DEV.glob("*.yaml"))[:3] if DEV.is_dir() else []
        for p in dev:
            (cases / p.name).write_bytes(p.read_bytes())
        if not dev:
            (cases / "c1.yaml").write_text(yaml.safe_dump(CASE))
        (root / "case.yaml").write_text(yaml.safe_dump({k: v for k, v in CASE.items() if k != "gold"}))
        (root / "case.json").write_text(json.dumps(CASE))
        (root / "bad.yaml").write_text("age: 2020-99-99\nsex: [\n")
        (root / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
        (root / "empty").mkdir(exist_ok=True)
        (root / "snap1.yaml").write_text("pain: 7\npsfs:\n  - {activity: walking, score: 3}\n")
        (root / "snap2.json").write_text(json.dumps({"pain": 2, "psfs": [{"activity": "walking", "score": 8}]}))
        (root / "snap-bad.yaml").write_text("pain: eleven\n")
        header = ["id", "age", "sex", *FINDINGS[:5]]
        rows = [["a", "45", "male", "true", "false", "", "1", "no"], ["b", "70", "female", "0", "yes", "", "", ""]]
        (root / "in.csv").write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
        (root / "bad.csv").write_text("age,sex,nope\n300,x,1\n")
        kb = root / "kb"
        kb.mkdir(exist_ok=True)
        for f in shipped_kb_dir().glob("*.yaml"):
            (kb / f.name).write_bytes(f.read_bytes())
        tiny = root / "tiny_kb"
        tiny.mkdir(exist_ok=True)
        for f in TINY_KB.glob("*.yaml"):
            (tiny / f.name).write_bytes(f.read_bytes())
        broken = root / "broken_kb"
        broken.mkdir(exist_ok=True)
        for f in TINY_KB.glob("*.yaml"):
            (broken / f.name).write_bytes(f.read_bytes())
        (broken / "findings.yaml").write_text("findings: [1, 2\n")
        self.inputs = ["case.yaml", "case.json", "bad.yaml", "binary.json", "empty", "cases", "missing.yaml",
                       "snap1.yaml", "snap2.json", "snap-bad.yaml", "in.csv", "bad.csv", "kb", "tiny_kb",
                       "broken_kb"]
        self.outputs = ["out.csv", "out.parquet", "out.txt", "empty", "out", "cases/x.csv", "rej.csv"]

    def path(self, *likely: str) -> st.SearchStrategy[str]:
        """Mostly a prepared path (``likely`` ones first), sometimes any other or a name that is not there."""
        preferred = st.sampled_from(list(likely or self.inputs))
        return st.one_of(preferred, preferred, preferred, st.sampled_from(self.inputs), safe_names)

    def out(self) -> st.SearchStrategy[str]:
        return st.one_of(st.sampled_from(self.outputs), safe_names)


def _option(name: str, value: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    spaced = st.tuples(st.just(name), value).map(list)
    return st.one_of(spaced, spaced, spaced, value.map(lambda v: [f"{name}={v}"]), st.just([name]))


numbers = st.one_of(st.integers(-5, 10**6).map(str), st.integers(1, 12).map(str),
                    st.sampled_from(["0", "-1", "nan", "inf", "-inf", "1e400", "3.5", "", "x", "99999999999999999999"]))


def argv(command: list[str], positionals: list[st.SearchStrategy[str]],
         options: dict[str, st.SearchStrategy[str] | None]) -> st.SearchStrategy[list[str]]:
    """An argument list: the command, its positional arguments, options in any order (some with arbitrary
    values), and now and then a positional argument missing or a stray word."""
    opt = [_option(k, v) if v is not None else st.just([k]) for k, v in options.items()]
    pos = st.tuples(*positionals).map(list) if positionals else st.just([])
    pos = st.one_of(pos, pos, pos, pos.map(lambda p: p[:-1]))
    stray = st.one_of(safe_names, st.sampled_from(["--", "-", "--help", "--bogus", "-x"]))
    extra = st.one_of(st.just([]), st.just([]), st.just([]), st.lists(stray, min_size=1, max_size=2))
    return st.tuples(pos, st.lists(st.one_of(*opt), max_size=3), extra, st.randoms(use_true_random=False)).map(
        lambda t: command + _shuffled(t[0] + [x for o in t[1] for x in o] + t[2], t[3]))


def _shuffled(items: list[str], rnd: Any) -> list[str]:
    items = list(items)
    if rnd.random() < 0.3:
        rnd.shuffle(items)
    return items


def cli_targets(files: CliFiles) -> list[Target]:
    from typer.testing import CliRunner

    from painpath.cli import app

    runner = CliRunner()
    modes = st.one_of(st.sampled_from(["self", "clinician", "both", "SELF", ""]), safe_names)
    levels = st.sampled_from(["emergency", "urgent", "soon", "self_care"])
    levels = st.one_of(levels, levels, levels, safe_names)
    o = files.out()
    cases, snaps = files.path("case.yaml", "case.json", "bad.yaml", "binary.json"), files.path(
        "snap1.yaml", "snap2.json", "snap-bad.yaml", "bad.yaml", "binary.json", "case.json")
    commands = {
        "assess": argv(["assess"], [cases], {"--mode": modes, "--json": None}),
        "evaluate": argv(["evaluate"], [files.path("cases", "empty", "kb")],
                         {"--mode": modes, "--json": None, "--interview": None}),
        "batch": argv(["batch"], [files.path("in.csv", "bad.csv", "binary.json", "case.yaml"), o],
                                         {"--mode": modes, "--setting": modes, "--chunk-size": numbers,
                                          "--top": numbers, "--all-probabilities": None, "--skip-invalid": None,
                                          "--rejects": o, "--threads": st.sampled_from(["1", "2", "0", "-3", "x"]),
                                          "--quiet": None}),
        "followup": argv(["followup"], [snaps, snaps], {"--weeks": numbers, "--level": levels, "--json": None}),
        "kb check": argv(["kb", "check"], [], {"--path": files.path("kb", "tiny_kb", "broken_kb", "empty"),
                                               "--benchmark": files.path("cases", "empty", "kb")}),
    }

    def check(args: list[str]) -> None:
        cwd = os.getcwd()
        os.chdir(files.root)
        try:
            result = runner.invoke(app, args, catch_exceptions=True, env={"COLUMNS": "120", "NO_COLOR": "1"})
        finally:
            os.chdir(cwd)
        out = result.output  # standard output and error, as the terminal shows them
        exc = result.exception
        assert exc is None or isinstance(exc, SystemExit), f"{type(exc).__name__}: {exc} for {args!r}"
        assert result.exit_code in (0, 1, 2), (result.exit_code, args, out[-500:])
        assert "Traceback" not in out, (args, out[-1000:])

    return [Target(f"cli {name}", strategy, check) for name, strategy in commands.items()]


# --- batch input ------------------------------------------------------------------------------------------------

CELLS = ["true", "false", "TRUE", "1", "0", "yes", "no", "", " ", "maybe", "45", "-1", "1.0", "NaN", '"quoted, comma"',
         '"', '""', "\\N", "null", "True ", "YES"]
AGES = ["45", "0", "120", "121", "-1", "45.5", "4e1", " 45", "", "x", "99999999999999999999", "NaN"]
SEXES = ["female", "male", "Female", " MALE ", "", "x", "f", "null"]
ODD_COLUMNS = ["unknown_column", "", "age", "ID", " sex", "Age", "p_sciatica", "triage"]


@st.composite
def csv_texts(draw: Any) -> str:
    """Mostly a table with the right columns (in any order) and cells of every spelling, good and bad; sometimes an
    unknown or repeated column, ragged rows, another separator or line ending, or just text."""
    if draw(st.integers(0, 19)) == 19:  # rare outcomes at the high end: Hypothesis starts from low values
        return draw(st.text(_alphabet, max_size=200))
    header = draw(st.lists(st.sampled_from(["id", *FINDINGS[:12]]), unique=True, max_size=8))
    header += [c for c in ("age", "sex") if draw(st.integers(0, 9)) < 9]
    if draw(st.integers(0, 5)) == 5:
        header.append(draw(st.one_of(st.sampled_from(ODD_COLUMNS), texts)))
    header = draw(st.permutations(header)) if header else ["age"]
    good = {"age": st.integers(0, 120).map(str), "sex": st.sampled_from(["female", "male"]),
            "id": st.one_of(texts, st.just("a"))}
    bad = {"age": st.sampled_from(AGES), "sex": st.sampled_from(SEXES)}
    n = draw(st.integers(0, 8))
    rows = []
    for _ in range(n):
        row = [draw(good.get(c, st.sampled_from(CELLS[:7]))) if draw(st.integers(0, 9)) < 8 else
               draw(st.one_of(bad.get(c, st.sampled_from(CELLS)), texts)) for c in header]
        if draw(st.integers(0, 9)) == 9:
            row = row[:-1] if draw(st.booleans()) else [*row, "extra"]
        rows.append(row)
    sep = draw(st.sampled_from([",", ",", ",", ",", ",", ";", "\t"]))
    end = draw(st.sampled_from(["\n", "\n", "\r\n", ""]))
    return "\n".join(sep.join(r) for r in [header, *rows]) + end


def batch_targets(tmp: Path) -> list[Target]:
    try:
        from painpath.batch import BatchOptions, score_file
    except ImportError:  # the batch extra is not installed
        return []
    from painpath.errors import PainPathError

    def check(args: tuple[str, str, bool, int]) -> None:
        text, mode, skip, chunk = args
        d = tmp / f"batch-{uuid.uuid4().hex[:8]}"
        d.mkdir()
        src = d / "in.csv"
        src.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            summary = score_file(src, d / "out.csv", BatchOptions(mode=mode, skip_invalid=skip),  # type: ignore[arg-type]
                                 chunk_size=chunk, threads=1)
        except PainPathError:
            assert not (d / "out.csv").exists(), "a failed run left an output file"
            return
        assert (d / "out.csv").is_file() and summary.scored + summary.rejected == summary.rows, summary

    strategy = st.tuples(csv_texts(), st.sampled_from(["self", "clinician"]), st.booleans(), st.integers(1, 4))
    return [Target("batch.score_file (CSV)", strategy, check)]


def all_names(targets: Iterator[Target] | list[Target]) -> list[str]:
    return [t.name for t in targets]
