"""Fault injection against the real server: what clients see, whether the app recovers, and whether any
acknowledged write is lost.

Scenarios (``--only a,b,c,d``):

  a  worker-kill   ``painpath serve --workers 2``; SIGKILL of ONE worker process (the one holding the most client
                   connections) during a stream of concurrent writes. The server must keep serving (uvicorn's
                   supervisor replaces the worker: it checks its workers every 0.5 s), requests in flight on that
                   worker may fail (counted), every acknowledged write is present afterwards.
  b  server-kill   SIGKILL of the whole server (every process) during concurrent writes from several clients, 2
                   workers, restart on the same database, every acknowledged write read back. (The single-writer,
                   one-worker version is benchmarks/durability.py / tests/storage/test_durability.py.)
  c  pg-restart    a PRIVATE PostgreSQL cluster (initdb in a temporary directory, run as the ``postgres`` user when
                   we are root, on a free port from 55432) is restarted with ``pg_ctl restart -m fast`` under a
                   write stream. During the restart writes get 503 problem+json (or a transport error), engine
                   endpoints keep answering, and afterwards the SAME server processes serve again
                   (``pool_pre_ping`` replaces the dead pooled connections): 503 count, time to recovery, every
                   acknowledged write present, worker pids unchanged. ``pg-crash`` does the same with
                   ``pg_ctl stop -m immediate`` (every PostgreSQL process quits at once, no checkpoint, as after a
                   crash: the next start replays the write-ahead log, which the scenario checks in the server log).
                   The full run also stops PostgreSQL for 3 s (``pg-down-3s``: connections refused) before
                   starting it again.
  d  read-only and full databases (in-process app on the real database, no mocks):
       d1 SQLite opened read-only (``sqlite:///file:/path/painpath.sqlite3?mode=ro&uri=true``)
       d2 SQLite full: ``PRAGMA max_page_count`` set by a connect hook to a few pages above the current size
          (works anywhere), and with ``--tmpfs`` (root only) a real 2 MiB tmpfs that fills up
       d3 PostgreSQL read-only: ``ALTER DATABASE x SET default_transaction_read_only = on`` on a fresh database of
          the system cluster, and its sessions terminated so the pool reconnects
       d4 PostgreSQL full (``--tmpfs``, root): a private cluster whose app database is in a tablespace on a small
          tmpfs, filled up with a filler file; deleting the filler frees space and the same app writes again
     -> writes get 503 problem+json with Retry-After, reads of stored records and engine endpoints still work,
        ``PRAGMA integrity_check`` is ok afterwards, every earlier acknowledged write is present, and writes work
        again once the fault is gone.

The writers: each thread creates assessments and PUTs answers with the expected ``revision``. A write that gets
503 or a transport error is retried with the same revision every 50 ms (a client honouring ``Retry-After: 5``
would wait longer; the short retry measures recovery to within 50 ms). If the retry gets 409, the first attempt
landed although it was never acknowledged: the record is read back and must be exactly that write. Every 2xx is an
acknowledged write; at the end every assessment is read back and must be at its last acknowledged revision with
exactly the acknowledged answers (a write still unresolved when the stream stopped may have landed or not).

Usage:
    python benchmarks/faults.py                     # all scenarios, a and b on SQLite and PostgreSQL
    python benchmarks/faults.py --short --json      # the short versions (what tests/reliability runs)
    python benchmarks/faults.py --only c --db postgresql
System PostgreSQL for a, b (database per run, dropped) and d3: ``--pg-admin-url`` (default $PAINPATH_TEST_PG or
postgresql+psycopg://postgres@127.0.0.1:5432/postgres). The system cluster is never stopped or restarted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from durability import PG_ADMIN_URL, Expected, Server, _answers, _finding_keys, fresh_postgres  # noqa: E402

ANSWER_VALUES = ("present", "absent", "unknown")
PROBLEM = "application/problem+json"


# --- the write stream --------------------------------------------------------------------------------------

@dataclass
class Stream:
    """Concurrent writers (and optional readers) against one server; see the module docstring."""

    base_url: str
    writers: int = 6
    readers: int = 0
    seed: int = 7
    updates: int = 4
    backoff: float = 0.05
    ledger: dict[str, Expected] = field(default_factory=dict)
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (monotonic time, op, outcome)
    problems: list[str] = field(default_factory=list)
    unacknowledged_landed: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._keys = _finding_keys()

    def start(self) -> Stream:
        for n in range(self.writers):
            self._threads.append(threading.Thread(target=self._writer, args=(n,), daemon=True))
        for n in range(self.readers):
            self._threads.append(threading.Thread(target=self._reader, args=(n,), daemon=True))
        for t in self._threads:
            t.start()
        return self

    def write_for(self, seconds: float, min_acknowledged: int = 0, cap: float = 60.0) -> None:
        """Let the clients run ``seconds``, then on until ``min_acknowledged`` writes are acknowledged (at most
        ``cap`` seconds in all): a slow machine gets the same amount of work before a fault, not less."""
        start = time.monotonic()
        time.sleep(seconds)
        while self.acknowledged < min_acknowledged and time.monotonic() - start < cap:
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            self.problems.append("a client thread did not stop within 30 s")

    # one request, recorded
    def _call(self, client: httpx.Client, op: str, method: str, path: str, **kw: Any) -> httpx.Response | None:
        try:
            r = client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            self._note(op, f"transport:{type(exc).__name__}")
            return None
        self._note(op, "ok" if 200 <= r.status_code < 300 else str(r.status_code))
        if r.status_code == 503:
            problem = check_503(r)
            if problem:
                self._problem(f"{op}: {problem}")
        return r

    def _note(self, op: str, outcome: str) -> None:
        with self._lock:
            self.events.append((time.monotonic(), op, outcome))

    def _problem(self, text: str) -> None:
        with self._lock:
            if len(self.problems) < 50:
                self.problems.append(text)

    def _writer(self, n: int) -> None:
        rng = random.Random(self.seed * 100 + n)
        with httpx.Client(base_url=self.base_url, timeout=15) as client:
            while not self._stop.is_set():
                created = self._create(client, rng)
                if created is None:
                    continue
                aid, exp = created
                for _ in range(self.updates):
                    if not self._update(client, rng, aid, exp):
                        break

    def _create(self, client: httpx.Client, rng: random.Random) -> tuple[str, Expected] | None:
        r = self._call(client, "create", "POST", "/v1/assessments",
                       json={"age": rng.randint(18, 90), "sex": rng.choice(["female", "male"])})
        if r is None or r.status_code == 503:
            self._stop.wait(self.backoff)  # a create whose answer was lost may have landed: an orphan, not a loss
            return None
        if r.status_code != 201:
            self._problem(f"create answered {r.status_code}: {r.text[:200]}")
            self._stop.wait(self.backoff)
            return None
        body = r.json()
        exp = Expected(token=body["patient_token"])
        with self._lock:
            self.ledger[body["assessment"]["id"]] = exp
        return body["assessment"]["id"], exp

    def _update(self, client: httpx.Client, rng: random.Random, aid: str, exp: Expected) -> bool:
        answers = {k: rng.choice(ANSWER_VALUES) for k in rng.sample(self._keys, rng.randint(1, 4))}
        exp.pending = (exp.revision + 1, {**exp.answers, **answers})
        headers = {"Authorization": f"Bearer {exp.token}"}
        failed_before = False
        while True:
            if failed_before and self._stop.is_set():
                return False  # unresolved: may have landed or not
            # a retry after a failed attempt is "update-retry": 409 there means the failed attempt had landed
            op = "update-retry" if failed_before else "update"
            r = self._call(client, op, "PUT", f"/v1/assessments/{aid}/answers", headers=headers,
                           json={"answers": answers, "revision": exp.revision})
            if r is not None and r.status_code == 200:
                got = r.json()
                exp.revision, exp.answers = exp.pending
                exp.pending = None
                if (got["revision"], _answers(got)) != (exp.revision, exp.answers):
                    self._problem(f"{aid}: PUT answers answered a state that is not what was written")
                return True
            if r is not None and r.status_code == 409 and failed_before:
                g = self._call(client, "read", "GET", f"/v1/assessments/{aid}", headers=headers)
                if g is None or g.status_code == 503:
                    self._stop.wait(self.backoff)
                    continue
                if g.status_code == 200 and (g.json()["revision"], _answers(g.json())) == exp.pending:
                    with self._lock:
                        self.unacknowledged_landed += 1  # the failed attempt had committed; now acknowledged
                    exp.revision, exp.answers = exp.pending
                    exp.pending = None
                    return True
                self._problem(f"{aid}: 409 after a failed attempt, and the record is not that write")
                return False
            if r is None or r.status_code == 503:
                failed_before = True
                self._stop.wait(self.backoff)
                continue
            self._problem(f"{aid}: PUT answers answered {r.status_code}: {r.text[:200]}")
            exp.pending = None if r.status_code < 500 else exp.pending
            return False

    def _reader(self, n: int) -> None:
        """Reads of acknowledged records (database) and POST /v1/interview/start (no database), alternately."""
        rng = random.Random(self.seed * 1000 + n)
        with httpx.Client(base_url=self.base_url, timeout=15) as client:
            while not self._stop.is_set():
                with self._lock:
                    items = list(self.ledger.items())[-50:]
                if items:
                    aid, exp = rng.choice(items)
                    self._call(client, "read", "GET", f"/v1/assessments/{aid}",
                               headers={"Authorization": f"Bearer {exp.token}"})
                self._call(client, "engine", "POST", "/v1/interview/start", json={"age": 50, "sex": "female"})
                self._stop.wait(0.02)

    @property
    def acknowledged(self) -> int:
        return sum(1 for _, op, o in self.events if o == "ok" and op in ("create", "update", "update-retry")) \
            + self.unacknowledged_landed


def check_503(r: httpx.Response) -> str:
    """'' if a 503 is the clear problem the API promises (problem+json, Retry-After, says nothing was saved)."""
    if not r.headers.get("content-type", "").startswith(PROBLEM):
        return f"503 without problem+json: {r.headers.get('content-type')}"
    if not r.headers.get("retry-after"):
        return "503 without Retry-After"
    body = r.json()
    if body.get("status") != 503 or "database" not in body.get("detail", ""):
        return f"503 body unclear: {body}"
    return ""


def outcomes(events: list[tuple[float, str, str]], t_fault: float | None = None) -> dict[str, Any]:
    """Counts of what the clients saw, and recovery times measured from ``t_fault`` (monotonic)."""
    counts = Counter(o if not o.startswith("transport:") else "transport" for _, _, o in events)
    failures = [t for t, _, o in events if o != "ok"]
    out: dict[str, Any] = {
        "requests": len(events), "ok": counts.get("ok", 0), "status_503": counts.get("503", 0),
        "transport_errors": counts.get("transport", 0),
        "transport_by_kind": dict(Counter(o.split(":", 1)[1] for _, _, o in events if o.startswith("transport:"))),
        "other_statuses": dict(Counter(o for _, op, o in events if o not in ("ok", "503") and not o.startswith(
            "transport:") and not (op == "update-retry" and o == "409"))),
        "by_op": {op: dict(Counter(o for _, p, o in events if p == op)) for op in sorted({p for _, p, _ in events})},
    }
    if t_fault is not None:
        out["failures_before_fault"] = sum(1 for t in failures if t < t_fault)
        after = [t for t in failures if t >= t_fault]
        if after:
            last = max(after)
            first_ok = min((t for t, _, o in events if o == "ok" and t > last), default=None)
            out["first_failure_s"] = round(min(after) - t_fault, 3)
            out["last_failure_s"] = round(last - t_fault, 3)
            out["recovered_s"] = round(first_ok - t_fault, 3) if first_ok is not None else None
        else:
            out["first_failure_s"] = out["last_failure_s"] = None
            out["recovered_s"] = 0.0
    return out


def verify_ledger(client: httpx.Client, ledger: dict[str, Expected]) -> dict[str, Any]:
    """Read every assessment back with its patient token (``client`` has the server's base URL)."""
    problems: list[str] = []
    landed = not_landed = 0
    for aid, exp in ledger.items():
        r = client.get(f"/v1/assessments/{aid}", headers={"Authorization": f"Bearer {exp.token}"})
        if r.status_code != 200:
            problems.append(f"{aid}: acknowledged, reading it back answered {r.status_code}")
            continue
        got = (r.json()["revision"], _answers(r.json()))
        if got == (exp.revision, exp.answers):
            not_landed += exp.pending is not None
        elif exp.pending is not None and got == exp.pending:
            landed += 1
        else:
            problems.append(f"{aid}: acknowledged revision {exp.revision} with {len(exp.answers)} answers, read back "
                            f"revision {got[0]} with {len(got[1])} answers")
    return {"assessments_checked": len(ledger), "lost_or_wrong": len(problems), "problems": problems[:20],
            "unresolved_writes_landed": landed, "unresolved_writes_not_landed": not_landed}


# --- server processes --------------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(d.name))
    return sorted(out)


def workers_of(server: Server) -> list[int]:
    assert server.proc is not None
    pids = []
    for pid in children(server.proc.pid):
        with contextlib.suppress(OSError):
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"multiprocessing" in cmd and b"resource_tracker" not in cmd:
                pids.append(pid)
    return pids


def connections_by_pid(port: int) -> dict[int, int]:
    if not shutil.which("ss"):
        return {}
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True,
                         text=True).stdout
    return dict(Counter(int(p) for p in re.findall(r"pid=(\d+)", out)))


def startups(server: Server) -> int:
    try:
        return server.log_path.read_text(errors="replace").count("Application startup complete")
    except OSError:
        return 0


def wait_workers_ready(server: Server, n: int, timeout: float = 60.0) -> None:
    """Until ``n`` workers have finished start-up (the health check only proves that one has)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if startups(server) >= n and len(workers_of(server)) >= n:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{n} workers not ready after {timeout:.0f} s:\n{server.log_tail()}")


# --- a: SIGKILL of one worker -----------------------------------------------------------------------------

def worker_kill(data_dir: Path, database_url: str | None = None, *, pre: float = 1.5, post: float = 4.0,
                writers: int = 6, min_writes: int = 0) -> dict[str, Any]:
    """a: one worker SIGKILLed; ``min_writes`` acknowledged writes in all, half of them before the kill."""
    kind = "postgresql" if database_url else "sqlite"
    server = Server(data_dir, database_url, workers=2, log_name=f"worker-kill-{kind}")
    res: dict[str, Any] = {"scenario": "a worker-kill", "database": kind, "problems": []}
    server.start()
    try:
        wait_workers_ready(server, 2)
        stream = Stream(server.url, writers=writers).start()
        stream.write_for(pre, min_writes // 2)
        before = workers_of(server)
        conns = connections_by_pid(server.port)
        victim = max(before, key=lambda p: conns.get(p, 0))
        started_before = startups(server)
        t_kill = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        replacement: int | None = None
        t_new = t_ready = None
        deadline = t_kill + 60
        while time.monotonic() < deadline and t_ready is None:
            now = workers_of(server)
            new = [p for p in now if p not in before]
            if new and replacement is None:
                replacement, t_new = new[0], time.monotonic()
            if replacement is not None and startups(server) > started_before:
                t_ready = time.monotonic()
            time.sleep(0.02)
        time.sleep(max(0.0, t_kill + post - time.monotonic()))
        if t_ready is not None:  # and some writes after the new worker took over its share
            time.sleep(max(0.0, t_ready + 0.5 - time.monotonic()))
        stream.write_for(0.0, min_writes)
        stream.stop()
        with httpx.Client(base_url=server.url, timeout=15) as c:
            check = verify_ledger(c, stream.ledger)
        alive = server.proc is not None and server.proc.poll() is None
        after = workers_of(server)
        ev = outcomes(stream.events, t_kill)
        res.update(
            workers_before=before, victim=victim, victim_connections=conns.get(victim, 0),
            connections_per_worker=conns, workers_after=after, server_alive=alive,
            worker_replaced=replacement is not None, replacement_pid_after_s=round(t_new - t_kill, 2) if t_new else None,
            replacement_ready_after_s=round(t_ready - t_kill, 2) if t_ready else None,
            log_says_died=f"Child process [{victim}] died" in server.log_path.read_text(errors="replace"),
            acknowledged_writes=stream.acknowledged, unacknowledged_writes_landed=stream.unacknowledged_landed,
            client_view=ev, verify=check)
        res["problems"] = stream.problems + check["problems"]
        if not alive:
            res["problems"].append("the server died with its worker")
        if replacement is None or t_ready is None:
            res["problems"].append("the killed worker was not replaced within 60 s")
        if ev["other_statuses"]:
            res["problems"].append(f"unexpected statuses: {ev['other_statuses']}")
        if ev["failures_before_fault"]:
            res["problems"].append(f"{ev['failures_before_fault']} failures before the kill")
        # only requests that were in flight on (or sent to) the dead worker's connections may fail
        if ev["transport_errors"] + ev["status_503"] > writers:
            res["problems"].append(f"{ev['transport_errors'] + ev['status_503']} failed requests for {writers} writers")
    finally:
        server.stop()
    return res


# --- b: SIGKILL of the whole server, restart ----------------------------------------------------------------

def server_kill(data_dir: Path, database_url: str | None = None, *, write_seconds: float = 1.5,
                writers: int = 6, workers: int = 2, min_writes: int = 0) -> dict[str, Any]:
    """b: the whole server SIGKILLed after ``write_seconds`` and at least ``min_writes`` acknowledged writes."""
    kind = "postgresql" if database_url else "sqlite"
    first = Server(data_dir, database_url, workers=workers, log_name=f"server-kill-{kind}-before")
    second = Server(data_dir, database_url, workers=workers, log_name=f"server-kill-{kind}-after")
    res: dict[str, Any] = {"scenario": "b server-kill", "database": kind, "workers": workers, "problems": []}
    try:
        first.start()  # writing starts once one worker answers; the other joins when it is up
        stream = Stream(first.url, writers=writers).start()
        stream.write_for(write_seconds, min_writes)
        t_kill = time.monotonic()
        first.kill()
        stream.stop()
        t0 = time.monotonic()
        second.start()
        restart_s = time.monotonic() - t0
        with httpx.Client(base_url=second.url, timeout=15) as c:
            check = verify_ledger(c, stream.ledger)
        ev = outcomes(stream.events, t_kill)
        res.update(acknowledged_writes=stream.acknowledged, assessments=len(stream.ledger),
                   in_flight_at_kill=sum(1 for e in stream.ledger.values() if e.pending is not None),
                   restart_until_healthy_s=round(restart_s, 2), client_view=ev, verify=check)
        res["problems"] = stream.problems + check["problems"]
        if ev["failures_before_fault"] or ev["other_statuses"]:
            res["problems"].append(f"failures before the kill: {ev['failures_before_fault']}, {ev['other_statuses']}")
        if not stream.ledger:
            res["problems"].append("no write was acknowledged before the kill")
    finally:
        first.stop()
        second.stop()
    return res


# --- c: a private PostgreSQL cluster restarted under load ---------------------------------------------------

def pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    exe = shutil.which("pg_ctl")
    return Path(exe).parent if exe else None


def private_cluster_unavailable() -> str | None:
    """Why a private cluster cannot be started here, or None."""
    if pg_bin() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run initdb/pg_ctl as"
        if not shutil.which("runuser"):
            return "running as root and runuser is missing"
    return None


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return not Path(f"/tmp/.s.PGSQL.{port}").exists()


class PrivateCluster:
    """A throw-away PostgreSQL cluster: initdb in a temporary directory, its own port and socket directory.

    As root, initdb and pg_ctl run as the ``postgres`` user (they refuse root) with ``runuser``.
    """

    def __init__(self, first_port: int = 55432) -> None:
        self.bin = pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="painpath-faults-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgresql.log"
        self.port = next(p for p in range(first_port, first_port + 200) if _port_free(p))
        self.running = False

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        assert self.bin is not None
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}\n"
                               f"{self.log_tail()}")
        return out

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def start(self) -> PrivateCluster:
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync", "--no-instructions")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.data}'\n"
                    "max_connections = 60\nshared_buffers = 16MB\nfsync = on\nsynchronous_commit = on\n")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.running = True
        return self

    def restart(self, down: float = 0.0, mode: str = "fast") -> None:
        """``pg_ctl stop -m MODE``, stay down ``down`` seconds, start again.

        ``fast`` is a clean shutdown (a checkpoint is written); ``immediate`` makes every PostgreSQL process quit at
        once with no checkpoint, as after a crash, so the next start replays the write-ahead log.
        """
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        if down > 0:
            time.sleep(down)
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self) -> None:
        if self.running:
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
            self.running = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        eng = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with eng.connect() as c:
                c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            eng.dispose()
        return self.url(name)

    def __enter__(self) -> PrivateCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def pg_restart(data_dir: Path, *, pre: float = 1.5, post: float = 4.0, writers: int = 6,
               down: float = 0.0, mode: str = "fast", min_writes: int = 0) -> dict[str, Any]:
    """c: PostgreSQL stopped (``pg_ctl stop -m fast``, or ``-m immediate``: a crash) and started under load;
    ``down`` > 0 keeps it stopped that long in between; ``min_writes`` acknowledged writes before the fault."""
    name = "c pg-crash" if mode == "immediate" else "c pg-restart" if down <= 0 else f"c pg-down-{down:g}s"
    res: dict[str, Any] = {"scenario": name, "database": "postgresql (private cluster)", "problems": []}
    with PrivateCluster() as cluster:
        url = cluster.create_database("painpath_faults")
        server = Server(data_dir, url, workers=2, log_name="pg-restart")
        server.start()
        try:
            wait_workers_ready(server, 2)
            pids = workers_of(server)
            stream = Stream(server.url, writers=writers, readers=1).start()
            stream.write_for(pre, min_writes)
            t0 = time.monotonic()
            cluster.restart(down, mode)
            t_up = time.monotonic()
            time.sleep(post)
            stream.stop()
            with httpx.Client(base_url=server.url, timeout=15) as c:
                check = verify_ledger(c, stream.ledger)
            ev = outcomes(stream.events, t0)
            engine = ev["by_op"].get("engine", {})
            res.update(port=cluster.port, pg_restart_s=round(t_up - t0, 2), acknowledged_writes=stream.acknowledged,
                       unacknowledged_writes_landed=stream.unacknowledged_landed, client_view=ev, verify=check,
                       workers_before=pids, workers_after=workers_of(server),
                       server_alive=server.proc is not None and server.proc.poll() is None,
                       recovered_after_pg_up_s=round(t0 + ev["recovered_s"] - t_up, 3)
                       if ev.get("recovered_s") is not None else None,
                       engine_requests=engine)
            res["problems"] = stream.problems + check["problems"]
            if mode == "immediate":
                # the proof that this start was a crash recovery: PostgreSQL replayed its write-ahead log
                log = cluster.log.read_text(errors="replace")
                res["wal_replayed"] = "automatic recovery in progress" in log and "redo done" in log
                if not res["wal_replayed"]:
                    res["problems"].append("PostgreSQL's log shows no crash recovery (WAL replay) after -m immediate")
            if ev["other_statuses"]:
                res["problems"].append(f"unexpected statuses (a 5xx other than 503 is a bug): {ev['other_statuses']}")
            if ev["failures_before_fault"]:
                res["problems"].append(f"{ev['failures_before_fault']} failures before the restart")
            if ev.get("recovered_s") is None:
                res["problems"].append("no successful write after the last failure: the app did not recover")
            elif ev["last_failure_s"] is not None and ev["last_failure_s"] > (t_up - t0) + 1.0:
                res["problems"].append(f"requests still failed {ev['last_failure_s']} s after the restart began "
                                       f"(PostgreSQL was back after {t_up - t0:.2f} s)")
            if set(res["workers_after"]) != set(pids) or not res["server_alive"]:
                res["problems"].append("the app's processes changed: it was restarted, not recovered")
            if set(engine) - {"ok"}:
                res["problems"].append(f"engine endpoints (no database) failed during the restart: {engine}")
        finally:
            server.stop()
    return res


# --- d: read-only and full databases -------------------------------------------------------------------------

@contextlib.contextmanager
def app_client(url: str, data_dir: Path, hook: Any = None) -> Iterator[Any]:
    """The real app in-process on ``url`` (TestClient; server exceptions become 500 answers, as in production)."""
    from fastapi.testclient import TestClient

    from painpath.api.app import create_app
    from painpath.config import Settings
    from painpath.storage.db import Database

    db = Database(url)
    if hook is not None:
        hook(db)
    settings = Settings(data_dir=data_dir, database_url=url, auto_migrate=False)
    try:
        with TestClient(create_app(settings, db=db), raise_server_exceptions=False) as c:
            yield c
    finally:
        db.dispose()


def write_some(client: Any, n: int, rng: random.Random, ledger: dict[str, Expected], keys: list[str],
               updates: int = 2) -> Counter[str]:
    """Create ``n`` assessments with ``updates`` answer updates each; acknowledged ones go to ``ledger``.

    Stops an assessment at its first failed write (left pending). Returns the statuses seen.
    """
    seen: Counter[str] = Counter()
    for _ in range(n):
        r = client.post("/v1/assessments", json={"age": rng.randint(18, 90), "sex": rng.choice(["female", "male"])})
        seen[str(r.status_code)] += 1
        if r.status_code != 201:
            _expect_503(r, seen)
            continue
        aid, exp = r.json()["assessment"]["id"], Expected(token=r.json()["patient_token"])
        ledger[aid] = exp
        for _ in range(updates):
            answers = {k: rng.choice(ANSWER_VALUES) for k in rng.sample(keys, rng.randint(1, 4))}
            exp.pending = (exp.revision + 1, {**exp.answers, **answers})
            r = client.put(f"/v1/assessments/{aid}/answers", headers={"Authorization": f"Bearer {exp.token}"},
                           json={"answers": answers, "revision": exp.revision})
            seen[str(r.status_code)] += 1
            if r.status_code != 200:
                _expect_503(r, seen)
                break
            exp.revision, exp.answers = exp.pending
            exp.pending = None
    return seen


def _expect_503(r: Any, seen: Counter[str]) -> None:
    if r.status_code == 503:
        problem = check_503(r)
        if problem:
            seen["unclear_503"] += 1
        else:
            seen["reason:" + r.json()["detail"].split("(", 1)[1].split(")", 1)[0]] += 1


def reads_during_fault(client: Any, ledger: dict[str, Expected]) -> dict[str, Any]:
    """Reads of stored records (patient tokens), the engine and health while the fault lasts."""
    reads = Counter(str(client.get(f"/v1/assessments/{aid}", headers={"Authorization": f"Bearer {e.token}"}).status_code)
                    for aid, e in list(ledger.items())[:20])
    engine = client.post("/v1/interview/start", json={"age": 50, "sex": "female"}).status_code
    health = client.get("/v1/health").status_code
    return {"record_reads": dict(reads), "engine": engine, "health": health}


def writes_while_read_only(client: Any, rng: random.Random, ledger: dict[str, Expected],
                           keys: list[str]) -> Counter[str]:
    """5 new assessments and an update of 5 existing ones (not only creates); the statuses seen."""
    during = write_some(client, 5, rng, {}, keys)
    for aid, exp in list(ledger.items())[:5]:
        r = client.put(f"/v1/assessments/{aid}/answers", headers={"Authorization": f"Bearer {exp.token}"},
                       json={"answers": {keys[0]: "present"}, "revision": exp.revision})
        during[str(r.status_code)] += 1
        _expect_503(r, during)
    return during


def integrity(path: Path) -> str:
    import sqlite3

    con = sqlite3.connect(path)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def _after_fault(res: dict[str, Any], client: Any, ledger: dict[str, Expected], rng: random.Random,
                 keys: list[str]) -> None:
    res["verify"] = check = verify_ledger(client, ledger)
    res["problems"] += check["problems"]
    again = write_some(client, 2, rng, {}, keys, updates=1)
    res["writes_after_fault_removed"] = dict(again)
    if set(again) != {"201", "200"}:
        res["problems"].append(f"writes do not work again after the fault was removed: {dict(again)}")


def _judge_fault(res: dict[str, Any], during: Counter[str], reads: dict[str, Any], reason: str) -> None:
    res["writes_during_fault"] = dict(during)
    res["reads_during_fault"] = reads
    if during.get("503", 0) == 0:
        res["problems"].append("no write got 503 during the fault")
    bad = {k: v for k, v in during.items() if k not in ("200", "201", "503") and not k.startswith("reason:")}
    if bad:
        res["problems"].append(f"writes during the fault answered {bad} (only 2xx or a clear 503 are right)")
    if during.get("503", 0) and not during.get(f"reason:{reason}"):
        res["problems"].append(f"the 503s do not say '{reason}': {dict(during)}")
    if set(reads["record_reads"]) != {"200"} or reads["engine"] != 200 or reads["health"] != 200:
        res["problems"].append(f"reads during the fault failed: {reads}")


def sqlite_read_only(data_dir: Path, seed: int = 3) -> dict[str, Any]:
    from painpath.storage.db import upgrade

    res: dict[str, Any] = {"scenario": "d1 sqlite-read-only", "database": "sqlite", "problems": []}
    rng, keys, ledger = random.Random(seed), _finding_keys(), {}
    path = data_dir / "painpath.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    with app_client(url, data_dir) as c:
        res["writes_before"] = dict(write_some(c, 10, rng, ledger, keys))
    ro_url = f"sqlite:///file:{path}?mode=ro&uri=true"
    res["read_only_url"] = ro_url
    with app_client(ro_url, data_dir) as c:
        _judge_fault(res, writes_while_read_only(c, rng, ledger, keys), reads_during_fault(c, ledger), "read-only")
    res["integrity_check"] = integrity(path)
    if res["integrity_check"] != "ok":
        res["problems"].append(f"integrity_check: {res['integrity_check']}")
    with app_client(url, data_dir) as c:
        _after_fault(res, c, ledger, rng, keys)
    return res


def sqlite_full(data_dir: Path, *, method: str = "page-limit", seed: int = 4) -> dict[str, Any]:
    """Fill the database until writes fail; ``method`` 'page-limit' (PRAGMA max_page_count) or 'tmpfs' (root)."""
    from sqlalchemy import event

    from painpath.storage.db import upgrade

    res: dict[str, Any] = {"scenario": f"d2 sqlite-full ({method})", "database": "sqlite", "problems": []}
    rng, keys, ledger = random.Random(seed), _finding_keys(), {}
    mount = data_dir / "tmpfs"
    if method == "tmpfs":
        mount.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True, capture_output=True)
        path = mount / "painpath.sqlite3"
    else:
        path = data_dir / "painpath.sqlite3"
    url = f"sqlite:///{path}"
    try:
        upgrade(url)
        with app_client(url, data_dir) as c:
            res["writes_before"] = dict(write_some(c, 10, rng, ledger, keys))
        hook = None
        if method == "page-limit":
            import sqlite3

            con = sqlite3.connect(path)
            pages = con.execute("PRAGMA page_count").fetchone()[0]
            con.close()
            limit = pages + 16
            res["max_page_count"] = limit

            def hook(db: Any) -> None:  # test-only: every new connection of both engines gets the page limit
                for engine in {db.engine, db._write_engine}:
                    event.listen(engine, "connect",
                                 lambda dbapi_conn, _rec: dbapi_conn.execute(f"PRAGMA max_page_count = {limit}"))

        with app_client(url, data_dir, hook) as c:
            during: Counter[str] = Counter()
            for _ in range(400):  # write until the database is full, then a few more
                seen = write_some(c, 1, rng, ledger, keys, updates=3)
                during.update(seen)
                if during.get("503", 0) >= 8:
                    break
            _judge_fault(res, during, reads_during_fault(c, ledger), "disk full")
        if method == "tmpfs":
            res["tmpfs_df"] = subprocess.run(["df", "-k", str(mount)], capture_output=True, text=True).stdout.split("\n")[1]
            subprocess.run(["mount", "-o", "remount,size=16m", str(mount)], check=True, capture_output=True)
        res["integrity_check"] = integrity(path)
        if res["integrity_check"] != "ok":
            res["problems"].append(f"integrity_check: {res['integrity_check']}")
        with app_client(url, data_dir) as c:
            _after_fault(res, c, ledger, rng, keys)
        res["acknowledged_assessments"] = len(ledger)
    finally:
        if method == "tmpfs":
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
    return res


def pg_read_only(data_dir: Path, admin_url: str = PG_ADMIN_URL, seed: int = 5) -> dict[str, Any]:
    import sqlalchemy as sa

    from painpath.storage.db import upgrade

    res: dict[str, Any] = {"scenario": "d3 pg-read-only", "database": "postgresql", "problems": []}
    rng, keys, ledger = random.Random(seed), _finding_keys(), {}
    url, drop = fresh_postgres(admin_url, "painpath_faults")
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def set_read_only(on: bool) -> int:
        with admin.connect() as a:
            a.execute(sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}'))
            # existing sessions keep their setting: end them, the app's pool reconnects (pool_pre_ping)
            return int(a.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                         "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": name}).scalar_one())

    try:
        upgrade(url)
        with app_client(url, data_dir) as c:
            res["writes_before"] = dict(write_some(c, 10, rng, ledger, keys))
            res["sessions_terminated"] = set_read_only(True)
            _judge_fault(res, writes_while_read_only(c, rng, ledger, keys), reads_during_fault(c, ledger), "read-only")
            set_read_only(False)
            _after_fault(res, c, ledger, rng, keys)  # the same app, without a restart
    finally:
        admin.dispose()
        drop()
    return res


def pg_full(data_dir: Path, *, size_mb: int = 32, leave_kb: int = 256, seed: int = 6) -> dict[str, Any]:
    """d4: PostgreSQL runs out of disk. A private cluster whose app database lives in a tablespace on a small
    tmpfs (root only); a filler file leaves ``leave_kb`` free, writes go on until the tablespace is full, then the
    filler is deleted and the SAME app writes again. The write-ahead log stays on the big disk, so this is the
    common case of a full data volume (a full WAL volume makes PostgreSQL stop: that is scenario c's outage)."""
    import sqlalchemy as sa

    from painpath.storage.db import upgrade

    res: dict[str, Any] = {"scenario": "d4 pg-full (tmpfs tablespace)", "database": "postgresql (private cluster)",
                           "problems": []}
    rng, keys, ledger = random.Random(seed), _finding_keys(), {}
    with PrivateCluster() as cluster:
        mount = cluster.dir / "small"
        mount.mkdir()
        pw = pwd.getpwnam("postgres")
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700,uid={pw.pw_uid},gid={pw.pw_gid}",
                        "tmpfs", str(mount)], check=True, capture_output=True)
        try:
            admin = sa.create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as a:
                    a.execute(sa.text(f"CREATE TABLESPACE small LOCATION '{mount}'"))
                    a.execute(sa.text("CREATE DATABASE painpath_full TABLESPACE small"))
            finally:
                admin.dispose()
            url = cluster.url("painpath_full")
            upgrade(url)
            with app_client(url, data_dir) as c:
                res["writes_before"] = dict(write_some(c, 10, rng, ledger, keys))
                filler = mount / "filler"
                st = os.statvfs(mount)
                room = st.f_bavail * st.f_frsize - leave_kb * 1024
                with open(filler, "wb") as f:
                    block = b"\0" * 2**20
                    while room > 0:
                        room -= f.write(block[:min(room, len(block))])
                st = os.statvfs(mount)
                res["free_kb_left"] = st.f_bavail * st.f_frsize // 1024
                during: Counter[str] = Counter()
                for _ in range(2000):  # write until the tablespace is full, then a few more
                    during.update(write_some(c, 1, rng, ledger, keys, updates=3))
                    if during.get("503", 0) >= 8:
                        break
                _judge_fault(res, during, reads_during_fault(c, ledger), "disk full")
                filler.unlink()
                probe = sa.create_engine(cluster.url())
                try:
                    with probe.connect() as conn:  # the cluster itself stayed up
                        res["postgres_up_after"] = conn.execute(sa.text("SELECT 1")).scalar_one() == 1
                finally:
                    probe.dispose()
                _after_fault(res, c, ledger, rng, keys)  # the same app, without a restart
            res["acknowledged_assessments"] = len(ledger)
        finally:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
    return res


def tmpfs_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "a real full disk needs root to mount a small tmpfs"
    probe = Path(tempfile.mkdtemp(prefix="painpath-tmpfs-probe-"))
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True, text=True)
        if r.returncode != 0:
            return f"cannot mount a tmpfs here: {r.stderr.strip()}"
        subprocess.run(["umount", str(probe)], capture_output=True)
        return None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


# --- command line --------------------------------------------------------------------------------------------

def run_all(only: set[str], dbs: list[str], *, short: bool, pg_admin_url: str, tmpfs: bool) -> list[dict[str, Any]]:
    pre, post, write_s = (1.5, 4.0, 1.5) if short else (3.0, 8.0, 3.0)
    results: list[dict[str, Any]] = []

    def one(fn: Any, *args: Any, **kw: Any) -> None:
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="painpath-faults-") as tmp:
            try:
                r = fn(Path(tmp), *args, **kw)
            except Exception as exc:  # noqa: BLE001 - report and go on with the other scenarios
                r = {"scenario": fn.__name__, "problems": [f"{type(exc).__name__}: {exc}"]}
        r["seconds"] = round(time.monotonic() - t0, 1)
        results.append(r)

    def with_db(fn: Any, db: str, **kw: Any) -> None:
        if db == "sqlite":
            one(fn, **kw)
            return
        url, drop = fresh_postgres(pg_admin_url, "painpath_faults")
        try:
            one(fn, url, **kw)
        finally:
            drop()

    if "a" in only:
        for db in dbs:
            with_db(worker_kill, db, pre=pre, post=post)
    if "b" in only:
        for db in dbs:
            with_db(server_kill, db, write_seconds=write_s)
    if "c" in only:
        why = private_cluster_unavailable()
        if why:
            results.append({"scenario": "c pg-restart", "skipped": why, "problems": []})
        else:
            one(pg_restart, pre=pre, post=post)
            one(pg_restart, pre=pre, post=post, mode="immediate")
            if not short:
                one(pg_restart, pre=pre, post=post, down=3.0)
    if "d" in only:
        one(sqlite_read_only)
        one(sqlite_full, method="page-limit")
        if tmpfs:
            why = tmpfs_unavailable()
            if why:
                results.append({"scenario": "d2 sqlite-full (tmpfs)", "skipped": why, "problems": []})
            else:
                one(sqlite_full, method="tmpfs")
        one(pg_read_only, pg_admin_url)
        if tmpfs:
            why = tmpfs_unavailable() or private_cluster_unavailable()
            if why:
                results.append({"scenario": "d4 pg-full (tmpfs tablespace)", "skipped": why, "problems": []})
            else:
                one(pg_full)
    return results


def line(r: dict[str, Any]) -> str:
    verdict = "skipped: " + r["skipped"] if r.get("skipped") else "OK" if not r["problems"] else \
        f"FAILED ({len(r['problems'])} problems)"
    cv, v = r.get("client_view", {}), r.get("verify", {})
    parts = [f"{r['scenario']} [{r.get('database', '')}]"]
    if "acknowledged_writes" in r:
        parts.append(f"{r['acknowledged_writes']} acknowledged writes")
    if cv:
        parts.append(f"{cv['status_503']} x 503, {cv['transport_errors']} transport errors"
                     + (f", other {cv['other_statuses']}" if cv["other_statuses"] else ""))
    if r.get("replacement_ready_after_s") is not None:
        parts.append(f"worker replaced, serving after {r['replacement_ready_after_s']} s")
    if "wal_replayed" in r:
        parts.append(f"pg_ctl stop -m immediate (a crash), WAL replayed on start {r['wal_replayed']}")
    if "pg_restart_s" in r:
        parts.append(f"pg_ctl stop+start {r['pg_restart_s']} s, writes recovered {cv.get('recovered_s')} s after it began "
                     f"({r.get('recovered_after_pg_up_s')} s after PostgreSQL was back), same worker pids "
                     f"{set(r['workers_after']) == set(r['workers_before'])}")
    if "writes_during_fault" in r:
        parts.append(f"writes during fault {r['writes_during_fault']}, reads {r['reads_during_fault']}")
    if "integrity_check" in r:
        parts.append(f"integrity_check {r['integrity_check']}")
    if v:
        parts.append(f"read back {v['assessments_checked']}, lost {v['lost_or_wrong']}, unresolved landed "
                     f"{v['unresolved_writes_landed']}/not {v['unresolved_writes_not_landed']}")
    return "; ".join(parts) + f" -> {verdict} [{r.get('seconds', 0)} s]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="a,b,c,d", help="comma-separated scenarios: a, b, c, d")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both", help="for a and b")
    ap.add_argument("--short", action="store_true", help="short versions (as in tests/reliability)")
    ap.add_argument("--tmpfs", action="store_true",
                    help="d2 also on a real 2 MiB tmpfs, and d4 (PostgreSQL tablespace on a small tmpfs); root")
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    only = {s.strip() for s in a.only.split(",") if s.strip()}
    dbs = ["sqlite", "postgresql"] if a.db == "both" else [a.db]
    results = run_all(only, dbs, short=a.short, pg_admin_url=a.pg_admin_url, tmpfs=a.tmpfs)
    if a.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        for r in results:
            print(line(r))
            for p in r["problems"][:10]:
                print("   ", p)
    sys.exit(1 if any(r["problems"] for r in results) else 0)


if __name__ == "__main__":
    main()
