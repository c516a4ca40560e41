"""`painpath assess CASE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from painpath.assessment import assess as run_assess
from painpath.cases import load_case
from painpath.cli._common import care_plan_json, fail, render_assessment
from painpath.cli._plan import render_plan
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
        result = run_assess(case, mode=mode, ckb=ckb)  # type: ignore[arg-type]  # mode comes from the --mode choices (self, clinician)
        plan = care_plan_json(result, case)
    except PainPathError as exc:
        fail(str(exc))
    if as_json:
        payload = result.model_dump(mode="json")
        payload["care_plan"] = plan
        print(json.dumps(payload, indent=2))
        return
    console = Console()
    render_assessment(result, console, level=plan["level"])
    render_plan(plan, console)
