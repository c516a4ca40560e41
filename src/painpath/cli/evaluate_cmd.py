"""`painpath evaluate DIR`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from painpath.bench.scoring import METRICS, score_cases
from painpath.cases import load_cases
from painpath.cli._common import Ticking, fail, progress_bar
from painpath.engine import default_compiled
from painpath.errors import PainPathError

INTERVIEW_METRICS = ["questions_median", "questions_p90", "questions_max", "answers_median", "answers_p90", "answers_max",
                     "agreement_top1", "agreement_triage"]


def evaluate(
    directory: Annotated[Path, typer.Argument(help="Directory of case files with gold labels.")],
    mode: Annotated[str, typer.Option("--mode", help="self, clinician or both.")] = "both",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (keys self and/or clinician).")] = False,
    interview: Annotated[bool, typer.Option("--interview", help="Run every case as a simulated adaptive interview.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Also write an HTML page with a reliability diagram, a confusion matrix and the triage "
                         "table into this directory (of the all-findings assessment).")] = None,
) -> None:
    """Score every case in DIR with the benchmark metrics (gold is read only to score)."""
    if mode not in ("self", "clinician", "both"):
        fail(f"--mode must be 'self', 'clinician' or 'both', got '{mode}'")
    modes = ["self", "clinician"] if mode == "both" else [mode]
    out: dict[str, Any] = {}
    try:
        ckb = default_compiled()
        cases = load_cases(directory, ckb, require_gold=True)
        with progress_bar(enabled=not as_json) as bar:
            for m in modes:
                task = bar.add_task(f"{m}{' interviews' if interview else ''}", total=len(cases))
                if interview:
                    from painpath.bench.simulate import score_interviews

                    out[m] = score_interviews(Ticking(cases, bar, task), m, ckb=ckb)  # type: ignore[arg-type]  # mode comes from the --mode choices (self, clinician)
                else:
                    out[m] = score_cases(cases, m, ckb=ckb)  # type: ignore[arg-type]  # mode comes from the --mode choices (self, clinician)
                bar.update(task, completed=len(cases))
        if report is not None:
            from painpath.bench.report import predictions_for, write_report

            page = write_report(report, [predictions_for(cases, m, ckb=ckb) for m in modes],
                                title=f"PainPath on {directory}", metrics=out if not interview else None)
            print(f"report: {page}", file=sys.stderr)
    except PainPathError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{report}: cannot write the report ({exc.strerror})")
    if as_json:
        print(json.dumps(out, indent=2))
        return
    console = Console(file=sys.stdout)
    table = Table(title=f"PainPath on {directory}" + (" (interview)" if interview else ""))
    table.add_column("metric")
    for m in modes:
        table.add_column(m, justify="right")
    keys = list(METRICS) + (INTERVIEW_METRICS if interview else [])
    for key in keys:
        row = []
        for m in modes:
            v = out[m].get(key)
            row.append("-" if v is None else (str(v) if isinstance(v, int) else f"{v:.3f}"))
        table.add_row(key, *row)
    console.print(table)
    for m in modes:
        for miss in out[m]["misses"]:
            top = ", ".join(f"{k} {p:.2f}" for k, p in miss["predicted_top3"])
            console.print(
                f"[dim]{m}[/] miss {miss['id']}: gold {miss['gold']}/{miss['gold_triage']}, "
                f"predicted {top} / {miss['predicted_triage']}"
            )
