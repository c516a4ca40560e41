"""Crash durability on SQLite and PostgreSQL: every acknowledged write survives a SIGKILL of the server.

Runs benchmarks/durability.py: the real server as a subprocess, a stream of sequential writes (create an
assessment, PUT answers with the expected revision), SIGKILL of the whole server process group after
1.5 s of writing, restart on the same database, and every acknowledged write read back with the
patient token (answers and revision). The servers are stopped in ``finally`` blocks, so none outlives a
failure. About 5 s per database.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "durability.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("painpath_bench_durability", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


durability = _load()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_acknowledged_writes_survive_sigkill(db: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if db == "postgresql" else None
    result = durability.run(tmp_path, url, write_seconds=1.5)
    assert not result.problems, "\n".join(result.problems[:20])
    assert result.database == db
    assert result.acknowledged_creates >= 5 and result.acknowledged_updates >= 20, result
    assert result.assessments_checked == result.acknowledged_creates
    assert not durability._LIVE, "a server process was left running"
