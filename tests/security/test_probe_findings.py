"""What an independent security probe found (issue 19), each finding reproduced, on SQLite and PostgreSQL.

1. follow-up chains crossed clinics (comparisons, follow-up lists, trend pages);
2. a patient's token overwrote a clinician's examination findings, unaudited;
3. the login limit could be raced (checked before, counted after verification);
4. limits keyed on a spoofable address, and none per account;
5. hashing inside the write lock, CSRF not bound to the session, state change on GET /share, no limits on
   anonymous creation or claim attempts, and a 409 that confirmed another clinic's code;
6. no user management, logout "succeeding" for API keys, versions told to anyone, CSV cells let through.

docs/threat-model.md lists each finding with its fix and the test here that proves it.
"""

from __future__ import annotations

import ast
import asyncio
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from painpath.storage import accounts
from painpath.storage.models import AssessmentRecord, AuditEntry, User
from tests.security.conftest import PASSWORD, Site, finish_via_api

SRC = Path(__file__).resolve().parents[2] / "src" / "painpath"
BACK = {"low_back_pain": "present", "pain_below_knee": "absent"}


def _site(database: Any, tmp_path: Path, **overrides: Any) -> Site:
    from painpath.api.app import create_app
    from painpath.config import Settings

    settings = Settings(data_dir=tmp_path, database_url=database.url, auto_migrate=False, **overrides)
    return Site(create_app(settings, db=database), database, [])


def _outcome(client: Any, aid: str, headers: dict[str, str], pain: float, psfs: float) -> None:
    r = client.put(f"/v1/assessments/{aid}/outcome", headers=headers,
                   json={"pain": pain, "psfs": [{"activity": "walking", "score": psfs}]})
    assert r.status_code == 200, r.text


def _followup(client: Any, of: str, headers: dict[str, str], pain: float, psfs: float) -> dict[str, Any]:
    """A follow-up of ``of`` started with ``headers``, with pain and PSFS, answered and finished."""
    r = client.post(f"/v1/assessments/{of}/followups", headers=headers)
    assert r.status_code == 201, r.text
    out = r.json()
    aid, own = out["assessment"]["id"], {"Authorization": f"Bearer {out['patient_token']}"}
    use = headers if "ppp_" not in headers["Authorization"] else own
    _outcome(client, aid, use, pain, psfs)
    assert client.put(f"/v1/assessments/{aid}/answers", headers=use, json={"answers": BACK}).status_code == 200
    r = client.post(f"/v1/assessments/{aid}/finish", headers=use)
    assert r.status_code == 200, r.text
    return {"id": aid, "patient": own, "share_code": out["share_code"], "record": r.json()}


# --- 1. tenancy through every relation -----------------------------------------------------------------------

RELATION_WALKERS = {
    # function that walks the follow-up relation -> how test_followup_chains_stay_in_their_clinic proves it
    "painpath.storage.assessments.chain": "every walk below goes through it",
    "painpath.storage.assessments._earlier": "FB's comparison (finish) uses only F, not clinic A's FA",
    "painpath.storage.assessments.followup_measurements": "FB's followup.reasons (what services.finish compares)",
    "painpath.storage.assessments.followups": "GET /v1/assessments/{id}/followups with patient and clinic tokens",
    "painpath.web.clinic._trend": "the clinic trend page /clinic/a/{id} of both clinics",
    "painpath.web.clinic.detail": "the follow-up list on /clinic/a/{id} of both clinics",
    "painpath.api.routes_stored.list_followups": "GET /v1/assessments/{id}/followups",
}
WALK_CALLS = {"chain", "_earlier", "followups", "_trend"}


def _functions() -> list[tuple[str, ast.AST]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        module = "painpath." + ".".join(path.relative_to(SRC).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((f"{module}.{node.name}", node))
    return out


def test_every_relation_walk_is_derived_and_covered() -> None:
    """Derive from the source every function that walks the follow-up relation: those that query by
    ``AssessmentRecord.followup_of`` or call a walker. Each must be one the two-clinic scenario below proves; a
    lookup of the linked record by id (``s.get(AssessmentRecord, rec.followup_of)``, ``load(.., followup_of)``),
    which ignores the clinic, must not exist anywhere."""
    walkers, raw_lookups = set(), []
    for name, fn in _functions():
        for node in ast.walk(fn):
            if (isinstance(node, ast.Attribute) and node.attr == "followup_of" and isinstance(node.value, ast.Name)
                    and node.value.id == "AssessmentRecord" and not name.endswith((".claim",))):
                walkers.add(name)
            if isinstance(node, ast.Call):
                callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if callee in WALK_CALLS:
                    walkers.add(name)
                if callee in ("get", "load") and any(isinstance(a, ast.Attribute) and a.attr == "followup_of"
                                                     for a in node.args):
                    raw_lookups.append(name)
                if callee in ("get", "load") and any(isinstance(a, ast.Name) and a.id == "root_id"
                                                     for a in node.args):
                    raw_lookups.append(name)
    assert not raw_lookups, f"the linked record looked up by id, whatever its clinic: {raw_lookups}"
    # claim follows the relation too, only to unshared follow-ups (test_claim_moves_only_unshared_followups)
    assert walkers == set(RELATION_WALKERS), (
        f"new relation walks: {sorted(walkers - set(RELATION_WALKERS))} (prove them in the scenario below); "
        f"gone: {sorted(set(RELATION_WALKERS) - walkers)}")


def test_followup_chains_stay_in_their_clinic(site: Site, make_clinic: Any) -> None:
    """The probe's chain: R and F by a patient; B claims F, A claims R and records FA; B starts FB from F."""
    a, b = make_clinic(), make_clinic()
    br = site.browser()
    ah, bh = br.api_login(str(a["clinician_email"])), br.api_login(str(b["clinician_email"]))
    c = br.client
    # the patient: R (pain 5, PSFS 4), then a follow-up F of it (pain 5, PSFS 4)
    r = c.post("/v1/assessments", json={"age": 48, "sex": "male"})
    R = {"id": r.json()["assessment"]["id"], "share_code": r.json()["share_code"],
         "patient": {"Authorization": f"Bearer {r.json()['patient_token']}"}}
    _outcome(c, R["id"], R["patient"], 5, 4)
    assert c.put(f"/v1/assessments/{R['id']}/answers", headers=R["patient"], json={"answers": BACK}).status_code == 200
    assert c.post(f"/v1/assessments/{R['id']}/finish", headers=R["patient"]).status_code == 200
    F = _followup(c, R["id"], R["patient"], 5, 4)
    # B claims F, then A claims R, and A records its own follow-up FA: pain 2, PSFS 9
    assert c.post("/v1/clinic/claim", headers=bh, json={"share_code": F["share_code"]}).status_code == 200
    assert c.post("/v1/clinic/claim", headers=ah, json={"share_code": R["share_code"]}).status_code == 200
    FA = _followup(c, R["id"], ah, 2, 9)
    assert "pain 5 -> 2" in " ".join(FA["record"]["followup"]["reasons"])
    # B starts FB from F (pain 5, PSFS 4): compared with F, its own clinic's record, never with A's FA
    FB = _followup(c, F["id"], bh, 5, 4)
    reasons = " ".join(FB["record"]["followup"]["reasons"])
    assert "pain 5 -> 5" in reasons and "PSFS mean 4.0 -> 4.0" in reasons, reasons
    assert "pain 2" not in reasons and "9.0" not in reasons, reasons
    b_ids = {F["id"], FB["id"]}
    # the link to the chain's first assessment (A's R) is not shown to B, nor to B's patients; A sees its own
    assert FB["record"]["followup_of"] is None and FA["record"]["followup_of"] == R["id"]
    for h, aid in ((bh, FB["id"]), (FB["patient"], FB["id"]), (bh, F["id"]), (F["patient"], F["id"])):
        assert c.get(f"/v1/assessments/{aid}", headers=h).json()["followup_of"] is None
    assert c.get(f"/v1/assessments/{FA['id']}", headers=ah).json()["followup_of"] == R["id"]
    listed = {x["id"]: x["followup_of"] for x in c.get("/v1/clinic/assessments", headers=bh).json()["items"]}
    assert listed == {F["id"]: None, FB["id"]: None}
    assert R["id"] not in c.get("/v1/clinic/export", headers=bh).text
    # follow-up lists: with FB's patient token, B's session, F's token -> only B's records; A's side only A's
    for who, h, aid, want in (("FB's patient token", FB["patient"], FB["id"], b_ids),
                              ("F's patient token", F["patient"], F["id"], b_ids),
                              ("clinic B", bh, FB["id"], b_ids), ("clinic B via F", bh, F["id"], b_ids),
                              ("R's patient token", R["patient"], R["id"], {FA["id"]}),
                              ("clinic A", ah, R["id"], {FA["id"]}), ("clinic A via FA", ah, FA["id"], {FA["id"]})):
        r = c.get(f"/v1/assessments/{aid}/followups", headers=h)
        assert r.status_code == 200, (who, r.text)
        assert {x["id"] for x in r.json()} == want, (who, r.json())
    # the web trend and follow-up list: B's page for FB works (it loaded A's root: 404) and shows none of A's
    cb, ca = site.browser(), site.browser()
    assert cb.web_login(str(b["clinician_email"])).status_code == 303
    assert ca.web_login(str(a["clinician_email"])).status_code == 303
    page = cb.get(f"/clinic/a/{FB['id']}")
    assert page.status_code == 200, page.text[:300]
    assert _trend_rows(page.text) == [(5.0, 4.0), (5.0, 4.0)]  # F and FB; not A's R (5, 4) nor FA (2, 9)
    page = ca.get(f"/clinic/a/{FA['id']}")
    assert page.status_code == 200 and _trend_rows(page.text) == [(5.0, 4.0), (2.0, 9.0)]  # R and FA only
    assert not any(x in page.text for x in b_ids)


def _trend_rows(html: str) -> list[tuple[float, float]]:
    """(pain, PSFS mean) of each row of the trend table on a clinic detail page."""
    rows = re.findall(r"<tr><td>\d{4}-\d\d-\d\d</td><td>([\d.]+)</td><td>([\d.]+)</td></tr>", html)
    return [(float(p), float(f)) for p, f in rows]


def test_claim_moves_only_unshared_followups(site: Site, make_clinic: Any) -> None:
    a, b = make_clinic(), make_clinic()
    br = site.browser()
    ah, bh = br.api_login(str(a["clinician_email"])), br.api_login(str(b["clinician_email"]))
    root = finish_via_api(br.client)
    f1 = _followup(br.client, root["id"], root["patient"], 4, 5)
    f2 = _followup(br.client, root["id"], root["patient"], 3, 6)
    assert br.post("/v1/clinic/claim", headers=bh, json={"share_code": f2["share_code"]}).status_code == 200
    assert br.post("/v1/clinic/claim", headers=ah, json={"share_code": root["share_code"]}).status_code == 200
    with site.database.read() as s:
        owners = {aid: s.get(AssessmentRecord, aid).clinic_id for aid in (root["id"], f1["id"], f2["id"])}  # type: ignore[union-attr]
    assert owners == {root["id"]: a["id"], f1["id"]: a["id"], f2["id"]: b["id"]}
    # the patient's own changes before the claim are now in clinic A's audit log
    log = br.get(f"/v1/clinic/audit?assessment_id={f1['id']}", headers=br.api_login(str(a["admin_email"]))).json()
    assert {e["actor"] for e in log} == {"patient"} and {"create", "answer", "finish"} <= {e["action"] for e in log}


# --- 2. answers have owners ---------------------------------------------------------------------------------


def test_a_patient_cannot_overwrite_a_clinicians_examination_findings(site: Site, make_clinic: Any) -> None:
    a = make_clinic()
    patient = site.browser()
    aid = patient.start()
    ph = patient.patient_headers(aid)
    c = patient.client
    assert c.put(f"/v1/assessments/{aid}/answers", headers=ph, json={"answers": BACK}).status_code == 200
    assert c.post(f"/v1/assessments/{aid}/finish", headers=ph).status_code == 200
    doc = site.browser()
    ah = doc.api_login(str(a["clinician_email"]))
    admin = doc.api_login(str(a["admin_email"]))
    # the clinic receives it and examines: SLR positive, in clinician mode
    code = accounts.format_code(accounts.share_code_for(ph["Authorization"].removeprefix("Bearer ")))
    assert c.post("/v1/clinic/claim", headers=ah, json={"share_code": code}).status_code == 200
    r = c.post(f"/v1/assessments/{aid}/amend", headers=ah,
               json={"answers": {"slr_positive": "present", "fever_unwell": "absent"}, "mode": "clinician"})
    assert r.status_code == 200, r.text
    level, revision = r.json()["triage_level"], r.json()["revision"]
    # REST: the patient's token may not change the examination finding, nor an answer the clinician gave
    for body in ({"slr_positive": "absent"}, {"fever_unwell": "present"}, {"slr_positive": "absent", "smoker": "present"}):
        r = c.post(f"/v1/assessments/{aid}/amend", headers=ph, json={"answers": body})
        assert r.status_code == 403, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        detail = r.json()["detail"]
        assert detail.startswith("answers:") and "only the clinic can change" in detail
        assert all(k in detail for k in body if k != "smoker")
    # the web form refuses it the same way (an HTML page)
    r = patient.submit(f"/a/{aid}/answer", {"finding": "slr_positive", "value": "absent"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    after = c.get(f"/v1/assessments/{aid}", headers=ah).json()
    assert after["revision"] == revision and after["triage_level"] == level
    assert {a["finding"]: a["value"] for a in after["state"]["answers"]}["slr_positive"] == "present"
    # the patient's own history answers remain theirs to add and change
    r = c.post(f"/v1/assessments/{aid}/amend", headers=ph, json={"answers": {"smoker": "present"}})
    assert r.status_code == 200, r.text
    r = patient.submit(f"/a/{aid}/answer", {"finding": "smoker", "value": "absent"})
    assert r.status_code == 303
    # every change is audited, the patient's too
    log = c.get(f"/v1/clinic/audit?assessment_id={aid}", headers=admin).json()
    by = [(e["actor"], e["action"]) for e in reversed(log) if e["action"] != "read"]
    assert ("clinic", "amend") in by and by.count(("patient", "amend")) == 2, by
    assert any(e["actor"] == "patient" and "smoker" in e["detail"] for e in log)


def test_patient_token_cannot_answer_examination_findings_of_a_clinician_mode_interview(
        site: Site, make_clinic: Any) -> None:
    a = make_clinic()
    br = site.browser()
    ah = br.api_login(str(a["clinician_email"]))
    r = br.post("/v1/assessments", headers=ah, json={"age": 60, "sex": "female", "mode": "clinician"})
    aid, ph = r.json()["assessment"]["id"], {"Authorization": f"Bearer {r.json()['patient_token']}"}
    r = br.put(f"/v1/assessments/{aid}/answers", headers=ph, json={"answers": {"slr_positive": "absent"}})
    assert r.status_code == 403 and "slr_positive" in r.json()["detail"]
    r = br.put(f"/v1/assessments/{aid}/answers", headers=ph, json={"answers": BACK})
    assert r.status_code == 200
    r = br.put(f"/v1/assessments/{aid}/answers", headers=ah, json={"answers": {"slr_positive": "present"}})
    assert r.status_code == 200
    r = br.post(f"/v1/assessments/{aid}/withdraw", headers=ph, json={"findings": ["slr_positive"]})
    assert r.status_code == 403


# --- 3 and 4. rate limits that hold under concurrency, per account, behind a trusted proxy ---------------------


def _concurrent_logins(app: Any, email: str, n: int, client: str = "198.51.100.20") -> list[int]:
    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=(client, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as ac:
            rs = await asyncio.gather(*[ac.post("/v1/auth/login", json={"email": email, "password": "wrong password!"})
                                        for _ in range(n)])
        return [r.status_code for r in rs]

    return asyncio.run(run())


def test_100_concurrent_wrong_passwords_give_at_most_the_limit(site: Site, make_clinic: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    # a slower hash than the suite's cheap one widens the race the limit must survive
    slow = PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", slow)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", slow.hash("dummy password"))
    a = make_clinic(("clinician",))
    statuses = _concurrent_logins(site.app, str(a["clinician_email"]), 100)
    limit = site.app.state.settings.login_attempts
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= limit and statuses.count(429) >= 100 - limit, (statuses.count(401), limit)
    # and then the right password is refused too, until the window passes
    r = site.browser().post("/v1/auth/login", json={"email": a["clinician_email"], "password": PASSWORD})
    assert r.status_code in (200, 429)  # another client: the per-account allowance (20) is not used up yet


def test_guesses_spread_over_many_addresses_meet_the_per_account_limit(database: Any, tmp_path: Path,
                                                                        make_clinic: Any) -> None:
    site = _site(database, tmp_path, login_attempts=5, login_account_attempts=20)
    a = make_clinic(("clinician",))
    email = str(a["clinician_email"])
    statuses = []
    for i in range(5):
        b = site.browser()
        statuses += [b.post("/v1/auth/login", json={"email": email, "password": f"wrong {i} {j} guess"}).status_code
                     for j in range(5)]
    assert statuses.count(401) == 20 and statuses[20:] == [429] * 5, statuses
    r = site.browser().post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "try again in" in r.json()["detail"]
    # another account is not affected
    other = make_clinic(("clinician",))
    assert site.browser().post("/v1/auth/login", json={"email": other["clinician_email"],
                                                       "password": PASSWORD}).status_code == 200
    for b in site.browsers:
        b.client.__exit__(None, None, None)


def test_a_successful_login_does_not_use_up_the_allowance(site: Site, make_clinic: Any) -> None:
    a = make_clinic(("clinician",))
    b = site.browser()
    for _ in range(site.app.state.settings.login_attempts + 3):
        b.api_login(str(a["clinician_email"]))


def _proxied(site: Site, forwarded_allow_ips: str) -> Any:
    """The app as `painpath serve` runs it under uvicorn (its proxy-headers middleware and options)."""
    import uvicorn

    from painpath.cli.serve_cmd import uvicorn_options
    from painpath.config import Settings

    opts = uvicorn_options(Settings(forwarded_allow_ips=forwarded_allow_ips))
    assert opts["proxy_headers"] is True and opts["server_header"] is False
    cfg = uvicorn.Config(site.app, **opts)  # type: ignore[arg-type]
    cfg.load()
    return cfg.loaded_app


def _post(app: Any, peer: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as ac:
            return await ac.request("POST" if "json" in kw else "GET", path, headers=headers or {}, **kw)

    return asyncio.run(run())


def test_forwarded_headers_are_believed_only_from_the_trusted_proxy(site: Site, make_clinic: Any) -> None:
    a = make_clinic(("clinician",))
    email = str(a["clinician_email"])
    proxy, attacker, victim = "10.20.30.40", "203.0.113.66", "198.51.100.99"
    app = _proxied(site, forwarded_allow_ips=proxy)
    # an attacker who reaches the server directly forges X-Forwarded-For: the limit counts the attacker's address
    for i in range(6):
        r = _post(app, attacker, "/v1/auth/login", {"X-Forwarded-For": victim},
                  json={"email": email, "password": f"wrong password {i}"})
    assert r.status_code == 429
    # the real user, whose address the proxy reports, is not locked out
    r = _post(app, proxy, "/v1/auth/login", {"X-Forwarded-For": victim}, json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    # through the proxy, each client is counted by its own forwarded address (not all as the proxy)
    for i in range(5):
        _post(app, proxy, "/v1/auth/login", {"X-Forwarded-For": "192.0.2.1"},
              json={"email": email, "password": f"wrong again {i}"})
    r = _post(app, proxy, "/v1/auth/login", {"X-Forwarded-For": "192.0.2.2"}, json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    # X-Forwarded-Proto: https from the proxy gives Secure __Host- cookies and HSTS; from anyone else, nothing
    r = _post(app, proxy, "/", {"X-Forwarded-Proto": "https", "X-Forwarded-For": victim})
    assert "strict-transport-security" in r.headers and "__Host-pp_csrf=" in r.headers["set-cookie"]
    r = _post(app, attacker, "/", {"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in r.headers and "__Host-" not in r.headers.get("set-cookie", "")


# --- 5. hashing outside the lock, CSRF, share links, anonymous creation and claim limits ----------------------


def test_password_hashing_does_not_hold_the_write_lock(site: Site, make_clinic: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    a = make_clinic(("clinician",))
    hashing, release = threading.Event(), threading.Event()
    real = accounts._hasher

    class SlowHasher:
        def verify(self, h: str, p: str) -> bool:
            hashing.set()
            release.wait(10)
            return real.verify(h, p)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", SlowHasher())
    done: list[int] = []
    t = threading.Thread(target=lambda: done.append(
        site.browser().post("/v1/auth/login", json={"email": a["clinician_email"], "password": "wrong password"}).status_code))
    t.start()
    try:
        assert hashing.wait(10)
        t0 = time.perf_counter()
        with site.database.write() as s:  # a patient's save while a password is being checked
            s.execute(select(1))
        took = time.perf_counter() - t0
    finally:
        release.set()
        t.join(15)
    assert done == [401]
    assert took < 2, f"a write waited {took:.1f} s for a password check"


def test_csrf_token_is_bound_to_the_session_and_rotated_at_login(site: Site, make_clinic: Any) -> None:
    a = make_clinic()
    b = site.browser()
    before = b.csrf()
    r = b.web_login(str(a["clinician_email"]))
    assert r.status_code == 303
    after = b.client.cookies.get("pp_csrf")
    assert after and after != before
    share = finish_via_api(b.client)
    # a form carrying the token from before the login is refused, even with the old value put back in the cookie
    b.client.cookies.set("pp_csrf", before)
    r = b.client.post("/clinic/claim", data={"csrf": before, "share_code": share["share_code"]}, follow_redirects=False)
    assert r.status_code == 403
    # another session's token is refused too
    other = site.browser()
    assert other.web_login(str(a["admin_email"])).status_code == 303
    theirs = other.client.cookies.get("pp_csrf")
    r = b.client.post("/clinic/claim", data={"csrf": theirs, "share_code": share["share_code"]}, follow_redirects=False)
    assert r.status_code == 403
    # the page's own token works
    b.client.cookies.delete("pp_csrf")
    page = b.get("/clinic")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = b.client.post("/clinic/claim", data={"csrf": token, "share_code": share["share_code"]}, follow_redirects=False)
    assert r.status_code == 303
    # logging out rotates it again
    r = b.client.post("/clinic/logout", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and b.client.cookies.get("pp_csrf") not in (token, None)


def test_a_share_link_changes_nothing_until_confirmed(site: Site, make_clinic: Any) -> None:
    a = make_clinic()
    doc = site.browser()
    assert doc.web_login(str(a["clinician_email"])).status_code == 303
    shared = finish_via_api(doc.client)
    r = doc.get(f"/share/{shared['share_code']}", follow_redirects=False)
    assert r.status_code == 200 and f'action="/share/{shared["share_code"]}"' in r.text
    with site.database.read() as s:
        assert s.get(AssessmentRecord, shared["id"]).clinic_id is None  # type: ignore[union-attr]
    r = doc.client.post(f"/share/{shared['share_code']}", follow_redirects=False)  # no CSRF token: refused
    assert r.status_code == 403
    r = doc.submit(f"/share/{shared['share_code']}")
    assert r.status_code == 303 and r.headers["location"] == f"/clinic/a/{shared['id']}"
    with site.database.read() as s:
        assert s.get(AssessmentRecord, shared["id"]).clinic_id == a["id"]  # type: ignore[union-attr]


def test_anonymous_creation_is_limited(database: Any, tmp_path: Path, make_clinic: Any) -> None:
    site = _site(database, tmp_path, intake_per_client=3, intake_per_code=5, anonymous_per_client=2)
    a = make_clinic(())
    code = str(a["intake_code"])
    one, two, three = site.browser(), site.browser(), site.browser()
    body = {"age": 40, "sex": "female", "intake_code": code}
    got = [one.post("/v1/assessments", json=body).status_code for _ in range(4)]
    assert got == [201, 201, 201, 429], got
    assert two.submit("/start", {"age": "40", "sex": "male", "intake_code": code}).status_code == 303
    assert two.post("/v1/assessments", json=body).status_code == 201
    r = three.post("/v1/assessments", json=body)  # the code's own limit (5) is used up: from any client
    assert r.status_code == 429 and r.headers["retry-after"] and "intake code" in r.json()["detail"]
    assert three.submit("/start", {"age": "40", "sex": "male", "intake_code": code}).status_code == 429
    # without an intake code a patient still starts (nothing enters a clinic's list), up to its own limit
    assert three.post("/v1/assessments", json={"age": 40, "sex": "female"}).status_code == 201
    assert three.submit("/start", {"age": "40", "sex": "male"}).status_code == 303
    r = three.post("/v1/assessments", json={"age": 40, "sex": "female"})
    assert r.status_code == 429 and r.headers["retry-after"] and "from this address" in r.json()["detail"]
    assert three.submit("/start", {"age": "40", "sex": "male"}).status_code == 429
    assert two.post("/v1/assessments", json={"age": 40, "sex": "female"}).status_code == 201  # another client
    with database.read() as s:
        n = len(s.scalars(select(AssessmentRecord.id).where(AssessmentRecord.clinic_id == a["id"])).all())
    assert n == 5
    for b in site.browsers:
        b.client.__exit__(None, None, None)


def test_claim_attempts_are_limited_and_unclaimable_codes_all_answer_404(database: Any, tmp_path: Path,
                                                                         make_clinic: Any) -> None:
    site = _site(database, tmp_path, claim_attempts=3)
    a, b = make_clinic(("clinician",)), make_clinic(("clinician",))
    br = site.browser()
    ah, bh = br.api_login(str(a["clinician_email"])), br.api_login(str(b["clinician_email"]))
    theirs = finish_via_api(br.client, intake_code=str(b["intake_code"]))
    good = finish_via_api(br.client)
    # a code that works is not counted
    assert br.post("/v1/clinic/claim", headers=ah, json={"share_code": good["share_code"]}).status_code == 200
    assert br.post("/v1/clinic/claim", headers=ah, json={"share_code": good["share_code"]}).status_code == 200
    r1 = br.post("/v1/clinic/claim", headers=ah, json={"share_code": theirs["share_code"]})
    r2 = br.post("/v1/clinic/claim", headers=ah, json={"share_code": "ABCD-EFGH-JKMN"})
    assert r1.status_code == r2.status_code == 404 and r1.json()["detail"] == r2.json()["detail"]
    assert br.post("/v1/clinic/claim", headers=ah, json={"share_code": "BCDE-FGHJ-KMNP"}).status_code == 404
    r = br.post("/v1/clinic/claim", headers=ah, json={"share_code": good["share_code"]})
    assert r.status_code == 429 and "share codes" in r.json()["detail"]
    # the other clinic, from another address, is not held up
    other = site.browser()
    assert other.post("/v1/clinic/claim", headers=bh, json={"share_code": theirs["share_code"]}).status_code == 200
    for x in site.browsers:
        x.client.__exit__(None, None, None)


# --- 6. user management, logout with an API key, versions, CSV ---------------------------------------------


def test_admin_deactivates_resets_and_ends_sessions(site: Site, make_clinic: Any) -> None:
    a, b = make_clinic(), make_clinic()
    br = site.browser()
    admin = br.api_login(str(a["admin_email"]))
    users = {u["email"]: u for u in br.get("/v1/clinic/users", headers=admin).json()}
    doc = users[str(a["clinician_email"])]
    assert doc["active"] and set(users) == {a["admin_email"], a["clinician_email"]}
    # a clinician is not an administrator; another clinic's admin cannot touch A's users
    s1 = br.api_login(str(a["clinician_email"]))
    assert br.get("/v1/clinic/users", headers=s1).status_code == 403
    other_admin = br.api_login(str(b["admin_email"]))
    assert br.post(f"/v1/clinic/users/{doc['id']}/deactivate", headers=other_admin).status_code == 404
    # end sessions: the clinician's sessions stop working, they can log in again
    s2 = br.api_login(str(a["clinician_email"]))
    r = br.delete(f"/v1/clinic/users/{doc['id']}/sessions", headers=admin)
    assert r.status_code == 200 and r.json()["sessions_ended"] >= 2
    for h in (s1, s2):
        assert br.get("/v1/me", headers=h).status_code == 401
    s3 = br.api_login(str(a["clinician_email"]))
    # reset: a one-time code, shown once; the old password and the sessions end at once
    r = br.post(f"/v1/clinic/users/{doc['id']}/reset-password", headers=admin)
    assert r.status_code == 201
    code = r.json()["code"]
    assert br.get("/v1/me", headers=s3).status_code == 401
    assert br.post("/v1/auth/login", json={"email": a["clinician_email"], "password": PASSWORD}).status_code == 401
    new = "a brand new passphrase"
    assert br.post("/v1/auth/reset-password", json={"code": code, "new_password": new}).status_code == 204
    assert br.post("/v1/auth/reset-password", json={"code": code, "new_password": new + "!"}).status_code == 404
    assert br.post("/v1/auth/login", json={"email": a["clinician_email"], "password": new}).status_code == 200
    with site.database.read() as s:
        assert code not in str(s.scalars(select(accounts.Token.token_hash)).all())
    # deactivate: no login, every session ends; the admin cannot deactivate themselves
    s4 = br.api_login(str(a["clinician_email"]), new)
    r = br.post(f"/v1/clinic/users/{doc['id']}/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["open_sessions"] == 0
    assert br.get("/v1/me", headers=s4).status_code == 401
    assert br.post("/v1/auth/login", json={"email": a["clinician_email"], "password": new}).status_code == 401
    me = users[str(a["admin_email"])]
    assert br.post(f"/v1/clinic/users/{me['id']}/deactivate", headers=admin).status_code == 409
    assert br.post(f"/v1/clinic/users/{doc['id']}/activate", headers=admin).json()["active"] is True
    assert br.post("/v1/auth/login", json={"email": a["clinician_email"], "password": new}).status_code == 200
    actions = [e["action"] for e in br.get("/v1/clinic/audit", headers=admin).json()]
    assert {"user_end_sessions", "user_reset_password", "user_deactivate", "user_activate"} <= set(actions)


def test_logout_with_an_api_key_says_so_and_admins_revoke_keys(site: Site, make_clinic: Any) -> None:
    a = make_clinic()
    br = site.browser()
    admin = br.api_login(str(a["admin_email"]))
    r = br.post("/v1/clinic/tokens", headers=admin, json={"name": "EHR"})
    key_id, key = r.json()["id"], {"Authorization": f"Bearer {r.json()['token']}"}
    r = br.post("/v1/auth/logout", headers=key)
    assert r.status_code == 409 and "API key is not a login session" in r.json()["detail"]
    assert br.get("/v1/me", headers=key).status_code == 200  # unaffected, as the answer said
    assert br.delete(f"/v1/clinic/tokens/{key_id}", headers=admin).status_code == 204
    assert br.get("/v1/me", headers=key).status_code == 401
    assert br.post("/v1/auth/logout", headers=admin).status_code == 204
    assert br.get("/v1/me", headers=admin).status_code == 401


def test_cli_admin_user_commands(database: Any, make_clinic: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from painpath.cli import app
    from painpath.config import get_settings

    a = make_clinic(("clinician",))
    email = str(a["clinician_email"])
    monkeypatch.setenv("DATABASE_URL", database.url)
    get_settings.cache_clear()
    try:
        run = CliRunner().invoke
        r = run(app, ["admin", "reset-password", email])
        assert r.exit_code == 0, r.output
        codes = [line for line in r.stdout.splitlines() if line.startswith("ppr_")]  # the database line goes to stderr
        assert len(codes) == 1, r.output
        code = codes[0]
        accounts.finish_password_reset(database, code, "another good passphrase", "cli-test", window=60)
        with database.write() as s:
            user = s.scalar(select(User).where(User.email == email))
            accounts.issue_token(s, user.clinic_id, kind="session", user_id=user.id, hours=1)  # type: ignore[union-attr]
        r = run(app, ["admin", "end-sessions", email])
        assert r.exit_code == 0 and "1 session(s)" in r.output, r.output
        r = run(app, ["admin", "deactivate-user", email])
        assert r.exit_code == 0, r.output
        with database.read() as s:
            assert s.scalar(select(User.active).where(User.email == email)) is False
        r = run(app, ["admin", "deactivate-user", "nobody@example.org"])
        assert r.exit_code == 2 and "no user" in r.output
    finally:
        get_settings.cache_clear()


def test_no_versions_for_anonymous_callers(site: Site, make_clinic: Any) -> None:
    from painpath import __version__

    a = make_clinic(("clinician",))
    br = site.browser()
    r = br.get("/v1/version")
    assert r.status_code == 401 and __version__ not in r.text
    assert br.get("/v1/version", headers=br.api_login(str(a["clinician_email"]))).json()["app_version"] == __version__
    assert br.get("/openapi.json").json()["info"]["version"] == "1"


def test_server_runs_without_a_server_header(site: Site) -> None:
    import socket

    import uvicorn

    from painpath.cli.serve_cmd import uvicorn_options
    from painpath.config import Settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=port, lifespan="off",
                                           **uvicorn_options(Settings())))  # type: ignore[arg-type]
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        r = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5)
        assert r.status_code == 200 and "server" not in r.headers
    finally:
        server.should_exit = True
        t.join(10)


FORMULAS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1+1", " =1+1", "  @x", "\u3000=1", "＝1+1",
            "＋1", "－1", "＠x", "﹦1", "﹢1", "﹣1", "|calc", "%0A", "\u200b=1", "\x00=1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_csv_cells_never_start_a_formula(value: str) -> None:
    from painpath.api.routes_stored import _cell

    assert _cell(value) == "'" + value


def test_csv_export_guards_every_cell(site: Site, make_clinic: Any) -> None:
    import csv
    import io

    a = make_clinic(("clinician",))
    br = site.browser()
    h = br.api_login(str(a["clinician_email"]))
    refs = ["\n=1+1", " =cmd|' /C calc'!A0", "＝1+1", "ok-ref"]
    for ref in refs:
        finish_via_api(br.client, headers=h, patient_ref=ref)
    rows = list(csv.DictReader(io.StringIO(br.get("/v1/clinic/export", headers=h).text)))
    got = {r["patient_ref"] for r in rows}
    assert got == {"'" + r for r in refs[:3]} | {"ok-ref"}, got


def test_audit_entries_name_the_actor(site: Site, make_clinic: Any) -> None:
    a = make_clinic()
    br = site.browser()
    rec = finish_via_api(br.client, intake_code=str(a["intake_code"]))
    with site.database.read() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.assessment_id == rec["id"])).all()
    assert {(r.actor, r.action) for r in rows} == {("patient", "create"), ("patient", "answer"), ("patient", "finish")}
    assert {r.clinic_id for r in rows} == {a["id"]}
