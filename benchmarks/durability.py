"""Crash durability: every write the server acknowledged survives a SIGKILL of the server.

Starts the real server (``python -m painpath serve``) as a subprocess in its own process group, streams
writes at it one after another (create a stored assessment, then PUT answers to it several times, with
the expected ``revision`` each time), records every write that got a 2xx answer together with what was
written, SIGKILLs the whole process group after ``--seconds`` of writing (usually in the middle of a
request), restarts the server on the same database and reads every assessment back with its patient
token. Each one must be exactly at its last acknowledged revision with exactly the acknowledged answers;
only the one write that was in flight at the kill may have landed as well (it was never acknowledged,
so either outcome is correct).

What this proves: the API acknowledges a write only after its transaction committed, and a committed
transaction survives the death of every server process. A SIGKILL leaves the operating system's page
cache intact, so it does not test a power cut (that is what SQLite ``synchronous=FULL`` and PostgreSQL's
``fsync``/``synchronous_commit`` are for, and they are on).

Usage:
    python benchmarks/durability.py                      # SQLite and PostgreSQL (fresh database)
    python benchmarks/durability.py --db sqlite --seconds 3 --workers 2 --json
PostgreSQL: ``--pg-admin-url`` (default $PAINPATH_TEST_PG or postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
a database ``painpath_durability_<random>`` is created for the run and dropped after it.

``Server`` (start, wait until healthy, kill or stop the whole process group) is shared with bench_api.py.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

PG_ADMIN_URL = os.environ.get("PAINPATH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
_LIVE: set[Server] = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m painpath serve`` in its own process group; always stopped by ``stop()`` / the with-block."""

    def __init__(self, data_dir: Path, database_url: str | None = None, *, workers: int = 1, log_name: str = "server",
                 env: dict[str, str] | None = None) -> None:
        self.data_dir, self.database_url, self.workers = Path(data_dir), database_url, workers
        self.log_path = self.data_dir / f"{log_name}.log"
        self.extra_env = env or {}
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PAINPATH_")}
        # a load generator is one client starting many assessments with one intake code: no intake limit
        env.update(PAINPATH_DATA_DIR=str(self.data_dir), PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1",
                   OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", PAINPATH_INTAKE_PER_CLIENT="100000000",
                   PAINPATH_INTAKE_PER_CODE="100000000",
                   PAINPATH_ANONYMOUS_PER_CLIENT="100000000")
        env.update(self.extra_env)
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        cmd = [sys.executable, "-m", "painpath", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", str(self.workers)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)  # own process group: killpg reaches the workers
        _LIVE.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} while starting:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _signal_group(self, sig: int) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL the server and all its workers at once (a crash); waits until they are gone."""
        self._signal_group(signal.SIGKILL)
        self._reap(10.0)

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL whatever is left of the process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)  # workers that outlived their parent, if any
        self._reap(10.0)

    def _reap(self, timeout: float) -> None:
        assert self.proc is not None
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # until no process of the group is left (workers reparented to init)
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                break
            time.sleep(0.02)
        _LIVE.discard(self)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:  # last resort, e.g. after an interrupted run
    for server in list(_LIVE):
        server.stop()


# --- the write stream -------------------------------------------------------------------------------

ANSWER_VALUES = ("present", "absent", "unknown")


@dataclass
class Expected:
    token: str
    revision: int = 0
    answers: dict[str, str] = field(default_factory=dict)
    pending: tuple[int, dict[str, str]] | None = None  # the write in flight at the kill (never acknowledged)


@dataclass
class Result:
    database: str
    write_seconds: float
    acknowledged_creates: int
    acknowledged_updates: int
    acknowledged_writes: int
    assessments_checked: int
    in_flight_write_landed: bool | None
    problems: list[str]
    seconds_total: float


def _finding_keys() -> list[str]:
    from painpath.engine import default_compiled

    findings = default_compiled().kb.findings.findings
    return [k for k, f in findings.items() if f.kind != "sign"]  # examination signs are not answered in self mode


def stream_writes(base_url: str, kill: Any, *, kill_after: float, seed: int = 7, updates_per_assessment: int = 4,
                  max_seconds: float = 30.0, min_writes: int = 0) -> tuple[dict[str, Expected], int, int]:
    """Write until the server dies (``kill`` is called from another thread ``kill_after`` seconds in, or later,
    once ``min_writes`` writes are acknowledged, so that a slow machine does the same work before the kill).

    Returns the expected state of every assessment whose creation was acknowledged, and the numbers of
    acknowledged creates and updates. Any non-2xx answer before the kill is an error.
    """
    rng = random.Random(seed)
    keys = _finding_keys()
    ledger: dict[str, Expected] = {}
    creates = updates = 0
    done = threading.Event()

    def killer() -> None:
        if done.wait(kill_after):
            return
        while creates + updates < min_writes and time.monotonic() < t_end - 5:
            if done.wait(0.05):
                return
        kill()

    timer = threading.Thread(target=killer, daemon=True)
    t_end = time.monotonic() + max_seconds
    with httpx.Client(base_url=base_url, timeout=10) as client:
        timer.start()
        try:
            while time.monotonic() < t_end:
                try:
                    r = client.post("/v1/assessments", json={"age": rng.randint(18, 90),
                                                             "sex": rng.choice(["female", "male"])})
                except httpx.TransportError:
                    break
                if r.status_code != 201:
                    raise RuntimeError(f"create answered {r.status_code}: {r.text[:300]}")
                body = r.json()
                exp = Expected(token=body["patient_token"])
                ledger[body["assessment"]["id"]] = exp
                creates += 1
                aid, headers = body["assessment"]["id"], {"Authorization": f"Bearer {exp.token}"}
                dead = False
                for _ in range(updates_per_assessment):
                    answers = {k: rng.choice(ANSWER_VALUES) for k in rng.sample(keys, rng.randint(1, 4))}
                    exp.pending = (exp.revision + 1, {**exp.answers, **answers})
                    try:
                        r = client.put(f"/v1/assessments/{aid}/answers", headers=headers,
                                       json={"answers": answers, "revision": exp.revision})
                    except httpx.TransportError:
                        dead = True
                        break
                    if r.status_code != 200:
                        raise RuntimeError(f"PUT answers answered {r.status_code}: {r.text[:300]}")
                    got = r.json()
                    exp.revision, exp.answers = exp.pending
                    exp.pending = None
                    if got["revision"] != exp.revision or _answers(got) != exp.answers:
                        raise RuntimeError(f"PUT answers on {aid} answered a state that is not what was written")
                    updates += 1
                if dead:
                    break
        finally:
            done.set()
            timer.join(10)
    return ledger, creates, updates


def _answers(assessment: dict[str, Any]) -> dict[str, str]:
    return {a["finding"]: a["value"] for a in assessment["state"]["answers"]}


def verify(base_url: str, ledger: dict[str, Expected]) -> tuple[list[str], bool | None]:
    """Read every assessment back; the problems found, and whether the in-flight write (if any) landed."""
    problems: list[str] = []
    landed: bool | None = None
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for aid, exp in ledger.items():
            r = client.get(f"/v1/assessments/{aid}", headers={"Authorization": f"Bearer {exp.token}"})
            if r.status_code != 200:
                problems.append(f"{aid}: acknowledged, but reading it back answered {r.status_code}")
                continue
            got = (r.json()["revision"], _answers(r.json()))
            if got == (exp.revision, exp.answers):
                if exp.pending is not None:
                    landed = False
            elif exp.pending is not None and got == exp.pending:
                landed = True
            else:
                problems.append(f"{aid}: acknowledged revision {exp.revision} with {len(exp.answers)} answers, "
                                f"read back revision {got[0]} with {len(got[1])} answers")
    return problems, landed


def run(data_dir: Path, database_url: str | None = None, *, write_seconds: float = 1.5, workers: int = 1,
        seed: int = 7, min_writes: int = 0) -> Result:
    """One crash-and-recover round on one database (SQLite in ``data_dir`` unless ``database_url``)."""
    t0 = time.monotonic()
    kind = "postgresql" if database_url else "sqlite"
    first = Server(data_dir, database_url, workers=workers, log_name=f"{kind}-before-kill")
    second = Server(data_dir, database_url, workers=workers, log_name=f"{kind}-after-restart")
    try:
        first.start()
        ledger, creates, updates = stream_writes(first.url, first.kill, kill_after=write_seconds, seed=seed,
                                                 min_writes=min_writes)
        first.kill()
        second.start()
        problems, landed = verify(second.url, ledger)
    finally:
        first.stop()
        second.stop()
    if not ledger:
        problems.append("no write was acknowledged before the kill")
    return Result(database=kind, write_seconds=write_seconds, acknowledged_creates=creates,
                  acknowledged_updates=updates, acknowledged_writes=creates + updates, assessments_checked=len(ledger),
                  in_flight_write_landed=landed, problems=problems, seconds_total=round(time.monotonic() - t0, 2))


def new_clinic(url: str, slug: str, password: str) -> dict[str, str]:
    """A clinic with one clinician (email ``clinician@<slug>.example.org``) in the database at ``url``."""
    from painpath.storage import accounts
    from painpath.storage.db import Database

    db = Database(url)
    email = f"clinician@{slug}.example.org"
    try:
        with db.write() as s:
            clinic = accounts.create_clinic(s, slug, f"Clinic {slug}")
            accounts.create_user(s, clinic, email, password)
            return {"intake_code": clinic.intake_code, "email": email, "password": password}
    finally:
        db.dispose()


def fresh_postgres(admin_url: str, prefix: str = "painpath_durability") -> tuple[str, Any]:
    """CREATE DATABASE <prefix>_<random>; returns its URL and a function that drops it (shared by the benchmarks)."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--seconds", type=float, default=1.5, help="how long to write before the SIGKILL")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    results = []
    for kind in (["sqlite", "postgresql"] if a.db == "both" else [a.db]):
        with tempfile.TemporaryDirectory(prefix="painpath-durability-") as tmp:
            if kind == "sqlite":
                results.append(run(Path(tmp), write_seconds=a.seconds, workers=a.workers, seed=a.seed))
            else:
                url, drop = fresh_postgres(a.pg_admin_url)
                try:
                    results.append(run(Path(tmp), url, write_seconds=a.seconds, workers=a.workers, seed=a.seed))
                finally:
                    drop()
    if a.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for r in results:
            verdict = "OK" if not r.problems else f"FAILED ({len(r.problems)} problems)"
            print(f"{r.database}: {r.acknowledged_writes} acknowledged writes ({r.acknowledged_creates} creates, "
                  f"{r.acknowledged_updates} answer updates) in {r.write_seconds} s, SIGKILL, restart: "
                  f"{r.assessments_checked} assessments read back, in-flight write landed: {r.in_flight_write_landed}"
                  f" -> {verdict} [{r.seconds_total} s]")
            for p in r.problems[:20]:
                print("   ", p)
    sys.exit(1 if any(r.problems for r in results) else 0)


if __name__ == "__main__":
    main()
