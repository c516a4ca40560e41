"""`painpath interview`: the adaptive interview in the terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from painpath.cli._common import fail, render_assessment
from painpath.cli._plan import render_plan
from painpath.domain import AnswerName, Level, Mode, StopReason
from painpath.engine import default_compiled
from painpath.errors import PainPathError
from painpath.interview import InterviewState, answer, next_step, withdraw
from painpath.interview.policy import validate_state
from painpath.interview.presenting import REGIONS, location_answers
from painpath.messages import render as render_message
from painpath.services import assess_state, conclude

YES, NO, DK = {"y", "yes"}, {"n", "no"}, {"d", "dk", "?", "don't know", "dont know", "not sure"}
HINT = "Type y (yes), n (no) or d (don't know); w = why am I asked this?, b = back, {quit}."
QUIT_SAVED = "q = stop (your answers are saved; continue later with --resume)"
QUIT_UNSAVED = "q = stop (answers are not kept: start with --save FILE to keep them)"


class _Quit(Exception):
    pass


class _Back(Exception):
    pass


def _read(console: Console, prompt: str) -> str:
    console.print(prompt, end="")
    line = sys.stdin.readline()
    if line == "":
        raise _Quit
    return line.strip().lower()


def _ask_int(console: Console, prompt: str, lo: int, hi: int) -> int:
    while True:
        raw = _read(console, prompt)
        if raw.isdigit() and lo <= int(raw) <= hi:
            return int(raw)
        console.print(f"[yellow]Please type a whole number from {lo} to {hi}.[/]")


def _ask_choice(console: Console, prompt: str, choices: Mapping[str, object]) -> Any:
    while True:
        raw = _read(console, prompt)
        if raw in choices:
            return choices[raw]
        console.print(f"[yellow]Please type one of: {', '.join(sorted(set(choices)))}.[/]")


def _yes_no(console: Console, text: str, why: str, allow_back: bool, hint: str) -> bool | None:
    while True:
        raw = _read(console, f"  {text} [y/n/d] ")
        if raw in YES:
            return True
        if raw in NO:
            return False
        if raw in DK:
            return None
        if raw in {"w", "why"}:
            console.print(f"  [cyan]Why:[/] {why}")
            continue
        if raw in {"b", "back"} and allow_back:
            raise _Back
        if raw in {"q", "quit"}:
            raise _Quit
        console.print(f"  [yellow]{hint}[/]")


SIDES = {"l": "left", "left": "left", "r": "right", "right": "right", "b": "both", "both": "both",
         **dict.fromkeys(DK, "unknown")}


def _ask_side(console: Console, why: str) -> str | None:
    """Which leg: left, right, both, or None for not sure."""
    while True:
        raw = _read(console, "  Which leg? \\[l=left / r=right / b=both / d=not sure] ")
        if raw in SIDES:
            return None if SIDES[raw] == "unknown" else SIDES[raw]
        if raw in {"w", "why"}:
            console.print(f"  [cyan]Why:[/] {why}")
            continue
        if raw in {"q", "quit"}:
            raise _Quit
        console.print("  [yellow]Type l (left leg), r (right leg), b (both legs) or d (not sure); "
                      "count numbness or tingling in the other leg too.[/]")


def _ask_where(console: Console, hint: str) -> tuple[dict, str | None]:
    """The body map's answers and the side (which leg; None for not sure)."""
    keys = list(REGIONS)
    console.print("[bold]Where do you feel the pain?[/] (numbers separated by commas, e.g. 1,3)")
    for i, k in enumerate(keys, 1):
        console.print(f"  {i}. {REGIONS[k]}")
    while True:
        raw = _read(console, "Places: ")
        if raw in {"q", "quit"}:
            raise _Quit
        parts = [p.strip() for p in raw.replace(" ", ",").split(",") if p.strip()]
        if parts and all(p.isdigit() and 1 <= int(p) <= len(keys) for p in parts):
            chosen = list(dict.fromkeys(keys[int(p) - 1] for p in parts))
            break
        console.print(f"[yellow]Please type one or more numbers from 1 to {len(keys)}, separated by commas.[/]")
    why = "Where the pain is tells us most about where it comes from."
    side = _ask_side(console, why)
    both = None if side is None else side == "both"
    worse = below = None
    if "low_back_pain" in chosen and len(chosen) > 1:
        worse = _yes_no(console, "Is the leg pain worse than the back pain?", why, False, hint)
    if not set(chosen) & {"calf_pain", "shin_pain", "achilles_pain", "foot_pain"} and chosen != ["low_back_pain"]:
        below = _yes_no(console, "Does the pain reach below the knee anywhere (e.g. the outer side of the lower leg)?",
                        why, False, hint)
    return location_answers(chosen, both_legs=both, leg_worse_than_back=worse, below_knee_elsewhere=below), side


def _ask_startback(console: Console):
    """The Keele STarT Back tool, word for word, for back-related presentations in clinician mode."""
    from painpath.careplan import load_care_content, score_startback

    spec = load_care_content().startback
    console.print(f"\n[bold]{spec.name}[/] (prognosis; press q to skip)")
    console.print(spec.instructions)
    answers: dict[str, object] = {}
    for item in spec.items:
        if item.response == "bothersomeness":
            opts = " ".join(f"{o.value}={o.label}" for o in spec.bothersome_options)
            answers[item.id] = _ask_int(console, f"  {item.text} ({opts}): ", 1, len(spec.bothersome_options))
        else:
            answers[item.id] = _ask_choice(console, f"  {item.text} [a=agree/d=disagree] ",
                                           {"a": True, "agree": True, "d": False, "disagree": False, "q": "quit"})
            if answers[item.id] == "quit":
                raise _Quit
    result = score_startback(answers)  # type: ignore[arg-type]  # answers holds the item ids and values the questions above asked for
    console.print(f"  STarT Back: total {result.total}, psychosocial {result.psychosocial} -> [bold]{result.stratum} risk[/]")
    console.print(f"  [dim]{spec.copyright}[/]")
    return result


def _save(state: InterviewState, path: Path | None) -> None:
    """Write the state after every answer (quietly: the start and the end of the interview say where)."""
    if path is None:
        return
    try:
        path.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot save ({exc.strerror})")


def interview(
    mode: Annotated[str, typer.Option("--mode", help="self (you) or clinician (adds examination findings).")] = "self",
    age: Annotated[int | None, typer.Option("--age", help="Age in whole years (asked if not given).")] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="female or male (asked if not given).")] = None,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue an interview saved with --save.")] = None,
    save: Annotated[Path | None, typer.Option("--save", help="Save the interview state to this file as you go.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the final assessment as JSON.")] = False,
) -> None:
    """Answer a short adaptive interview about your leg pain and get a result and plan."""
    console = Console(stderr=as_json)
    ckb = default_compiled()
    hint = HINT.format(quit=QUIT_SAVED if save is not None else QUIT_UNSAVED)
    if mode not in ("self", "clinician"):
        fail(f"--mode must be 'self' or 'clinician', got '{mode}'")
    state: InterviewState | None = None
    try:
        if resume is not None:
            try:
                state = InterviewState.model_validate_json(resume.read_text(encoding="utf-8"))
            except OSError as exc:
                fail(f"{resume}: cannot read ({exc.strerror})")
            except ValidationError as exc:
                first = exc.errors()[0]
                fail(f"{resume}: not a saved interview ({'.'.join(map(str, first['loc']))}: {first['msg']})")
            try:
                validate_state(state, ckb)
            except PainPathError as exc:
                fail(f"{resume}: {exc}")
        else:
            console.print("[bold]PainPath[/] - a short interview about leg pain. It gives information, not a diagnosis.")
            if age is not None and not 0 <= age <= 120:
                fail(f"--age must be from 0 to 120, got {age}")
            if sex is not None and sex not in ("female", "male"):
                fail(f"--sex must be 'female' or 'male', got '{sex}'")
            a = age if age is not None else _ask_int(console, "Your age in years: ", 0, 120)
            s = sex or _ask_choice(console, "Sex (f/m): ", {"f": "female", "female": "female", "m": "male", "male": "male"})
            state = InterviewState(age=a, sex=s, mode=mode)
        caps = ckb.kb.interview.caps
        cap = caps.self_ if state.mode == "self" else caps.clinician
        console.print(f"[dim]Questions stop as soon as more answers would not change the result; at most {cap} "
                      "questions after where it hurts.[/]")
        console.print(f"[dim]{hint}[/]")
        if save is not None:
            console.print(f"[dim]Your answers are saved to {save} after each question.[/]")
        while True:
            step = next_step(state, ckb)
            if step.should_stop:
                break
            q = step.question
            assert q is not None
            n = step.questions_asked + 1
            if q.phase == "presenting":
                where, side = _ask_where(console, hint)
                state = answer(state, where, ckb, screen=q.screen, side=side)
                _save(state, save)
                continue
            console.print(f"\n[bold]Question {n}[/] [dim](of at most {cap})[/]  [bold]{q.title}[/]")
            values: dict[str, AnswerName] = {}
            try:
                for item in q.items:
                    v = _yes_no(console, item.text, q.why, allow_back=True, hint=hint)
                    values[item.finding] = "unknown" if v is None else ("present" if v else "absent")
            except _Back:
                if state.screens_asked:
                    state = withdraw(state, screen=state.screens_asked[-1])
                continue
            state = answer(state, values, ckb, screen=q.screen)
            _save(state, save)
    except _Quit:
        if state is not None and save is not None:
            _save(state, save)
            console.print(f"Stopped. Your answers are saved in {save}: continue with --resume {save} --save {save}.")
        else:
            console.print("Stopped. Nothing was saved (start with --save FILE to be able to continue later).")
        raise typer.Exit(0) from None
    except PainPathError as exc:
        fail(str(exc))
    result = assess_state(state, ckb)  # with the resumed state's own setting
    stopped = step.stop_message
    if step.stop_reason == StopReason.EMERGENCY and stopped is not None:
        console.print(f"\n[bold white on red] EMERGENCY [/] {render_message(stopped)}")
    startback = None
    if state.mode == Mode.CLINICIAN and result.origin["back"] >= 0.5 and not Level.parse(result.triage.level).is_acute:
        try:
            startback = _ask_startback(console)
        except _Quit:
            startback = None
    plan = conclude(state, ckb, startback=startback, assessment=result).plan.model_dump(mode="json")
    if as_json:
        payload = result.model_dump(mode="json")
        payload["questions_asked"] = step.questions_asked
        payload["interview"] = json.loads(state.model_dump_json())
        payload["care_plan"] = plan
        print(json.dumps(payload, indent=2))
        return
    if save is not None:
        console.print(f"\n[dim]The interview is saved in {save}.[/]")
    console.print(f"\n[dim]{step.questions_asked} questions asked.[/]")
    render_assessment(result, console, level=plan["level"])
    render_plan(plan, console)
