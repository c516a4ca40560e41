"""Progress bars of `painpath evaluate` and `painpath batch`: drawn on a terminal, never when piped or quiet."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import painpath_cmd, run_cli

BAR = "\u2501"  # the bar's line character


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; (exit code, what the terminal showed, escapes removed)."""
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update({"TERM": "xterm-256color", "COLUMNS": "120"})
    proc = subprocess.Popen([*painpath_cmd(), *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    code = proc.wait(timeout=120)
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode("utf-8", "replace"))


def test_evaluate_shows_progress_on_a_terminal_only(dev_dir: Path) -> None:
    n = len(list(dev_dir.glob("*.yaml")))
    code, screen = _on_a_terminal("evaluate", str(dev_dir), "--mode", "self", "--interview")
    assert code == 0, screen
    assert "self interviews" in screen and BAR in screen and f"{n}/{n}" in screen
    piped = run_cli("evaluate", str(dev_dir), "--mode", "self", "--interview", timeout=180)
    assert piped.returncode == 0 and BAR not in piped.stderr and "interviews" not in piped.stderr


def test_batch_shows_rows_out_of_the_parquet_total(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    cases = tmp_path / "cases.parquet"
    pl.DataFrame({"age": [38, 52, 67], "sex": ["male", "female", "male"],
                  "calf_pain": [True, False, True]}).write_parquet(cases)
    code, screen = _on_a_terminal("batch", str(cases), str(tmp_path / "out.csv"), "--quiet")
    assert code == 0 and BAR not in screen, screen  # --quiet: nothing drawn
    code, screen = _on_a_terminal("batch", str(cases), str(tmp_path / "out.csv"))
    assert code == 0, screen
    assert "scoring" in screen and "3/3" in screen and BAR in screen
    piped = run_cli("batch", str(cases), str(tmp_path / "out2.csv"))
    assert piped.returncode == 0 and piped.stderr == "" and "scored 3 of 3 cases" in piped.stdout
