"""Fixtures of the fuzz tests: cheap password hashing, the FHIR/CDS app with EHR keys, and a summary of the
number of inputs tried per parser at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fuzz import harness


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters (a login with the production ones costs ~0.4 s; fuzzed logins would dominate).
    The dummy hash verified for unknown emails is replaced too, since its parameters travel with it."""
    from argon2 import PasswordHasher

    from painpath.storage import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("dummy password"))


@pytest.fixture(scope="session")
def fhir_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real app on its own SQLite database with one allowed CDS Hooks issuer (keys as tests/fhir)."""
    from painpath.api.app import create_app
    from painpath.config import Settings
    from tests.fhir.conftest import BASE_URL, ISSUER, Keys

    keys = Keys()
    tmp: Path = tmp_path_factory.mktemp("fuzz-fhir")
    settings = Settings(data_dir=tmp, database_url=None, public_base_url=BASE_URL, cds_issuers={ISSUER: keys.jwks})
    app = create_app(settings)
    with TestClient(app) as c:
        yield {"client": c, "app": app, "keys": keys}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not harness.STATS:
        return
    terminalreporter.section("fuzz: inputs tried per parser")
    total = 0
    for name, s in sorted(harness.STATS.items()):
        total += s.tried
        terminalreporter.write_line(f"{s.tried:6d}  {name}  ({s.seconds:.1f} s, slowest input {s.slowest:.2f} s)")
    terminalreporter.write_line(f"{total:6d}  in all; budget {harness.budget(0) or 'default'} per target "
                                f"(set {harness.EXAMPLES_ENV} to change it)")
