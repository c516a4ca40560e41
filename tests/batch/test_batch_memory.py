"""Memory stays flat: scoring 10x more rows in the same chunk size barely raises peak RSS."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from painpath.engine import default_compiled
from tests.batch.conftest import synthetic_table

SCRIPT = """
import json, resource, sys
from painpath.batch import BatchOptions, score_file
s = score_file(sys.argv[1], sys.argv[2], BatchOptions(mode="clinician"), chunk_size=int(sys.argv[3]))
print(json.dumps({"rows": s.rows, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _peak(inp: Path, out: Path, chunk: int) -> dict[str, int]:
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(inp), str(out), str(chunk)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_peak_rss_does_not_grow_with_input(tmp_path: Path) -> None:
    ckb = default_compiled()
    big = synthetic_table(300_000, ckb, seed=8)
    big.write_parquet(tmp_path / "big.parquet", row_group_size=50_000)
    big.head(30_000).write_parquet(tmp_path / "small.parquet", row_group_size=50_000)
    del big
    small = _peak(tmp_path / "small.parquet", tmp_path / "small_out.parquet", 10_000)
    large = _peak(tmp_path / "big.parquet", tmp_path / "big_out.parquet", 10_000)
    assert (small["rows"], large["rows"]) == (30_000, 300_000)
    growth_mb = (large["peak_kb"] - small["peak_kb"]) / 1024
    # Scoring the 300k rows in one go would need > 500 MB (float64 weights alone: 300k x 111 x 8 B
    # twice); streamed in 10k-row chunks the peak must stay within a few chunks' worth of the small run.
    assert growth_mb < 80, (small, large)
