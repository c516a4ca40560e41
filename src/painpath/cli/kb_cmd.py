"""`painpath kb check`, `painpath kb stats` and `painpath kb findings`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from painpath.errors import KnowledgeBaseError
from painpath.kb import benchmark_problems, evidence_stats, load_kb

app = typer.Typer(help="Check and describe the knowledge base.", no_args_is_help=True)


def _find_benchmark() -> Path | None:
    """../shared/benchmark-v2 (the target) if present, else ../shared/benchmark (v1)."""
    for name in ("benchmark-v2", "benchmark"):
        for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
            cand = base.parent / "shared" / name
            if (cand / "conditions.yaml").is_file():
                return cand
    return None


@app.command("check")
def check(
    path: Annotated[Path | None, typer.Option("--path", help="A knowledge-base directory (default: the shipped one).")] = None,
    benchmark: Annotated[
        Path | None,
        typer.Option("--benchmark", help="Benchmark directory to check coverage against "
                     "(default: ../shared/benchmark-v2, else ../shared/benchmark, if present)."),
    ] = None,
) -> None:
    """Validate every knowledge-base file and the links between them; list every problem."""
    problems: list[str] = []
    kb = None
    try:
        kb = load_kb(path)
    except KnowledgeBaseError as exc:
        problems = exc.problems
    bench = benchmark or _find_benchmark()
    if kb is not None and bench is not None:
        problems += benchmark_problems(kb, bench)
    try:
        from painpath.careplan import check_care_content
    except ImportError:
        check_care_content = None  # type: ignore[assignment]  # an optional check: None when care content cannot be imported
    if check_care_content is not None and path is None:
        problems += [f"careplan: {p}" for p in check_care_content()]
    if problems:
        for p in problems:
            typer.echo(p, err=True)
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    assert kb is not None
    where = f"; benchmark coverage checked against {bench}" if bench else "; no benchmark directory found, coverage not checked"
    typer.echo(
        f"knowledge base {kb.version} OK: {len(kb.conditions.conditions)} conditions, "
        f"{len(kb.findings.findings)} findings, {len(kb.sources.sources)} sources{where}"
    )


@app.command("stats")
def stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """How much of the stated evidence cites literature, and how much is estimated."""
    kb = load_kb()
    s = evidence_stats(kb)
    if as_json:
        typer.echo(json.dumps(s, indent=2))
        return
    console = Console()
    by = s["by_basis"]
    assert isinstance(by, dict)
    console.print(f"Knowledge base {kb.version}: {s['explicit_strengths']} explicitly stated strengths "
                  f"(+{s['default_pairs']} condition-finding pairs left at the finding's default, excluded)")
    t = Table(title="Evidence basis of the stated strengths")
    t.add_column("basis")
    t.add_column("count", justify="right")
    t.add_column("share", justify="right")
    total = s["explicit_strengths"]
    assert isinstance(total, int)
    for basis, label in (("measured", "measured in a cited study"), ("adapted", "cited figure, adapted to population"),
                         ("described", "frequency described by a cited source"), ("estimate", "PainPath estimate, reason given")):
        n = by.get(basis, 0)
        t.add_row(label, str(n), f"{n / total:.0%}")
    console.print(t)
    console.print(f"[bold]With a literature source: {s['literature_share']:.0%}[/] "
                  f"(measured or adapted: {s['measured_share']:.0%})")
    ct = Table(title="Per condition")
    ct.add_column("condition")
    for b in ("measured", "adapted", "described", "estimate"):
        ct.add_column(b, justify="right")
    by_cond = s["by_condition"]
    assert isinstance(by_cond, dict)
    for cond, counts in by_cond.items():
        ct.add_row(cond, *(str(counts.get(b, 0)) for b in ("measured", "adapted", "described", "estimate")))
    console.print(ct)
    console.print(f"Priors: {s['priors']}; sources in the bibliography: {s['sources']}")


@app.command("findings")
def findings(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every finding key (the columns of `painpath batch`, the keys of case files and /v1/assess), its kind and text.

    A symptom or history finding left out of a case counts as absent ("no"); a sign left out is unknown."""
    kb = load_kb()
    rows = [{"key": key, "kind": f.kind, "group": f.group, "text": f.text, "if_omitted": _omitted(f.kind)}
            for key, f in kb.findings.findings.items()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    t = Table(title=f"Finding keys of knowledge base {kb.version} ({len(rows)})")
    for col in ("key", "kind", "group", "text", "if omitted"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["key"], r["kind"], r["group"], r["text"], r["if_omitted"])
    Console().print(t)


def _omitted(kind: str) -> str:
    return "unknown" if kind == "sign" else "absent"
