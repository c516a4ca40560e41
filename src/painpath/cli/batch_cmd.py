"""`painpath batch IN OUT`: score a CSV/Parquet table of cases, streamed in chunks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from painpath.cli._common import fail, progress_bar
from painpath.errors import PainPathError

IN_HELP = "Cases, one per row: a .csv or .parquet file, or a directory or glob of Parquet files."
SETTING_HELP = "Prior setting: self or clinic (default: self for --mode self, clinic for clinician)."
SKIP_HELP = "Leave invalid rows out and list them in a rejects CSV instead of stopping."


def batch(
    source: Annotated[str, typer.Argument(metavar="IN", help=IN_HELP)],
    output: Annotated[Path, typer.Argument(metavar="OUT", help="Results: a .csv or .parquet file.")],
    mode: Annotated[str, typer.Option("--mode", help="self (signs hidden) or clinician.")] = "self",
    setting: Annotated[str | None, typer.Option("--setting", help=SETTING_HELP)] = None,
    chunk_size: Annotated[int, typer.Option(
        "--chunk-size", help="Rows scored at a time (bounds memory).")] = 50_000,
    top: Annotated[int, typer.Option(
        "--top", help="How many most-probable conditions to write per case.")] = 3,
    all_probabilities: Annotated[bool, typer.Option(
        "--all-probabilities", help="Also write one p_<condition> column per condition.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help=SKIP_HELP)] = False,
    rejects: Annotated[Path | None, typer.Option(
        "--rejects", help="Rejects file for --skip-invalid (default: OUT with .rejects.csv).")] = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", help="Chunks scored at once (default: 2, or 1 on a one-CPU machine).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Score a table of cases in bulk: triage level, top conditions and origin per row (streamed).

    On a terminal a progress bar shows the rows scored (out of the total for Parquet, whose row count is known
    up front); it is not drawn when standard error is not a terminal or with --quiet."""
    if mode not in ("self", "clinician"):
        fail(f"--mode must be 'self' or 'clinician', got '{mode}'")
    if chunk_size < 1:
        fail(f"--chunk-size must be at least 1, got {chunk_size}")
    if threads is not None and threads < 1:
        fail(f"--threads must be at least 1, got {threads}")
    if rejects is not None and not skip_invalid:
        fail("--rejects needs --skip-invalid")
    try:
        from painpath.batch import BatchOptions, score_file, tune_allocator
    except ImportError as exc:
        fail(f"painpath batch needs the batch extra: pip install 'painpath[batch]' ({exc})")
    tune_allocator()  # this process only scores: keep chunk buffers instead of re-faulting them
    options = BatchOptions(mode=mode, setting=setting, top=top,  # type: ignore[arg-type]  # mode is checked by BatchOptions (a clear error names it)
                           all_probabilities=all_probabilities, skip_invalid=skip_invalid)
    try:
        with progress_bar(enabled=not quiet) as bar:
            task = bar.add_task("scoring", total=_row_count(source) if not bar.disable else None)
            summary = score_file(source, output, options, chunk_size=chunk_size, rejects=rejects, threads=threads,
                                 progress=lambda s: bar.update(task, completed=s.rows))
    except PainPathError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; no output written")
    if quiet:
        return
    levels = ", ".join(f"{k} {v}" for k, v in summary.levels.items())
    print(f"scored {summary.scored:,} of {summary.rows:,} cases in {summary.seconds:.1f} s "
          f"({summary.cases_per_second:,.0f} cases/s) -> {summary.output}", file=sys.stdout)
    print(f"triage: {levels}", file=sys.stdout)
    if summary.rejects is not None:
        print(f"rejected {summary.rejected:,} invalid rows -> {summary.rejects}", file=sys.stdout)


def _row_count(source: str) -> int | None:
    """The number of rows of a Parquet input (from its metadata), else None (a CSV is not read twice)."""
    from painpath.batch import open_input

    try:
        lf, fmt, _where = open_input(source)
        if fmt != "parquet":
            return None
        import polars as pl

        return int(lf.select(pl.len()).collect().item())
    except Exception:  # noqa: BLE001 - only a progress total; score_file reports real problems
        return None
