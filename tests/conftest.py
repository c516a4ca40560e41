"""Shared fixtures and helpers for the domain-core and CLI tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARK = (REPO / ".." / "shared" / "benchmark").resolve()
DEV = BENCHMARK / "dev"
TINY_KB = Path(__file__).resolve().parent / "data" / "tiny_kb"
SKIP_NO_BENCH = f"benchmark not found at {BENCHMARK} (expected ../shared/benchmark next to the repository)"


def painpath_cmd() -> list[str]:
    """The installed console script next to the running interpreter, else ``python -m painpath``."""
    exe = Path(sys.executable).parent / "painpath"
    if exe.is_file():
        return [str(exe)]
    return [sys.executable, "-m", "painpath"]


def run_cli(*args: str, input: str | None = None, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "PYTHONIOENCODING": "utf-8"})
    return subprocess.run(
        [*painpath_cmd(), *args],
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def shipped_kb_dir() -> Path:
    with resources.as_file(resources.files("painpath.kb") / "data") as p:
        return Path(p)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped knowledge-base YAML files."""
    dest = tmp_path / "kb"
    dest.mkdir()
    for f in shipped_kb_dir().glob("*.yaml"):
        shutil.copy(f, dest / f.name)
    return dest


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny test knowledge base."""
    dest = tmp_path / "tiny_kb"
    shutil.copytree(TINY_KB, dest)
    return dest


@pytest.fixture
def bench() -> Path:
    if not (BENCHMARK / "conditions.yaml").is_file():
        pytest.skip(SKIP_NO_BENCH)
    return BENCHMARK


@pytest.fixture
def dev_dir() -> Path:
    if not DEV.is_dir() or not any(DEV.glob("*.yaml")):
        pytest.skip(SKIP_NO_BENCH)
    return DEV
