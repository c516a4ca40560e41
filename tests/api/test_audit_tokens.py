"""The audit log, API keys, sessions, logins and rate limits, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select, update

from painpath.storage.models import AuditEntry, Token, User
from tests.conftest import login, unique


@pytest.fixture
def client(make_client):  # type: ignore[no-untyped-def]
    """The default app, but from a fresh client address: this module's 401s must not use up the shared limit."""
    return make_client()


def _audit(database, clinic_id: int, aid: str | None = None) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with database.read() as s:
        q = select(AuditEntry).where(AuditEntry.clinic_id == clinic_id)
        if aid is not None:
            q = q.where(AuditEntry.assessment_id == aid)
        return list(s.scalars(q.order_by(AuditEntry.id)))


def _token_row(database, raw: str) -> Token:  # type: ignore[no-untyped-def]
    with database.read() as s:
        tok = s.scalar(select(Token).where(Token.token_hash == hashlib.sha256(raw.encode()).hexdigest()))
        assert tok is not None
        return tok


def _user_id(database, email: str) -> int:  # type: ignore[no-untyped-def]
    with database.read() as s:
        return s.scalar(select(User.id).where(User.email == email))  # type: ignore[return-value]


def _shared(client, clinic) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """A finished assessment a patient started with the clinic's intake code."""
    r = client.post("/v1/assessments", json={"age": 61, "sex": "male", "intake_code": clinic["intake_code"]})
    assert r.status_code == 201
    aid, h = r.json()["assessment"]["id"], {"Authorization": f"Bearer {r.json()['patient_token']}"}
    client.put(f"/v1/assessments/{aid}/answers", headers=h, json={"answers": {"low_back_pain": "present"}})
    client.post(f"/v1/assessments/{aid}/finish", headers=h)
    return aid, h


# --- the audit log -------------------------------------------------------------------------------

def test_every_clinic_read_is_audited_and_patient_reads_are_not(client, database, make_clinic):
    clinic = make_clinic()
    cid = int(clinic["id"])
    ch = login(client, clinic["clinician_email"])
    ah = login(client, clinic["admin_email"])
    key = client.post("/v1/clinic/tokens", headers=ah, json={"name": "EHR"}).json()
    kh = {"Authorization": f"Bearer {key['token']}"}
    aid, ph = _shared(client, clinic)
    uid = _user_id(database, str(clinic["clinician_email"]))

    # patient reads write nothing
    n = len(_audit(database, cid))
    assert client.get(f"/v1/assessments/{aid}", headers=ph).status_code == 200
    assert client.get(f"/v1/assessments/{aid}/followups", headers=ph).status_code == 200
    assert len(_audit(database, cid)) == n

    reads = [
        ("read", lambda h: client.get(f"/v1/assessments/{aid}", headers=h)),
        ("list", lambda h: client.get("/v1/clinic/assessments", headers=h)),
        ("export", lambda h: client.get("/v1/clinic/export?format=csv", headers=h)),
        ("export", lambda h: client.get("/v1/clinic/export?format=json", headers=h)),
        ("list", lambda h: client.get(f"/v1/assessments/{aid}/followups", headers=h)),
    ]
    fu = client.post(f"/v1/assessments/{aid}/followups", headers=ph)  # so the follow-up list has a row
    assert fu.status_code == 201
    fid = fu.json()["assessment"]["id"]
    for action, call in reads:
        for h, user_id, token_id in ((ch, uid, _token_row(database, ch["Authorization"].split()[1]).id),
                                     (kh, None, key["id"])):
            before = {e.id for e in _audit(database, cid)}
            r = call(h)
            assert r.status_code == 200, r.text
            new = [e for e in _audit(database, cid) if e.id not in before]
            assert new, f"{action}: no audit entry"
            assert {e.action for e in new} == {action}
            assert all(e.user_id == user_id and e.token_id == token_id for e in new), action
            touched = {e.assessment_id for e in new}
            if action == "list" and "followups" in r.url.path:
                assert touched == {fid}
            else:
                assert aid in touched

    # the admin reads the log back through the API; clinicians and API keys may not
    r = client.get(f"/v1/clinic/audit?assessment_id={aid}", headers=ah)
    assert r.status_code == 200
    actions = {e["action"] for e in r.json()}
    assert {"read", "list", "export"} <= actions
    assert all(e["assessment_id"] == aid for e in r.json())
    assert client.get("/v1/clinic/audit", headers=ch).status_code == 403
    assert client.get("/v1/clinic/audit", headers=kh).status_code == 403
    assert client.get("/v1/clinic/audit", headers=ph).status_code == 403
    assert client.get("/v1/clinic/audit").status_code == 401


def test_writes_by_clinic_are_audited(client, database, make_clinic):
    clinic = make_clinic(("clinician",))
    cid = int(clinic["id"])
    ch = login(client, clinic["clinician_email"])
    r = client.post("/v1/assessments", headers=ch, json={"age": 40, "sex": "female", "mode": "clinician"})
    aid = r.json()["assessment"]["id"]
    client.put(f"/v1/assessments/{aid}/answers", headers=ch, json={"answers": {"slr_positive": "present"}})
    client.post(f"/v1/assessments/{aid}/withdraw", headers=ch, json={"findings": ["slr_positive"]})
    client.put(f"/v1/assessments/{aid}/outcome", headers=ch, json={"pain": 5})
    client.post(f"/v1/assessments/{aid}/finish", headers=ch)
    assert [e.action for e in _audit(database, cid, aid)] == ["create", "answer", "withdraw", "outcome", "finish"]


# --- API keys ----------------------------------------------------------------------------------

def test_api_key_create_list_revoke(client, database, make_clinic):
    clinic = make_clinic()
    ah = login(client, clinic["admin_email"])
    ch = login(client, clinic["clinician_email"])
    assert client.post("/v1/clinic/tokens", headers=ch, json={"name": "x"}).status_code == 403
    r = client.post("/v1/clinic/tokens", headers=ah, json={"name": "EHR integration"})
    assert r.status_code == 201
    created = r.json()
    raw = created["token"]
    assert raw.startswith("ppk_") and len(raw) > 40 and created["prefix"] == raw[:10]
    # stored only as a SHA-256: no column of the row holds the token
    row = _token_row(database, raw)
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert row.kind == "api" and row.clinic_id == int(clinic["id"]) and row.user_id is None
    with database.read() as s:
        values = [str(v) for v in s.execute(select(Token.__table__).where(Token.id == row.id)).one()]
    assert not any(raw in v or raw[10:] in v for v in values)
    # listed without the token
    r = client.get("/v1/clinic/tokens", headers=ah)
    listed = [t for t in r.json() if t["id"] == created["id"]]
    assert len(listed) == 1 and "token" not in listed[0] and listed[0]["revoked_at"] is None
    assert raw not in r.text
    assert client.get("/v1/clinic/tokens", headers=ch).status_code == 403
    # the key works, and revoking it stops it at once
    kh = {"Authorization": f"Bearer {raw}"}
    assert client.get("/v1/clinic/assessments", headers=kh).status_code == 200
    assert client.get("/v1/me", headers=kh).json()["kind"] == "api"
    assert client.delete(f"/v1/clinic/tokens/{created['id']}", headers=ch).status_code == 403
    assert client.delete(f"/v1/clinic/tokens/{created['id']}", headers=ah).status_code == 204
    r = client.get("/v1/clinic/assessments", headers=kh)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    listed = [t for t in client.get("/v1/clinic/tokens", headers=ah).json() if t["id"] == created["id"]]
    assert listed[0]["revoked_at"] is not None
    actions = [e.action for e in _audit(database, int(clinic["id"]))]
    assert "token_create" in actions and "token_revoke" in actions
    # another clinic cannot revoke this clinic's keys
    other = make_clinic(("admin",))
    oh = login(client, other["admin_email"])
    r2 = client.post("/v1/clinic/tokens", headers=ah, json={"name": "second"}).json()
    assert client.delete(f"/v1/clinic/tokens/{r2['id']}", headers=oh).status_code == 404
    assert client.get("/v1/clinic", headers={"Authorization": f"Bearer {r2['token']}"}).status_code == 200


# --- sessions ------------------------------------------------------------------------------------

def test_logout_revokes_the_session(client, make_clinic):
    clinic = make_clinic(("clinician",))
    h1 = login(client, clinic["clinician_email"])
    h2 = login(client, clinic["clinician_email"])
    assert client.get("/v1/me", headers=h1).json()["email"] == clinic["clinician_email"]
    assert client.post("/v1/auth/logout", headers=h1).status_code == 204
    assert client.get("/v1/me", headers=h1).status_code == 401
    assert client.get("/v1/clinic/assessments", headers=h1).status_code == 401
    assert client.get("/v1/me", headers=h2).status_code == 200  # other sessions go on


def test_expired_session_is_refused(client, database, make_clinic):
    clinic = make_clinic(("clinician",))
    h = login(client, clinic["clinician_email"])
    assert client.get("/v1/clinic", headers=h).status_code == 200
    tok = _token_row(database, h["Authorization"].split()[1])
    assert tok.expires_at is not None
    with database.write() as s:
        s.execute(update(Token).where(Token.id == tok.id)
                  .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    r = client.get("/v1/clinic", headers=h)
    assert r.status_code == 401 and r.json()["detail"].startswith("token:")


def test_inactive_users_session_is_refused(client, database, make_clinic):
    clinic = make_clinic(("clinician",))
    h = login(client, clinic["clinician_email"])
    assert client.get("/v1/me", headers=h).status_code == 200
    with database.write() as s:
        s.execute(update(User).where(User.email == clinic["clinician_email"]).values(active=False))
    assert client.get("/v1/me", headers=h).status_code == 401
    # nor can the user log in again
    r = client.post("/v1/auth/login", json={"email": clinic["clinician_email"], "password": clinic["password"]})
    assert r.status_code == 401


def test_session_token_stored_hashed_and_login_reports_role(client, database, make_clinic):
    clinic = make_clinic(("admin",))
    r = client.post("/v1/auth/login", json={"email": str(clinic["admin_email"]).upper(), "password": clinic["password"]})
    assert r.status_code == 200
    body = r.json()
    assert body["token"].startswith("pps_") and body["clinic"] == clinic["slug"] and body["role"] == "admin"
    row = _token_row(database, body["token"])
    assert row.kind == "session" and row.token_hash != body["token"]


# --- logins and rate limits ----------------------------------------------------------------------

def test_wrong_password_and_unknown_email_look_the_same(client, make_clinic):
    clinic = make_clinic(("clinician",))
    wrong = client.post("/v1/auth/login", json={"email": clinic["clinician_email"], "password": "not the password"})
    unknown = client.post("/v1/auth/login", json={"email": f"{unique('nobody')}@example.org", "password": "whatever12"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.json()["errors"] == unknown.json()["errors"]
    assert wrong.headers["content-type"].startswith("application/problem+json")


def test_login_rate_limit(make_client, make_clinic):
    c = make_client(login_attempts=3, login_window_seconds=600)
    clinic = make_clinic(("clinician",))
    email = clinic["clinician_email"]
    for _ in range(3):
        assert c.post("/v1/auth/login", json={"email": email, "password": "not the password"}).status_code == 401
    # now even the right password is refused, with a Retry-After
    r = c.post("/v1/auth/login", json={"email": email, "password": clinic["password"]})
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(r.headers["retry-after"]) <= 601
    # the limit is per email: another user from the same client still logs in
    other = make_clinic(("clinician",))
    assert c.post("/v1/auth/login", json={"email": other["clinician_email"], "password": other["password"]}).status_code == 200
    # and per client: the same email from another address still logs in
    c2 = make_client(login_attempts=3, login_window_seconds=600)
    assert c2.post("/v1/auth/login", json={"email": email, "password": clinic["password"]}).status_code == 200


def test_bad_bearer_tokens_are_rate_limited(make_client, make_clinic):
    c = make_client(token_failures=4, token_window_seconds=600)
    clinic = make_clinic(("clinician",))
    good = login(c, clinic["clinician_email"])
    for i in range(4):
        r = c.get("/v1/me", headers={"Authorization": f"Bearer pps_guess{i}"})
        assert r.status_code == 401
    r = c.get("/v1/me", headers={"Authorization": "Bearer ppk_another-guess"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.headers["content-type"].startswith("application/problem+json")
    # a valid token is not held up by the limit
    assert c.get("/v1/me", headers=good).status_code == 200
    # and another client is not affected
    c2 = make_client(token_failures=4, token_window_seconds=600)
    assert c2.get("/v1/me", headers={"Authorization": "Bearer pps_guess"}).status_code == 401


def test_many_emails_from_one_client_are_rate_limited(make_client, make_clinic):
    c = make_client(login_attempts=1, login_window_seconds=600)  # per client: 10 failures over all emails
    for i in range(10):
        r = c.post("/v1/auth/login", json={"email": f"guess{i}@example.org", "password": "not the password"})
        assert r.status_code == 401
    clinic = make_clinic(("clinician",))
    r = c.post("/v1/auth/login", json={"email": clinic["clinician_email"], "password": clinic["password"]})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    other = make_client(login_attempts=1, login_window_seconds=600)
    assert other.post("/v1/auth/login", json={"email": clinic["clinician_email"],
                                              "password": clinic["password"]}).status_code == 200
