"""The realistic request mix (benchmarks/load_mix.py) for a few seconds: no errors, no acknowledged write lost.

The real server (2 workers) on a fresh PostgreSQL database, the load generator in a separate process, then every
acknowledged write compared with the database. 15-30 s. Throughput is not asserted here (the machine is shared);
the figures are in benchmarks/README.md.
"""

from __future__ import annotations

from tests.scripts import load_benchmark

load_mix = load_benchmark("load_mix")


def test_load_mix_no_errors_no_lost_writes(pg_url: str) -> None:
    # pg_url only for its check: fails (or skips on purpose) as the rest of the suite does without PostgreSQL
    out = load_mix.run(duration=4.0, warmup=0.5, workers=2, connections=16, pg_admin_url=load_mix.PG_ADMIN_URL)
    load, writes = out["load"], out["writes"]
    assert load["errors"] == 0, (load["error_samples"], load["warmup"])
    assert writes["lost_or_wrong"] == 0, writes["problems"]
    assert writes["acknowledged_writes"] >= 20 and writes["assessments_acknowledged"] >= 5, writes
    shares = load["share"]
    assert 0.3 <= shares["stored"] <= 0.5 and 0.2 <= shares["assess"] <= 0.4, shares
    assert out["ok"]
