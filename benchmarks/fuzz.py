"""Fuzz every PainPath parser with a large budget; print inputs tried and failures per parser as JSON.

The same properties as ``tests/fuzz`` (``tests/fuzz/harness.py``), but failures are counted and the run goes on
(the first five messages per parser are kept, with the input), so one run shows every kind of failure:

* case files (``parse_case``, ``load_case``), knowledge-base files (``load_kb``), interview states;
* every JSON operation of the REST API (from the app's ``/openapi.json``), on SQLite, or on a throw-away
  PostgreSQL database with ``--postgres``;
* the FHIR operations and the CDS Hooks services (with a valid JWT for each request);
* CLI argument lists (``assess``, ``evaluate``, ``batch``, ``followup``, ``kb check``), in process;
* batch CSV input (when the batch extra is installed).

Usage::

    .venv/bin/python benchmarks/fuzz.py --examples 2000 [--cli-examples 200] [--only api] [--postgres]
                                        [--out fuzz.json]

Exit status 1 when any parser failed. Password hashing uses cheap argon2 parameters (as the tests do), so
fuzzed logins measure the parser, not argon2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.fuzz.harness (and the FHIR test keys)


def _quick_hashing() -> None:
    from argon2 import PasswordHasher

    from painpath.storage import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts._hasher = cheap  # type: ignore[attr-defined]
    accounts._DUMMY_HASH = cheap.hash("dummy password")  # type: ignore[attr-defined]


def _postgres_database(stack: ExitStack) -> str:
    """A fresh PostgreSQL database (dropped at the end), as the test suite makes one."""
    from durability import fresh_postgres  # benchmarks/ is on sys.path when this script runs

    url, drop = fresh_postgres(os.environ.get("PAINPATH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                               "painpath_fuzz")
    stack.callback(drop)
    return url


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=2000, help="inputs per parser (default 2000)")
    ap.add_argument("--cli-examples", type=int, default=None,
                    help="inputs per CLI command (each runs the command in process; default examples/10)")
    ap.add_argument("--only", default="", help="run only the parsers whose name contains this text")
    ap.add_argument("--postgres", action="store_true", help="run the REST API parsers on PostgreSQL, not SQLite")
    ap.add_argument("--out", type=Path, help="also write the JSON report to this file")
    ap.add_argument("--verbose", action="store_true", help="keep the app's log (every request, every 5xx)")
    args = ap.parse_args(argv)
    cli_examples = args.cli_examples if args.cli_examples is not None else max(1, args.examples // 10)

    from fastapi.testclient import TestClient

    from painpath.api.app import create_app
    from painpath.config import Settings
    from painpath.storage.db import Database, upgrade
    from tests.fhir.conftest import BASE_URL, ISSUER, Keys
    from tests.fuzz import harness

    _quick_hashing()
    started = time.perf_counter()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="painpath-fuzz-")))
        url = _postgres_database(stack) if args.postgres else f"sqlite:///{tmp / 'api.sqlite3'}"
        upgrade(url)
        database = Database(url)
        stack.callback(database.dispose)
        keys = Keys()
        settings = Settings(data_dir=tmp, database_url=url, auto_migrate=False, public_base_url=BASE_URL,
                            cds_issuers={ISSUER: keys.jwks}, anonymous_per_client=10**8)  # one client
        app = create_app(settings, db=database)
        client = stack.enter_context(TestClient(app))
        if not args.verbose:
            logging.getLogger("painpath").setLevel(logging.CRITICAL)

        targets = [
            *harness.case_targets(tmp),
            *harness.kb_targets(tmp),
            *harness.interview_targets(),
            *harness.api_targets(harness.ApiEnv(client, database), app),
            *harness.fhir_targets(client),
            *harness.cds_targets(client, keys),
            *harness.batch_targets(tmp),
        ]
        cli = harness.cli_targets(harness.CliFiles(tmp / "cli"))
        budgets = {t.name: args.examples for t in targets} | {t.name: cli_examples for t in cli}
        for target in [*targets, *cli]:
            if args.only and args.only not in target.name:
                continue
            harness.run(target, budgets[target.name], collect=True)
            s = harness.STATS[target.name]
            print(f"{s.tried:7d} tried {s.failures:5d} failed {s.seconds:7.1f} s  {target.name}", file=sys.stderr)

    stats = harness.STATS
    report: dict[str, Any] = {
        "examples_per_parser": args.examples,
        "examples_per_cli_command": cli_examples,
        "api_database": "postgresql" if args.postgres else "sqlite",
        "seconds": round(time.perf_counter() - started, 1),
        "total": {"tried": sum(s.tried for s in stats.values()), "failures": sum(s.failures for s in stats.values()),
                  "parsers": len(stats), "parsers_failing": sorted(n for n, s in stats.items() if s.failures)},
        "parsers": {name: s.as_dict() for name, s in sorted(stats.items())},
    }
    text = json.dumps(report, indent=2, ensure_ascii=True)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 1 if report["total"]["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
