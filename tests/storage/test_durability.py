"""Crash durability on SQLite and PostgreSQL: every acknowledged write survives a SIGKILL of the server.

Runs benchmarks/durability.py: the real server as a subprocess, a stream of sequential writes (create an
assessment, PUT answers with the expected revision), SIGKILL of the whole server process group after
1.5 s of writing, restart on the same database, and every acknowledged write read back with the
patient token (answers and revision). The servers are stopped in ``finally`` blocks, so none outlives a
failure. About 5 s per database.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts import load_benchmark

durability = load_benchmark("durability")


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_acknowledged_writes_survive_sigkill(db: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if db == "postgresql" else None
    result = durability.run(tmp_path, url, write_seconds=1.5, min_writes=30)
    assert not result.problems, "\n".join(result.problems[:20])
    assert result.database == db
    assert result.acknowledged_creates >= 5 and result.acknowledged_updates >= 20, result
    assert result.assessments_checked == result.acknowledged_creates
    assert not durability._LIVE, "a server process was left running"
