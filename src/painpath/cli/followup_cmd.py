"""`painpath followup PREVIOUS CURRENT`: compare two outcome measurements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError

from painpath.cli._common import fail
from painpath.domain import LEVELS_DESCENDING, Level

LEVELS = LEVELS_DESCENDING


def _snapshot(path: Path):
    from painpath.careplan import OutcomeSnapshot

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"{path}: cannot read ({exc.strerror})")
    except UnicodeDecodeError as exc:
        fail(f"{path}: not UTF-8 text ({exc.reason})")
    except yaml.YAMLError as exc:
        fail(f"{path}: malformed YAML/JSON ({getattr(exc, 'problem', exc)})")
    except Exception as exc:  # noqa: BLE001 - PyYAML's constructors raise ValueError, IndexError, KeyError... on
        fail(f"{path}: malformed YAML/JSON ({exc})")  # a bad tagged scalar (a date like 2020-99-99, !!int '')
    try:
        return OutcomeSnapshot.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"{path}: {'.'.join(map(str, err['loc'])) or 'snapshot'}: {err['msg']}")


def followup(
    previous: Annotated[Path, typer.Argument(
        help="Earlier measurement: {pain: 0-10, psfs: [{activity, score 0-10}]} (YAML/JSON).")],
    current: Annotated[Path, typer.Argument(help="Current measurement, same format.")],
    weeks: Annotated[float, typer.Option("--weeks", help="Weeks since the first assessment.")] = 0.0,
    level: Annotated[str, typer.Option("--level", help="Triage level of today's assessment.")] = Level.SELF_CARE.value,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Compare pain (0-10) and Patient-Specific Functional Scale scores with the previous measurement."""
    from painpath.services import followup_result

    if level not in LEVELS:
        fail(f"--level must be one of {', '.join(LEVELS)}, got '{level}'")
    if weeks < 0:
        fail(f"--weeks must not be negative, got {weeks}")
    result = followup_result(_snapshot(previous), _snapshot(current), weeks_since_first=weeks, current_triage_level=level)
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    function = f", function {result.psfs_change:+g}" if result.psfs_change is not None else ""
    typer.echo(f"Trend: {result.trend} (pain {result.pain_change:+g}" + function + ")")
    typer.echo(f"Level: {result.level}" + (" (raised)" if result.escalated else ""))
    typer.echo(f"Advice: {result.advice.text}")
    for r in result.reasons:
        typer.echo(f"  - {r}")
