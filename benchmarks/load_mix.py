"""A realistic request mix against the real server on PostgreSQL, then a check that no acknowledged write was lost.

Starts ``painpath serve --workers N`` on a fresh PostgreSQL database (``CREATE DATABASE painpath_loadmix_<random>``
on the cluster of ``--pg-admin-url``, dropped afterwards), creates one clinic with a clinician, and drives the
server for ``--duration`` seconds from a SEPARATE load-generator process with this mix of requests:

  ~40% stored interviews   POST /v1/assessments (with the clinic's intake code) -> 3-5 x PUT .../answers
                           (the items of the question the record asks next, with the expected ``revision``)
                           -> POST .../finish -> GET .../{id}, each step one request, with the patient token
  ~30% POST /v1/assess     a dev benchmark case (../shared/benchmark/dev; synthetic cases if it is absent)
  ~20% POST /v1/interview/next   an interview state 0-6 screens in (built with painpath.interview)
  ~10% clinician reads     login once, then GET /v1/clinic/assessments?limit=20 and GET one of the listed records

Each of ``--connections`` virtual users draws the category of its next request with these weights, so the
shares hold per request (a stored interview advances one step whenever its user draws "stored").

The generator is Python (asyncio + httpx, one process, ``--connections`` keep-alive connections), not wrk or
locust: the stored flow is stateful (ids, patient tokens and revisions come from earlier answers) and every
acknowledged write must be logged for the lost-write check; wrk's Lua callbacks cannot tell connections apart
and locust is not a dependency. Its CPU time is reported, because on a small machine it shares the cores with
the server.

Every 2xx answer to a write (create, PUT answers, finish) is appended to a log (id, revision, what was
written). After the run the log is replayed and every assessment is read straight from the database: it must
be at its last acknowledged revision with exactly the acknowledged answers (and finished if the finish was
acknowledged). A write whose request failed is "pending": it may or may not have landed.

Usage:
    python benchmarks/load_mix.py                          # 60 s, 2 workers, 32 connections
    python benchmarks/load_mix.py --short --json           # ~10 s (CI)
    python benchmarks/load_mix.py --duration 30 --workers 4 --connections 64
PostgreSQL admin URL: ``--pg-admin-url`` (default $PAINPATH_TEST_PG or
postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEV = HERE.parent.parent / "shared" / "benchmark" / "dev"
sys.path.insert(0, str(HERE))
from bench_api import connections_per_worker  # noqa: E402
from durability import PG_ADMIN_URL, Server, fresh_postgres, new_clinic  # noqa: E402  (start/stop the server's whole process group)

MIX = {"stored": 0.40, "assess": 0.30, "next": 0.20, "clinician": 0.10}
PASSWORD = "load mix password 1234"


# --- set-up (orchestrator) ------------------------------------------------------------------------------

def assess_bodies(n_synthetic: int = 50, seed: int = 1) -> list[dict[str, Any]]:
    """Bodies for POST /v1/assess: the dev benchmark cases, else synthetic ones from the knowledge base."""
    import yaml

    files = sorted(DEV.glob("*.yaml")) if DEV.is_dir() else []
    if files:
        out = []
        for f in files:
            case = yaml.safe_load(f.read_text())
            out.append({"age": case["age"], "sex": case["sex"], "findings": case["findings"],
                        "unlisted": "absent"})  # a case file: its own rule
        return out
    from painpath.engine import default_compiled

    rng = random.Random(seed)
    keys = [k for k, f in default_compiled().kb.findings.findings.items() if f.kind != "sign"]
    return [{"age": rng.randint(18, 90), "sex": rng.choice(["female", "male"]),
             "findings": {k: rng.random() < 0.3 for k in rng.sample(keys, 12)}} for _ in range(n_synthetic)]


def interview_states(n: int = 200, seed: int = 2) -> list[dict[str, Any]]:
    """Interview states 0-6 screens in, answered at random (bodies for POST /v1/interview/next)."""
    from painpath.engine import default_compiled
    from painpath.interview import answer, next_step, start

    ckb = default_compiled()
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        st = start(rng.randint(18, 90), rng.choice(["female", "male"]))
        for _ in range(rng.randint(0, 6)):
            step = next_step(st, ckb)
            if step.question is None:
                break
            st = answer(st, {k: random_value(rng) for k in step.question.findings}, ckb, screen=step.question.screen)
        out.append({"state": st.model_dump(mode="json")})
    return out


def random_value(rng: random.Random) -> str:
    return rng.choices(["present", "absent", "unknown"], weights=[3, 6, 1])[0]


# --- the load generator (child process) -----------------------------------------------------------------

class Stats:
    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, Counter[int]] = defaultdict(Counter)
        self.transport: Counter[str] = Counter()
        self.samples: list[str] = []

    def record(self, cat: str, seconds: float, status: int | None, text: str = "", error: str = "") -> None:
        if status is None:
            self.transport[error] += 1
            if len(self.samples) < 20:
                self.samples.append(f"{cat}: {error}")
            return
        self.lat[cat].append(seconds)
        self.status[cat][status] += 1
        if not 200 <= status < 300 and len(self.samples) < 20:
            self.samples.append(f"{cat}: {status} {text[:200]}")


class User:
    """One virtual user: its own stored interview in progress, and the shared clinician session."""

    def __init__(self, n: int, rng: random.Random) -> None:
        self.n, self.rng = n, rng
        self.aid: str | None = None
        self.token = ""
        self.revision = 0
        self.puts_left = 0
        self.next_question: dict[str, Any] | None = None
        self.finished = False
        self.listed: list[str] = []
        self.client: Any = None


async def generate(spec: dict[str, Any]) -> dict[str, Any]:
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        # httpcore tries ``import sniffio`` on every request; a failed import is not cached and scans sys.path
        # each time (~1 ms of CPU per request). None in sys.modules makes the import fail at once.
        sys.modules["sniffio"] = None  # type: ignore[assignment]
    import httpx

    base, conns, duration = spec["url"], spec["connections"], spec["duration"]
    bodies, states, clinic = spec["assess_bodies"], spec["states"], spec["clinic"]
    log = open(spec["ack_log"], "w", buffering=1 << 16)  # noqa: SIM115 - closed below
    stats = Stats()
    cats, weights = list(MIX), list(MIX.values())
    # one client (one keep-alive connection) per virtual user: httpcore's shared pool costs O(connections) per request
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = ssl.create_default_context()  # plain http, but httpx builds a TLS context per client unless given one

    def new_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base, limits=limits, timeout=30, verify=tls)

    async with new_client() as client:
        r = await client.post("/v1/auth/login", json={"email": clinic["email"], "password": clinic["password"]})
        r.raise_for_status()
        clinician = {"Authorization": f"Bearer {r.json()['token']}"}
    def ack(**entry: Any) -> None:
        log.write(json.dumps(entry) + "\n")

    async def request(u: User, cat: str, method: str, path: str, **kw: Any) -> httpx.Response | None:
        t0 = time.perf_counter()
        st = stats if t0 >= t_measure else warm
        try:
            resp = await u.client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            st.record(cat, time.perf_counter() - t0, None, error=type(exc).__name__)
            return None
        st.record(cat, time.perf_counter() - t0, resp.status_code, resp.text if resp.status_code >= 300 else "")
        return resp

    async def stored_step(u: User) -> None:
        if u.aid is None:  # create
            body = {"age": u.rng.randint(18, 90), "sex": u.rng.choice(["female", "male"]),
                    "intake_code": clinic["intake_code"]}
            resp = await request(u, "stored", "POST", "/v1/assessments", json=body)
            if resp is None or resp.status_code != 201:
                return
            data = resp.json()
            a = data["assessment"]
            u.aid, u.token, u.revision = a["id"], data["patient_token"], a["revision"]
            u.next_question = (a.get("next") or {}).get("question")
            u.puts_left, u.finished = u.rng.randint(3, 5), False
            ack(op="create", id=u.aid, revision=u.revision)
            return
        headers = {"Authorization": f"Bearer {u.token}"}
        if u.puts_left > 0 and u.next_question is not None:
            q = u.next_question
            answers = {i["finding"]: random_value(u.rng) for i in q["items"]}
            resp = await request(u, "stored", "PUT", f"/v1/assessments/{u.aid}/answers", headers=headers,
                                 json={"answers": answers, "screen": q["screen"], "revision": u.revision})
            if resp is None or resp.status_code != 200:
                ack(op="pending", id=u.aid, revision=u.revision + 1, answers=answers)
                u.aid = None  # abandon this interview: its last write may or may not have landed
                return
            a = resp.json()
            u.revision, u.next_question, u.puts_left = a["revision"], (a.get("next") or {}).get("question"), u.puts_left - 1
            ack(op="answers", id=u.aid, revision=u.revision, answers=answers)
            return
        if not u.finished:
            resp = await request(u, "stored", "POST", f"/v1/assessments/{u.aid}/finish", headers=headers)
            if resp is None or resp.status_code != 200:
                ack(op="pending", id=u.aid, revision=u.revision + 1, finish=True)
                u.aid = None
                return
            u.revision, u.finished = resp.json()["revision"], True
            ack(op="finish", id=u.aid, revision=u.revision)
            return
        await request(u, "stored", "GET", f"/v1/assessments/{u.aid}", headers=headers)
        u.aid = None  # the interview is complete; the next "stored" draw starts a new one

    async def clinician_step(u: User) -> None:
        if not u.listed:
            resp = await request(u, "clinician", "GET", "/v1/clinic/assessments", params={"limit": 20}, headers=clinician)
            if resp is not None and resp.status_code == 200:
                u.listed = [i["id"] for i in resp.json()["items"]][:3]
            return
        await request(u, "clinician", "GET", f"/v1/assessments/{u.listed.pop()}", headers=clinician)

    async def user(u: User) -> None:
        async with u.client:
            while time.perf_counter() < t_end:
                cat = u.rng.choices(cats, weights)[0]
                if cat == "stored":
                    await stored_step(u)
                elif cat == "assess":
                    await request(u, "assess", "POST", "/v1/assess", json=u.rng.choice(bodies))
                elif cat == "next":
                    await request(u, "next", "POST", "/v1/interview/next", json=u.rng.choice(states))
                else:
                    await clinician_step(u)

    users = [User(n, random.Random(spec["seed"] * 1000 + n)) for n in range(conns)]
    for u in users:
        u.client = new_client()
    warm = Stats()
    t_measure = time.perf_counter() + spec.get("warmup", 0.0)
    t_end = t_measure + duration
    cpu0 = time.process_time()
    await asyncio.gather(*(user(u) for u in users))
    seconds = time.perf_counter() - t_measure
    cpu = time.process_time() - cpu0
    log.close()
    out = summarise(stats, seconds, cpu)
    warm_sum = summarise(warm, max(1e-9, spec.get("warmup", 0.0)), 0.0)
    out["warmup"] = {"seconds": spec.get("warmup", 0.0), "requests": warm_sum["requests"], "errors": warm_sum["errors"],
                     "error_samples": warm_sum["error_samples"]}
    out["errors"] += warm_sum["errors"]  # an error during the warm-up is an error too
    return out


def _pct(lat: list[float], p: float) -> float | None:
    if not lat:
        return None
    s = sorted(lat)
    return round(s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000, 2)


def summarise(stats: Stats, seconds: float, cpu: float) -> dict[str, Any]:
    per: dict[str, Any] = {}
    all_lat: list[float] = []
    for cat in MIX:
        lat = stats.lat.get(cat, [])
        all_lat += lat
        codes = stats.status.get(cat, Counter())
        per[cat] = {"requests": len(lat), "p50_ms": _pct(lat, 50), "p99_ms": _pct(lat, 99),
                    "non_2xx": sum(v for k, v in codes.items() if not 200 <= k < 300),
                    "statuses": {str(k): v for k, v in sorted(codes.items())}}
    total = len(all_lat) + sum(stats.transport.values())
    non_2xx = sum(p["non_2xx"] for p in per.values())
    return {"seconds": round(seconds, 2), "requests": total, "rps": round(total / seconds, 1),
            "p50_ms": _pct(all_lat, 50), "p90_ms": _pct(all_lat, 90), "p99_ms": _pct(all_lat, 99),
            "max_ms": round(max(all_lat) * 1000, 1) if all_lat else None,
            "non_2xx": non_2xx, "transport_errors": sum(stats.transport.values()),
            "transport_by_kind": dict(stats.transport), "errors": non_2xx + sum(stats.transport.values()),
            "share": {c: round(per[c]["requests"] / max(1, len(all_lat)), 3) for c in MIX},
            "by_category": per, "error_samples": stats.samples, "generator_cpu_s": round(cpu, 1)}


# --- lost-write check -----------------------------------------------------------------------------------

def expected_from_log(path: Path) -> dict[str, dict[str, Any]]:
    """id -> {revision, answers, finished, pending} from the acknowledgement log."""
    exp: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        e = json.loads(line)
        if e["op"] == "create":
            exp[e["id"]] = {"revision": e["revision"], "answers": {}, "finished": False, "pending": None}
        elif e["op"] == "answers":
            x = exp[e["id"]]
            x["revision"] = e["revision"]
            x["answers"].update(e["answers"])
        elif e["op"] == "finish":
            exp[e["id"]].update(revision=e["revision"], finished=True)
        elif e["op"] == "pending":
            exp[e["id"]]["pending"] = e
    return exp


def check_writes(url: str, expected: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Compare every acknowledged write with what the database holds."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            rows = {r.id: r for r in c.execute(sa.text("SELECT id, revision, status, state FROM assessments"))}
    finally:
        engine.dispose()
    problems: list[str] = []
    pending_landed = pending_not_landed = 0
    for aid, x in expected.items():
        row = rows.get(aid)
        if row is None:
            problems.append(f"{aid}: creation acknowledged, not in the database")
            continue
        state = row.state if isinstance(row.state, dict) else json.loads(row.state)
        got_answers = {a["finding"]: a["value"] for a in state["answers"]}
        if row.revision == x["revision"] and got_answers == x["answers"] and (row.status == "finished") == x["finished"]:
            if x["pending"] is not None:
                pending_not_landed += 1
            continue
        p = x["pending"]
        if p is not None and row.revision == p["revision"]:
            want = {**x["answers"], **p.get("answers", {})}
            if got_answers == want and (row.status == "finished") == (x["finished"] or bool(p.get("finish"))):
                pending_landed += 1
                continue
        problems.append(f"{aid}: acknowledged revision {x['revision']} ({len(x['answers'])} answers, finished "
                        f"{x['finished']}), database has revision {row.revision} ({len(got_answers)} answers, "
                        f"status {row.status})")
    return {"assessments_acknowledged": len(expected), "assessments_in_db": len(rows),
            "lost_or_wrong": len(problems), "problems": problems[:20],
            "unacknowledged_writes_landed": pending_landed, "unacknowledged_writes_not_landed": pending_not_landed}


# --- orchestration --------------------------------------------------------------------------------------

def run(*, duration: float, workers: int, connections: int, pg_admin_url: str, seed: int = 11,
        warmup: float = 2.0) -> dict[str, Any]:
    t_start = time.monotonic()
    url, drop = fresh_postgres(pg_admin_url, "painpath_loadmix")
    try:
        with tempfile.TemporaryDirectory(prefix="painpath-loadmix-") as tmp:
            tmpdir = Path(tmp)
            with Server(tmpdir / "data", url, workers=workers, log_name="server") as server:
                clinic = new_clinic(url, "loadmix", PASSWORD)
                ack_log = tmpdir / "acks.jsonl"
                spec = {"url": server.url, "connections": connections, "duration": duration, "seed": seed, "warmup": warmup,
                        "assess_bodies": assess_bodies(), "states": interview_states(), "clinic": clinic,
                        "ack_log": str(ack_log)}
                spec_path = tmpdir / "spec.json"
                spec_path.write_text(json.dumps(spec))
                load0 = os.getloadavg()
                spread = None
                proc = subprocess.Popen([sys.executable, __file__, "--_generator", str(spec_path)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    try:  # how the generator's connections are spread over the workers, sampled once mid-run
                        stdout, stderr = proc.communicate(timeout=warmup + duration / 2)
                    except subprocess.TimeoutExpired:
                        spread = connections_per_worker(server.url)
                        stdout, stderr = proc.communicate(timeout=duration + 120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    raise
                load1 = os.getloadavg()
                if proc.returncode != 0:
                    raise RuntimeError(f"load generator failed ({proc.returncode}):\n{stderr[-3000:]}")
                load = json.loads(stdout.strip().splitlines()[-1])
                deaths = server.log_tail(10_000).count("died")
                expected = expected_from_log(ack_log)
                writes = check_writes(url, expected)
                writes["acknowledged_writes"] = sum('"op": "pending"' not in ln for ln in ack_log.read_text().splitlines())
                server_errors = [ln for ln in server.log_tail(10_000).splitlines() if " ERROR " in ln][:10]
    finally:
        drop()
    return {
        "generator": f"python asyncio + httpx, 1 process, {connections} connections",
        "server": f"painpath serve --workers {workers} (PostgreSQL)", "workers": workers,
        "connections": connections, "duration_s": duration,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_before": [round(x, 2) for x in load0], "loadavg_after": [round(x, 2) for x in load1]},
        "connections_per_worker": spread, "load": load, "writes": writes, "worker_deaths_in_log": deaths,
        "server_error_lines": server_errors,
        "ok": load["errors"] == 0 and writes["lost_or_wrong"] == 0,
        "seconds_total": round(time.monotonic() - t_start, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--short", action="store_true", help="~10 s of load (CI)")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes")
    ap.add_argument("--connections", type=int, default=32, help="virtual users (one keep-alive connection each)")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring (writes still checked)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--_generator", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._generator:
        spec = json.loads(Path(a._generator).read_text())
        print(json.dumps(asyncio.run(generate(spec))))
        return
    duration = 10.0 if a.short else a.duration
    out = run(duration=duration, workers=a.workers, connections=a.connections, pg_admin_url=a.pg_admin_url, seed=a.seed,
              warmup=a.warmup)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["children_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        ld, w = out["load"], out["writes"]
        print(f"{out['server']}, load: {out['generator']}, {ld['seconds']} s; {out['machine']['cpus']} CPUs, "
              f"load average {out['machine']['loadavg_before'][0]} -> {out['machine']['loadavg_after'][0]}")
        print(f"connections per worker (mid-run): {out['connections_per_worker']}; warm-up {ld['warmup']['seconds']} s, "
              f"{ld['warmup']['requests']} requests, {ld['warmup']['errors']} errors")
        print(f"requests {ld['requests']}  {ld['rps']} req/s  p50 {ld['p50_ms']} ms  p90 {ld['p90_ms']} ms  "
              f"p99 {ld['p99_ms']} ms  max {ld['max_ms']} ms  errors {ld['errors']} (non-2xx {ld['non_2xx']}, "
              f"transport {ld['transport_errors']})  generator CPU {ld['generator_cpu_s']} s")
        for cat, p in ld["by_category"].items():
            print(f"  {cat:<10} {p['requests']:>7} ({ld['share'][cat]:.0%})  p50 {p['p50_ms']} ms  p99 {p['p99_ms']} ms  "
                  f"statuses {p['statuses']}")
        print(f"writes: {w['acknowledged_writes']} acknowledged on {w['assessments_acknowledged']} assessments; "
              f"lost or wrong: {w['lost_or_wrong']}; unacknowledged writes that landed: "
              f"{w['unacknowledged_writes_landed']}, did not: {w['unacknowledged_writes_not_landed']}")
        for p in w["problems"] + ld["error_samples"]:
            print("   ", p)
        print("OK" if out["ok"] else "FAILED")
    sys.exit(0 if out["ok"] else 1)


if __name__ == "__main__":
    main()
