"""Past one machine: two separate PainPath servers on one PostgreSQL behave as one service.

Each server is its own ``painpath serve`` process tree with its own data directory, as two machines behind a load
balancer would be; they share nothing but the database. Started at the same moment on an empty database, they
must migrate it once (PostgreSQL advisory lock). Then every piece of state a client relies on must be visible
through either server: logins and logouts, a patient's record and its revision, the clinic's list, the login rate
limit, and the conflict check when two servers take writes to the same record at the same moment.
About 10 s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.scripts import load_benchmark

durability = load_benchmark("durability")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def two_servers(tmp_path: Path, pg_url: str) -> Iterator[tuple[str, httpx.Client, httpx.Client]]:
    """(database url, client of server A, client of server B) on a fresh, empty PostgreSQL database."""
    # pg_url only for its check: fails (or skips on purpose) as the rest of the suite does without PostgreSQL
    url, drop = durability.fresh_postgres(durability.PG_ADMIN_URL, "painpath_scaleout")
    servers = [durability.Server(tmp_path / name, url, log_name=name, env={"PAINPATH_LOGIN_ATTEMPTS": "3"})
               for name in ("a", "b")]
    try:
        with ThreadPoolExecutor(2) as pool:  # both start (and try to migrate) at once
            list(pool.map(lambda s: s.start(), servers))
        with httpx.Client(base_url=servers[0].url, timeout=30) as a, \
                httpx.Client(base_url=servers[1].url, timeout=30) as b:
            yield url, a, b
    finally:
        for s in servers:
            s.stop()
        drop()


def test_two_servers_share_one_state(two_servers: tuple[str, httpx.Client, httpx.Client]) -> None:
    url, a, b = two_servers
    from painpath.storage.db import current_revision, head_revision

    assert current_revision(url) == head_revision()  # migrated once, neither start failed
    clinic = durability.new_clinic(url, "scale-out", PASSWORD)

    # a login made through A works through B; a logout through B ends it on A
    r = a.post("/v1/auth/login", json={"email": clinic["email"], "password": PASSWORD})
    assert r.status_code == 200, r.text
    clinician = {"Authorization": f"Bearer {r.json()['token']}"}
    assert b.get("/v1/clinic/assessments", headers=clinician).status_code == 200

    # a patient's interview moves between the servers from one request to the next
    r = b.post("/v1/assessments", json={"age": 54, "sex": "female", "intake_code": clinic["intake_code"]})
    assert r.status_code == 201, r.text
    aid, patient = r.json()["assessment"]["id"], {"Authorization": f"Bearer {r.json()['patient_token']}"}
    rev = r.json()["assessment"]["revision"]
    r = a.put(f"/v1/assessments/{aid}/answers", headers=patient,
              json={"answers": {"low_back_pain": "present"}, "revision": rev})
    assert r.status_code == 200, r.text
    # B sees A's write at once: the revision A used is now stale there
    stale = b.put(f"/v1/assessments/{aid}/answers", headers=patient,
                  json={"answers": {"low_back_pain": "absent"}, "revision": rev})
    assert stale.status_code == 409, stale.text
    r = b.post(f"/v1/assessments/{aid}/finish", headers=patient)
    assert r.status_code == 200, r.text
    record = a.get(f"/v1/assessments/{aid}", headers=patient).json()
    assert record["status"] == "finished" and durability._answers(record) == {"low_back_pain": "present"}, record
    listed = a.get("/v1/clinic/assessments", headers=clinician).json()
    assert aid in [item["id"] for item in listed["items"]], listed

    assert b.post("/v1/auth/logout", headers=clinician).status_code == 204
    assert a.get("/v1/clinic/assessments", headers=clinician).status_code == 401

    # the login rate limit (3 failures) counts failures made through either server
    for client in (a, b, a):
        r = client.post("/v1/auth/login", json={"email": clinic["email"], "password": "not the password"})
        assert r.status_code == 401, r.text
    r = b.post("/v1/auth/login", json={"email": clinic["email"], "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, r.text


def test_simultaneous_writes_through_two_servers_conflict_cleanly(
        two_servers: tuple[str, httpx.Client, httpx.Client]) -> None:
    """The same revision sent through A and B at the same moment: exactly one wins, the other gets 409."""
    _url, a, b = two_servers
    outcomes: Counter[tuple[int, int]] = Counter()
    with ThreadPoolExecutor(2) as pool:
        for i in range(12):
            r = (a, b)[i % 2].post("/v1/assessments", json={"age": 40 + i, "sex": "male"})
            assert r.status_code == 201, r.text
            aid, rev = r.json()["assessment"]["id"], r.json()["assessment"]["revision"]
            headers = {"Authorization": f"Bearer {r.json()['patient_token']}"}
            futures = [pool.submit(client.put, f"/v1/assessments/{aid}/answers", headers=headers,
                                   json={"answers": {"calf_pain": value}, "revision": rev})
                       for client, value in ((a, "present"), (b, "absent"))]
            codes = [f.result().status_code for f in futures]
            outcomes[tuple(sorted(codes))] += 1  # type: ignore[arg-type]
            final = a.get(f"/v1/assessments/{aid}", headers=headers).json()
            winner = ("present", "absent")[codes.index(200)] if 200 in codes else None
            assert final["revision"] == rev + 1 and durability._answers(final) == {"calf_pain": winner}, (codes, final)
    assert outcomes == Counter({(200, 409): 12}), outcomes
