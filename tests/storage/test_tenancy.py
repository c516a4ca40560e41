"""Tenancy in the query layer: painpath.storage.assessments called directly (finish, amend and follow-ups through
the use cases of painpath.services over its repository), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from painpath import services
from painpath.careplan import OutcomeSnapshot
from painpath.errors import NotFoundError, PermissionDeniedError
from painpath.storage import assessments as store
from painpath.storage.accounts import Principal
from painpath.storage.models import AssessmentRecord, AuditEntry

ANSWERS = {"low_back_pain": "present", "pain_below_knee": "present"}


def _clinic(database, make_clinic) -> Principal:  # type: ignore[no-untyped-def]
    c = make_clinic(())  # no users: no password hashing needed
    return Principal(kind="clinician", clinic_id=int(c["id"]))  # type: ignore[call-overload]


def _record(database, who: Principal | None, *, finish: bool) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with database.write() as s:
        created = services.create(store.AssessmentStore(s, who), age=55, sex="male")
        aid = created.record.id
    owner = who or Principal(kind="patient", assessment_id=aid)
    with database.write() as s:
        services.record_answers(store.AssessmentStore(s, owner), aid, ANSWERS)
        if finish:
            services.finish(store.AssessmentStore(s, owner), aid)
    return aid, created.share_code


def _operations(aid: str):  # type: ignore[no-untyped-def]
    """Every store function (and use case over the store) that takes an assessment id, as (name, call(session, who))."""
    return [
        ("load", lambda s, w: store.load(s, w, aid)),
        ("load_for_update", lambda s, w: store.load(s, w, aid, for_update=True)),
        ("read", lambda s, w: store.read(s, w, aid)),
        ("record_answers", lambda s, w: services.record_answers(store.AssessmentStore(s, w), aid, {"calf_pain": "present"})),
        ("withdraw_answers", lambda s, w: services.withdraw_answers(store.AssessmentStore(s, w), aid,
                                                                    findings=["low_back_pain"])),
        ("set_outcome", lambda s, w: store.set_outcome(s, w, aid, OutcomeSnapshot(pain=5))),
        ("finish", lambda s, w: services.finish(store.AssessmentStore(s, w), aid)),
        ("amend", lambda s, w: services.amend(store.AssessmentStore(s, w), aid, {"calf_pain": "present"})),
        ("start_followup", lambda s, w: services.start_followup(store.AssessmentStore(s, w), aid)),
        ("followups", lambda s, w: store.followups(s, w, aid)),
    ]


def _assert_not_found(database, who: Principal, aid: str) -> None:  # type: ignore[no-untyped-def]
    with database.read() as s:
        before = s.get(AssessmentRecord, aid)
        snapshot = (before.revision, before.status, before.state, before.clinic_id)  # type: ignore[union-attr]
        n_before = s.scalar(select(func.count()).select_from(AssessmentRecord))
    for name, op in _operations(aid):
        with pytest.raises(NotFoundError) as exc, database.write() as s:
            op(s, who)
        assert str(exc.value).startswith("assessment:"), name
    with database.read() as s:
        after = s.get(AssessmentRecord, aid)
        assert (after.revision, after.status, after.state, after.clinic_id) == snapshot  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(AssessmentRecord)) == n_before


def test_clinic_principal_cannot_reach_another_clinics_record(database, make_clinic):
    a, b = _clinic(database, make_clinic), _clinic(database, make_clinic)
    b_open, _ = _record(database, b, finish=False)
    b_done, b_code = _record(database, b, finish=True)
    for aid in (b_open, b_done):
        _assert_not_found(database, a, aid)
    # the same calls work for B (so the test above is not passing for another reason)
    with database.write() as s:
        assert store.read(s, b, b_done).id == b_done
        assert store.followups(s, b, b_done) == []
    # an API key of A is no different
    a_key = Principal(kind="api", clinic_id=a.clinic_id, token_id=None, role="integration")
    _assert_not_found(database, a_key, b_done)
    # lists hold only the clinic's own
    with database.write() as s:
        mine = store.list_for_clinic(s, a, limit=1000)
        theirs = {r.id for r in store.list_for_clinic(s, b, limit=1000)}
    assert not {r.id for r in mine} & {b_open, b_done}
    assert {b_open, b_done} <= theirs
    # claiming B's record is "not found" (as an unknown code), and it stays with B
    with pytest.raises(NotFoundError), database.write() as s:
        store.claim(s, a, b_code)
    with database.read() as s:
        assert s.get(AssessmentRecord, b_done).clinic_id == b.clinic_id  # type: ignore[union-attr]


def test_patient_principal_reaches_only_its_own_record(database, make_clinic):
    x, _ = _record(database, None, finish=True)
    y, _ = _record(database, None, finish=False)
    b = _clinic(database, make_clinic)
    z, _ = _record(database, b, finish=True)
    px = Principal(kind="patient", assessment_id=x)
    for aid in (y, z):
        _assert_not_found(database, px, aid)
    with database.write() as s:
        assert store.read(s, px, x).id == x
    # a patient principal without an assessment sees nothing at all
    _assert_not_found(database, Principal(kind="patient"), x)
    # patients cannot list or claim
    with pytest.raises(PermissionDeniedError), database.write() as s:
        store.list_for_clinic(s, px)
    with pytest.raises(PermissionDeniedError), database.write() as s:
        store.claim(s, px, "ABCD-EFGH-JKMN")


def test_refused_reads_leave_no_audit_trail_but_own_reads_do(database, make_clinic):
    a, b = _clinic(database, make_clinic), _clinic(database, make_clinic)
    b_done, _ = _record(database, b, finish=True)
    with pytest.raises(NotFoundError), database.write() as s:
        store.read(s, a, b_done)
    with database.write() as s:
        store.read(s, b, b_done)
    with database.read() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.assessment_id == b_done, AuditEntry.action == "read")).all()
    assert [r.clinic_id for r in rows] == [b.clinic_id]
