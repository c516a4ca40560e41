"""Faults under load: a worker or the whole server killed, PostgreSQL restarted, the database read-only or full.

Short versions of benchmarks/faults.py (see its docstring for what each scenario does and how writes are
checked): the real server as a subprocess (or, for read-only/full databases, the real app in-process on a real
database), a stream of concurrent writes, the fault, then every acknowledged write read back. Servers, the
private PostgreSQL cluster and mounts are cleaned up in ``finally`` blocks.

About 47 s in all on a quiet 2-core machine (measured 2026-11-21), up to ~100 s at load average 9 (server
start-ups slow down): worker kill 10-23 s, server kill 9-21 s, PostgreSQL restart and crash 9-26 s each (a private
cluster; skipped with a message when there are no PostgreSQL server binaries, or as root without a ``postgres``
user), read-only and full databases 1-20 s (the real-tmpfs variants, SQLite and the PostgreSQL tablespace, only as
root where mounting is allowed, skipped otherwise).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.scripts import load_benchmark

faults = load_benchmark("faults")


def _ok(result: dict) -> None:  # type: ignore[type-arg]
    assert not result["problems"], "\n".join(str(p) for p in result["problems"][:20])
    assert not sys.modules["durability"]._LIVE, "a server process was left running"


def test_sigkill_one_worker_keeps_serving(tmp_path: Path, pg_url: str) -> None:
    """PostgreSQL: the killed worker may hold row locks and connections mid-transaction."""
    r = faults.worker_kill(tmp_path, pg_url, pre=1.0, post=2.0, min_writes=50)
    _ok(r)
    assert r["server_alive"] and r["worker_replaced"] and r["log_says_died"], r
    assert r["victim"] not in r["workers_after"] and len(r["workers_after"]) == 2, r
    assert r["acknowledged_writes"] >= 50, r
    # only requests in flight on (or sent over) the dead worker's connections may fail; none gets a 5xx
    assert r["client_view"]["other_statuses"] == {} and r["client_view"]["status_503"] == 0, r["client_view"]
    assert r["verify"]["lost_or_wrong"] == 0


def test_sigkill_whole_server_concurrent_writers(tmp_path: Path) -> None:
    """SQLite, 2 workers, 6 concurrent writers (tests/storage/test_durability.py has one writer, one worker)."""
    r = faults.server_kill(tmp_path, None, write_seconds=1.0, workers=2, min_writes=30)
    _ok(r)
    assert r["acknowledged_writes"] >= 30 and r["verify"]["assessments_checked"] == r["assessments"], r


def test_postgresql_restart_under_load(tmp_path: Path) -> None:
    why = faults.private_cluster_unavailable()
    if why:
        pytest.skip(f"private PostgreSQL cluster: {why}")
    r = faults.pg_restart(tmp_path, pre=1.0, post=2.0)
    _ok(r)
    cv = r["client_view"]
    assert cv["status_503"] + cv["transport_errors"] >= 1, "the restart was not noticed at all"
    assert cv["other_statuses"] == {}, cv
    assert r["workers_after"] == r["workers_before"] and r["server_alive"], r  # recovered, not restarted
    assert cv["recovered_s"] is not None and cv["recovered_s"] < r["pg_restart_s"] + 1.0, r
    assert r["engine_requests"] and set(r["engine_requests"]) == {"ok"}, r


def test_postgresql_crash_under_load(tmp_path: Path) -> None:
    """``pg_ctl stop -m immediate``: no checkpoint, WAL replay on the next start; nothing acknowledged is lost."""
    why = faults.private_cluster_unavailable()
    if why:
        pytest.skip(f"private PostgreSQL cluster: {why}")
    r = faults.pg_restart(tmp_path, pre=1.0, post=2.0, mode="immediate", min_writes=20)
    _ok(r)
    assert r["scenario"] == "c pg-crash" and r["wal_replayed"], r
    assert r["client_view"]["other_statuses"] == {}, r["client_view"]
    assert r["workers_after"] == r["workers_before"] and r["server_alive"], r
    assert r["acknowledged_writes"] >= 20 and r["verify"]["lost_or_wrong"] == 0, r


def test_sqlite_read_only(tmp_path: Path) -> None:
    r = faults.sqlite_read_only(tmp_path)
    _ok(r)
    assert r["writes_during_fault"].get("503") == r["writes_during_fault"].get("reason:read-only") == 10, r
    assert r["integrity_check"] == "ok"
    assert not list(Path.cwd().glob("file:*")), "a URI filename created a stray 'file:' directory"


def test_sqlite_full_page_limit(tmp_path: Path) -> None:
    r = faults.sqlite_full(tmp_path, method="page-limit")
    _ok(r)
    assert r["writes_during_fault"]["reason:disk full"] >= 1 and r["integrity_check"] == "ok", r


def test_sqlite_full_real_tmpfs(tmp_path: Path) -> None:
    why = faults.tmpfs_unavailable()
    if why:
        pytest.skip(why)
    r = faults.sqlite_full(tmp_path, method="tmpfs")
    _ok(r)
    assert r["writes_during_fault"]["reason:disk full"] >= 1 and r["integrity_check"] == "ok", r


def test_postgresql_read_only(tmp_path: Path, pg_url: str) -> None:
    """A fresh database of the system cluster (the fixture only proves PostgreSQL is there; its database is untouched)."""
    r = faults.pg_read_only(tmp_path, faults.PG_ADMIN_URL)  # $PAINPATH_TEST_PG, as in conftest
    _ok(r)
    assert r["writes_during_fault"].get("503") == r["writes_during_fault"].get("reason:read-only") == 10, r
    assert r["sessions_terminated"] >= 1, r


def test_postgresql_full_disk(tmp_path: Path) -> None:
    why = faults.tmpfs_unavailable() or faults.private_cluster_unavailable()
    if why:
        pytest.skip(why)
    r = faults.pg_full(tmp_path)
    _ok(r)
    assert r["writes_during_fault"]["reason:disk full"] >= 1, r
    assert r["postgres_up_after"] and r["writes_after_fault_removed"] == {"201": 2, "200": 2}, r
