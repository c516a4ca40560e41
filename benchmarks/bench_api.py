"""REST API load on loopback: the engine endpoint against a no-op endpoint of the same server.

Starts ``painpath serve`` (SQLite in a temporary directory, ``--workers`` processes, access log on as in
production), then runs a load generator as a separate process, one target after the other, each with the
same duration and number of connections:

  (a) ``GET /v1/ping``          no-op of the same app: the cost of HTTP + uvicorn + FastAPI + middleware
  (b) ``POST /v1/assess``       a realistic case (a dev benchmark case as {age, sex, findings}; full result
                                with explanations and care plan)
  (c) ``POST /v1/assessments``  the stored write path (one committed row per request; skip with --no-stored)

and prints requests/s, p50 and p99 latency for each, and the ratio assess / no-op. After the load it also
measures the server's CPU per request of each target (Linux: CPU time of the whole server process group
over ``--cpu-requests`` sequential requests), which varies far less than throughput on a busy machine,
and shows how the connections were spread over the workers. The load generator is
``wrk`` (a Lua script sets the POST body and prints exact percentiles) when it is installed, otherwise a
Python asyncio + httpx generator in a child process; the output says which.

Usage:
    python benchmarks/bench_api.py [--workers 2] [--duration 10] [--connections 32] [--repeat 1] [--json]
Note: on a small machine the load generator, the server workers and the client share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_CASE = HERE.parent.parent / "shared" / "benchmark" / "dev" / "dev-001.yaml"
sys.path.insert(0, str(HERE))
from durability import Server  # noqa: E402  (start/stop the server's whole process group)

LUA = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{body_line}
local codes = {{}}
response = function(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "PAINPATH_RESULT {{\\"requests\\": %d, \\"duration_us\\": %d, \\"non_2xx\\": %d, \\"socket_errors\\": %d, "
    .. "\\"p50_us\\": %d, \\"p90_us\\": %d, \\"p99_us\\": %d, \\"max_us\\": %d, \\"mean_us\\": %.1f}}\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def case_body(path: Path) -> dict[str, Any]:
    """A benchmark case file as the body of POST /v1/assess (with the case-file rule: what it does not list is
    absent)."""
    case = yaml.safe_load(path.read_text())
    return {"age": case["age"], "sex": case["sex"], "findings": case["findings"], "unlisted": "absent"}


def run_wrk(url: str, method: str, body: dict[str, Any] | None, *, duration: float, connections: int, threads: int,
            tmp: Path) -> dict[str, Any]:
    script = tmp / f"load-{abs(hash((url, method)))}.lua"
    body_line = f"wrk.body = [==[{json.dumps(body)}]==]" if body is not None else ""
    script.write_text(LUA.format(method=method, body_line=body_line))
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
           "-s", str(script), url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(min(1.0, duration / 2))
    spread = connections_per_worker(url)
    stdout, stderr = proc.communicate(timeout=duration + 60)
    out = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("PAINPATH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    r = json.loads(line.removeprefix("PAINPATH_RESULT "))
    seconds = r["duration_us"] / 1e6
    return {"requests": r["requests"], "seconds": round(seconds, 2), "rps": round(r["requests"] / seconds, 1),
            "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
            "max_ms": r["max_us"] / 1000, "non_2xx": r["non_2xx"], "socket_errors": r["socket_errors"],
            "connections_per_worker": spread}


def server_cpu_seconds(pgid: int) -> float | None:
    """User + system CPU of every process in the server's process group (Linux /proc), in seconds."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state ppid pgrp ... utime(11) stime(12)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def cpu_per_request(url: str, method: str, body: dict[str, Any] | None, pgid: int, n: int) -> float | None:
    """Server CPU milliseconds per request, over ``n`` sequential requests on one connection."""
    import httpx

    with httpx.Client(timeout=10) as client:
        for _ in range(min(50, n)):
            client.request(method, url, json=body)
        before = server_cpu_seconds(pgid)
        if before is None:
            return None
        for _ in range(n):
            client.request(method, url, json=body)
        after = server_cpu_seconds(pgid)
    return round((after - before) / n * 1000, 3) if after is not None else None


def connections_per_worker(url: str) -> list[int] | None:
    """How the open connections are spread over the server's processes (``ss``), largest first.

    uvicorn's workers share one listening socket and the kernel does not balance keep-alive connections
    between them: sometimes every connection of a run lands on one worker, which then does all the work.
    """
    if not shutil.which("ss"):
        return None
    port = url.split(":")[2].split("/")[0]
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True,
                         text=True).stdout
    pids: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", out):
        pids[pid] = pids.get(pid, 0) + 1
    return sorted(pids.values(), reverse=True)


# --- fallback generator: asyncio + httpx in a child process ------------------------------------------

async def _python_load(url: str, method: str, body: dict[str, Any] | None, duration: float,
                       connections: int) -> dict[str, Any]:
    import httpx

    lat: list[float] = []
    non_2xx = errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        t_end = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal non_2xx, errors
            while time.perf_counter() < t_end:
                t0 = time.perf_counter()
                try:
                    r = await client.request(method, url, json=body)
                except httpx.HTTPError:
                    errors += 1
                    continue
                lat.append(time.perf_counter() - t0)
                if not 200 <= r.status_code < 300:
                    non_2xx += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        seconds = time.perf_counter() - t0
    lat.sort()

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000, 3) if lat else float("nan")

    return {"requests": len(lat), "seconds": round(seconds, 2), "rps": round(len(lat) / seconds, 1),
            "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "max_ms": round(lat[-1] * 1000, 3) if lat else None,
            "non_2xx": non_2xx, "socket_errors": errors}


def run_python(url: str, method: str, body: dict[str, Any] | None, *, duration: float, connections: int) -> dict[str, Any]:
    spec = json.dumps({"url": url, "method": method, "body": body, "duration": duration, "connections": connections})
    out = subprocess.run([sys.executable, __file__, "--_client", spec], capture_output=True, text=True,
                         timeout=duration + 60)
    if out.returncode != 0:
        raise RuntimeError(f"python load generator failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="server worker processes")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of load per target")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of load per target before measuring")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=1, help="rounds over all targets; the median round is reported")
    ap.add_argument("--cpu-requests", type=int, default=1000,
                    help="sequential requests per target to measure server CPU per request (0: skip)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads")
    ap.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    ap.add_argument("--case", type=Path, default=DEFAULT_CASE, help="case file for POST /v1/assess")
    ap.add_argument("--no-stored", action="store_true", help="skip (c), the stored-assessment write path")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--_client", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._client:  # the fallback generator's child process
        spec = json.loads(a._client)
        print(json.dumps(asyncio.run(_python_load(spec["url"], spec["method"], spec["body"], spec["duration"],
                                                  spec["connections"]))))
        return
    generator = a.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    if generator == "wrk" and not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk), use --generator python")
    targets: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("noop", "GET", "/v1/ping", None),
        ("assess", "POST", "/v1/assess", case_body(a.case)),
    ]
    if not a.no_stored:
        targets.append(("store", "POST", "/v1/assessments", {"age": 38, "sex": "male"}))

    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in targets}
    with tempfile.TemporaryDirectory(prefix="painpath-bench-api-") as tmp:
        tmpdir = Path(tmp)
        with Server(tmpdir / "data", workers=a.workers, log_name="server") as server:
            for i in range(a.repeat):  # rounds interleave the targets, so each sees the same machine
                for name, method, path, body in targets:
                    url = server.url + path
                    for seconds, keep in ((a.warmup if i == 0 else 0, False), (a.duration, True)):
                        if seconds <= 0:
                            continue
                        if generator == "wrk":
                            r = run_wrk(url, method, body, duration=seconds, connections=a.connections,
                                        threads=a.threads, tmp=tmpdir)
                        else:
                            r = run_python(url, method, body, duration=seconds, connections=a.connections)
                        if keep:
                            rounds[name].append(r)
            log = server.log_path.read_text(errors="replace")
            died = [ln for ln in log.splitlines() if "Child process" in ln and "died" in ln]
            cpu: dict[str, float | None] = {}
            for name, method, path, body in targets:
                assert server.proc is not None
                cpu[name] = (cpu_per_request(server.url + path, method, body, server.proc.pid, a.cpu_requests)
                             if a.cpu_requests > 0 else None)
    results: dict[str, Any] = {}
    for name, method, path, _ in targets:
        runs = rounds[name]
        best = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]  # the median round by throughput
        results[name] = {"method": method, "path": path, **best,
                         "rounds_rps": [r["rps"] for r in runs] if len(runs) > 1 else None,
                         "server_cpu_ms_per_request": cpu[name]}
    noop, assess = results["noop"], results["assess"]
    out = {
        "generator": generator if generator == "python" else f"wrk -t{a.threads} -c{a.connections}",
        "workers": a.workers, "connections": a.connections, "duration_s": a.duration, "repeat": a.repeat,
        "case": a.case.name,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "targets": results,
        "worker_restarts": len(died),
        "ratio_assess_to_noop": {"rps": round(assess["rps"] / noop["rps"], 3),
                                 "p50": round(assess["p50_ms"] / noop["p50_ms"], 2),
                                 "p99": round(assess["p99_ms"] / noop["p99_ms"], 2),
                                 "server_cpu": (round(cpu["assess"] / cpu["noop"], 2)
                                                if cpu["assess"] and cpu["noop"] else None)},
    }
    if a.json:
        print(json.dumps(out, indent=2))
        return
    print(f"load generator: {out['generator']}; server: painpath serve --workers {a.workers} (SQLite); "
          f"{a.connections} connections, {a.duration:g} s per target after {a.warmup:g} s warm-up, "
          f"{a.repeat} round(s), median round shown; "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'target':<8} {'endpoint':<24} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
          f"{'errors':>7} {'CPU ms':>7}  connections per worker")
    for name, r in results.items():
        print(f"{name:<8} {r['method'] + ' ' + r['path']:<24} {r['rps']:>9.1f} {r['p50_ms']:>8.2f} {r['p90_ms']:>8.2f} "
              f"{r['p99_ms']:>8.2f} {r['non_2xx']:>8} {r['socket_errors']:>7} {r['server_cpu_ms_per_request'] or 0:>7.2f}  "
              f"{r.get('connections_per_worker')}")
    if died:
        print(f"WARNING: uvicorn's supervisor restarted {len(died)} worker(s) that missed its 5 s health check "
              "during the load; their connections stalled (rounds with ~0 req/s)")
    if a.repeat > 1:
        print("req/s of every round: " + "; ".join(f"{k} {r['rounds_rps']}" for k, r in results.items()))
    ratio = out["ratio_assess_to_noop"]
    print(f"assess / no-op: throughput x{ratio['rps']}, p50 x{ratio['p50']}, p99 x{ratio['p99']}, "
          f"server CPU per request x{ratio['server_cpu']}")
    print(f"(CPU ms: server CPU per request over {a.cpu_requests} sequential requests on one connection, "
          "all server processes)")


if __name__ == "__main__":
    main()
