"""Command-line interface (Typer + Rich). Thin wrappers over the domain core."""

from __future__ import annotations

import sys

import typer

from painpath.cli import assess_cmd, batch_cmd, evaluate_cmd, followup_cmd, kb_cmd, serve_cmd
from painpath.errors import PainPathError

__all__ = ["app", "main"]

app = typer.Typer(
    name="painpath",
    help="PainPath: where does this leg pain come from, how urgent is it, and what to do. Not a diagnosis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("assess")(assess_cmd.assess)
app.command("evaluate")(evaluate_cmd.evaluate)
app.command("batch")(batch_cmd.batch)
app.command("followup")(followup_cmd.followup)
app.add_typer(kb_cmd.app, name="kb")
app.command("serve")(serve_cmd.serve)
app.add_typer(serve_cmd.db_app, name="db")
app.add_typer(serve_cmd.admin_app, name="admin")


def _register_optional() -> None:
    try:
        from painpath.cli import interview_cmd
    except ImportError:  # pragma: no cover - interview module absent
        return
    app.command("interview")(interview_cmd.interview)


_register_optional()


def main() -> None:
    """Entry point: domain errors become a one-line message and exit code 2."""
    try:
        app(standalone_mode=True)
    except PainPathError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
