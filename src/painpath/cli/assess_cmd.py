"""`painpath assess CASE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from painpath.assessment import assess as run_assess
from painpath.cases import load_case
from painpath.cli._common import fail, render_assessment
from painpath.engine import default_compiled
from painpath.errors import PainPathError


def assess(
    case_file: Annotated[Path, typer.Argument(help="A case file (YAML or JSON) in the benchmark case format.")],
    mode: Annotated[str, typer.Option("--mode", help="self (signs hidden) or clinician.")] = "self",
    as_json: Annotated[bool, typer.Option("--json", help="Print the assessment as JSON.")] = False,
) -> None:
    """Assess one case: triage level with reasons, likely causes with probabilities, origin, explanation."""
    if mode not in ("self", "clinician"):
        fail(f"--mode must be 'self' or 'clinician', got '{mode}'")
    try:
        ckb = default_compiled()
        case = load_case(case_file, ckb)
        result = run_assess(case, mode=mode, ckb=ckb)  # type: ignore[arg-type]
        plan = _plan_for(result, case)
    except PainPathError as exc:
        fail(str(exc))
    if as_json:
        payload = result.model_dump(mode="json")
        if plan is not None:
            payload["care_plan"] = plan
        print(json.dumps(payload, indent=2))
        return
    console = Console()
    render_assessment(result, console)
    if plan is not None:
        from painpath.cli._plan import render_plan

        render_plan(plan, console)


def _plan_for(result, case, startback=None):  # type: ignore[no-untyped-def]
    """The care plan as JSON-ready data, when the care-plan package is available."""
    try:
        from painpath.careplan import build_care_plan
    except ImportError:
        return None
    ranked = [(c.key, c.probability) for c in result.conditions]
    reasons = [r.text for r in result.triage.reasons]
    plan = build_care_plan(ranked, result.triage.level, dict(case.findings), triage_reasons=reasons, startback=startback)
    return plan.model_dump(mode="json")
