"""Shared CLI helpers: error exit, progress bars, Rich rendering of an assessment."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from painpath.assessment import Assessment
from painpath.cases import Case
from painpath.domain import Level

STYLE = {Level.EMERGENCY.value: "bold white on red", Level.URGENT.value: "bold black on dark_orange",
         Level.SOON.value: "bold black on yellow", Level.SELF_CARE.value: "bold white on green"}
LABEL = {Level.EMERGENCY.value: "EMERGENCY", Level.URGENT.value: "URGENT - TODAY", Level.SOON.value: "SEE A CLINICIAN SOON",
         Level.SELF_CARE.value: "SELF-CARE"}


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


T = TypeVar("T")


@contextmanager
def progress_bar(*, enabled: bool = True) -> Iterator[Any]:
    """A Rich progress display on standard error, shown only when standard error is a terminal and ``enabled``
    (commands pass ``not --json``/``not --quiet``); otherwise a display that draws nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=console, transient=True,
                        disable=not (enabled and console.is_terminal))
    with progress:
        yield progress


class Ticking(Sequence[T]):
    """A sequence that advances a progress task as it is iterated the first time (later passes do not tick)."""

    def __init__(self, items: Sequence[T], progress: Any, task: Any) -> None:
        self._items, self._progress, self._task, self._ticked = items, progress, task, False

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):
        return self._items[i]

    def __iter__(self) -> Iterator[T]:
        first, self._ticked = not self._ticked, True
        for item in self._items:
            yield item
            if first:
                self._progress.advance(self._task)


def bar(p: float, width: int = 20) -> str:
    filled = int(round(p * width))
    return "█" * filled + "░" * (width - filled)


def render_assessment(a: Assessment, console: Console, *, top: int = 5, level: str | None = None) -> None:
    """``level``: the final level (``painpath.services.final_level``, the care plan's), when it was raised above
    the engine's triage level; the care plan's notes say why."""
    level = level or a.triage.level
    advice, raised = a.triage.advice, ""
    if level != a.triage.level:
        from painpath.engine import default_compiled

        advice = default_compiled().kb.triage.level_text.get(level, advice)  # type: ignore[call-overload]  # level is a LevelName value
        raised = f" (raised from {LABEL[a.triage.level]}: see the care plan's notes)"
    console.print(Panel(f"[{STYLE[level]}] {LABEL[level]} [/]{raised}  {advice}", title="How urgent", expand=False))
    for r in a.triage.reasons:
        console.print(f"  • {r.text}")
    table = Table(title="Most likely causes", show_header=True, header_style="bold")
    table.add_column("Condition")
    table.add_column("Probability", justify="right")
    table.add_column("")
    table.add_column("Where from")
    names = {c.key: (c.short_name, c.origin) for c in a.conditions}
    for key, p in a.ranking()[:top]:  # "other" takes its place in the ranking
        name, origin = names.get(key, ("None of these (a cause PainPath does not cover)", "-"))
        table.add_row(name, f"{p:.0%}", bar(p), origin)
    console.print(table)
    if a.other is not None and a.other.message:
        console.print(f"[bold]{a.other.message}[/]")
    origin = "  ".join(f"{k}: {v:.0%}" for k, v in sorted(a.origin.items(), key=lambda kv: -kv[1]))
    console.print(f"[bold]Where the pain comes from:[/] {origin}")
    t = a.top
    console.print(f"\n[bold]Why {t.short_name}{' (the closest listed cause)' if a.other_leads else ''}?[/]")
    for e in t.supporting:
        console.print(f"  [green]+[/] {e.text} ({e.answer}, weight {e.weight:+.2f})")
    for e in t.opposing:
        console.print(f"  [red]-[/] {e.text} ({e.answer}, weight {e.weight:+.2f})")
    console.print(f"\n[dim]{a.disclaimer} Knowledge base {a.kb_version}, engine {a.engine_version}.[/]")


def care_plan_json(result: Assessment, case: Case, startback: Any = None) -> dict[str, Any]:
    """The care plan for an assessment, as JSON-ready data (at the level painpath.services decides)."""
    from painpath.services import plan_for

    return plan_for(result, case, startback).model_dump(mode="json")
