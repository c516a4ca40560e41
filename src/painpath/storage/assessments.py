"""Stored assessments: interviews that are created, answered, finished, shared and followed up.

Tenancy lives here, in the query layer: a clinic principal's every query is
filtered by its ``clinic_id`` (:func:`_visible`), a patient token reaches only
its own assessment, and a record that exists but is not visible is reported as
not found, so its existence does not leak. Every read of an assessment by a
clinician or API key adds a row to the audit log, and so does every change by
anyone, patients included.

Relations are walked the same way: a follow-up chain (the first assessment and
its follow-ups) can span clinics when a patient shared its parts with different
ones, so :func:`chain` returns only the records of the starting record's own
clinic (for a patient's unshared record, only the unshared ones). Follow-up
comparisons, trends and follow-up lists all go through it.

Answers have owners: the record keeps which findings a clinic answered
(``clinic_findings``); the rule of who may change which answer is a use case
(``painpath.services.stored``), as are creating, answering and withdrawing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, or_, select, update
from sqlalchemy.orm import Session

from painpath.assessment import Assessment
from painpath.careplan import CarePlan, FollowUpResult, OutcomeSnapshot
from painpath.domain import setting_for
from painpath.engine import ENGINE_VERSION, CompiledKB, default_compiled
from painpath.errors import ConflictError, NotFoundError, PermissionDeniedError
from painpath.interview import InterviewState
from painpath.storage.accounts import (
    Principal,
    anonymous_key,
    claim_keys,
    count_attempt,
    format_code,
    hash_secret,
    intake_keys,
    new_token,
    normalise_code,
    share_code_for,
)
from painpath.storage.models import AssessmentRecord, AuditEntry, Clinic, RateEvent, utcnow


@dataclass(frozen=True)
class Created:
    record: AssessmentRecord
    patient_token: str
    share_code: str


def audit(s: Session, who: Principal, action: str, assessment_ids: Sequence[str | None] = (None,), detail: str = "",
          *, clinic_id: int | None = None, change: bool = False) -> None:
    """Record what a clinician or API key did, and every ``change`` a patient's token made (``clinic_id``: the
    clinic of the patient's assessment, None while no clinic has it; the clinic that receives it later receives
    these too). A patient's reads are not recorded: they reach only their own assessment."""
    cid: int | None
    if who.is_clinic and who.clinic_id is not None:
        cid, actor = who.clinic_id, "clinic"
    elif who.kind == "patient" and change:
        cid, actor = clinic_id, "patient"
    else:
        return
    for aid in assessment_ids:
        s.add(AuditEntry(clinic_id=cid, actor=actor, user_id=who.user_id, token_id=who.token_id, action=action,
                         assessment_id=aid, detail=detail[:500]))


def _audit_change(s: Session, who: Principal, action: str, rec: AssessmentRecord, detail: str = "") -> None:
    audit(s, who, action, [rec.id], detail=detail, clinic_id=rec.clinic_id, change=True)


def _own(rec: AssessmentRecord, who: Principal, keys: Sequence[str]) -> None:
    """Remember which findings a clinic answered (a patient may not change them afterwards)."""
    if who.is_clinic and keys:
        rec.clinic_findings = sorted({*(rec.clinic_findings or []), *keys})


def _visible(who: Principal) -> Select[AssessmentRecord]:
    q = select(AssessmentRecord)
    if who.is_clinic:
        return q.where(AssessmentRecord.clinic_id == who.clinic_id)
    if who.kind == "patient" and who.assessment_id:
        return q.where(AssessmentRecord.id == who.assessment_id)
    return q.where(AssessmentRecord.id.is_(None))  # nothing


def load(s: Session, who: Principal, assessment_id: str, *, for_update: bool = False) -> AssessmentRecord:
    q = _visible(who).where(AssessmentRecord.id == assessment_id)
    if for_update:
        q = q.with_for_update()
    rec = s.scalar(q)
    if rec is None:
        raise NotFoundError(f"assessment: no assessment '{assessment_id}' visible to you")
    _mark_links(s, [rec])
    return rec


def _mark_links(s: Session, recs: Sequence[AssessmentRecord]) -> None:
    """Decide for each record whether its ``followup_of`` may be shown (:func:`shown_followup_of`): only when the
    first assessment of its chain belongs to the same clinic (or, unshared, to none). One query for all."""
    ids = {r.followup_of for r in recs if r.followup_of}
    owners = dict(s.execute(select(AssessmentRecord.id, AssessmentRecord.clinic_id)
                            .where(AssessmentRecord.id.in_(ids))).all()) if ids else {}
    for r in recs:
        same = r.followup_of in owners and owners[r.followup_of] == r.clinic_id
        r.__dict__["_shown_followup_of"] = r.followup_of if same else None  # a plain attribute, never stored


def shown_followup_of(rec: AssessmentRecord) -> str | None:
    """The record's ``followup_of`` when its clinic may know that record (another clinic's id stays hidden)."""
    return rec.__dict__.get("_shown_followup_of")


def state_of(rec: AssessmentRecord) -> InterviewState:
    return InterviewState.model_validate(rec.state)


def _insert(s: Session, who: Principal | None, state: InterviewState, *, clinic_id: int | None,
            patient_ref: str | None = None, followup_of: str | None = None,
            ckb: CompiledKB | None = None) -> Created:
    """Store a new in-progress record of ``state`` (decided by ``painpath.services.create``), with its private
    token and share code, and audit ``create``."""
    ckb = ckb or default_compiled()
    token = new_token("ppp")
    code = share_code_for(token)
    now = utcnow()
    rec = AssessmentRecord(
        id=str(uuid.uuid4()), clinic_id=clinic_id, followup_of=followup_of, status="in_progress", mode=state.mode,
        setting=setting_for(state.mode, state.setting), patient_ref=patient_ref,
        state=state.model_dump(mode="json"), kb_version=ckb.kb.version, engine_version=ENGINE_VERSION,
        patient_token_hash=hash_secret(token), share_code_hash=hash_secret(code), revision=0,
        created_by_user_id=who.user_id if who else None, created_at=now, updated_at=now,
    )
    s.add(rec)
    s.flush()
    audit(s, who or Principal(kind="patient", assessment_id=rec.id), "create", [rec.id], clinic_id=clinic_id,
          change=True)
    _mark_links(s, [rec])
    return Created(rec, token, format_code(code))


def _save_state(rec: AssessmentRecord, state: InterviewState) -> None:
    rec.state = state.model_dump(mode="json")
    rec.revision += 1
    rec.updated_at = utcnow()


def set_outcome(s: Session, who: Principal, assessment_id: str, outcome: Any) -> AssessmentRecord:
    """Store pain and PSFS (a :class:`painpath.careplan.OutcomeSnapshot`) for an unfinished assessment."""
    rec = load(s, who, assessment_id, for_update=True)
    if rec.status != "in_progress":
        raise ConflictError("status: this assessment is finished and read-only; start a follow-up to record changes")
    rec.outcome = outcome.model_dump(mode="json")
    rec.revision += 1
    rec.updated_at = utcnow()
    _audit_change(s, who, "outcome", rec)
    return rec


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _same_clinic(rec: AssessmentRecord) -> ColumnElement[bool]:
    if rec.clinic_id is None:
        return AssessmentRecord.clinic_id.is_(None)
    return AssessmentRecord.clinic_id == rec.clinic_id


def chain(s: Session, who: Principal, rec: AssessmentRecord) -> list[AssessmentRecord]:
    """``rec``'s follow-up chain (its first assessment and that one's follow-ups, ``rec`` included), oldest first,
    limited to what ``who`` may see through ``rec``: records of ``rec``'s own clinic only (for an assessment no
    clinic has, only those no clinic has). ``rec`` must have been loaded for ``who`` (:func:`load`)."""
    root_id = rec.followup_of or rec.id
    q = select(AssessmentRecord).where(or_(AssessmentRecord.id == root_id, AssessmentRecord.followup_of == root_id),
                                       _same_clinic(rec))
    if who.is_clinic:
        q = q.where(AssessmentRecord.clinic_id == who.clinic_id)
    return list(s.scalars(q.order_by(AssessmentRecord.created_at, AssessmentRecord.id)))


def _earlier(s: Session, who: Principal, rec: AssessmentRecord) -> list[AssessmentRecord]:
    """The finished records of ``rec``'s visible chain before it, in the order they were finished."""
    done = [r for r in chain(s, who, rec) if r.id != rec.id and r.status == "finished"]
    return sorted(done, key=lambda r: _aware(r.finished_at or r.created_at))


class AssessmentStore:
    """The repository the use cases of :mod:`painpath.services.stored` (finish, amend, start a follow-up) work
    through: the records ``who`` may see in session ``s``, locked, written and audited here. It makes no
    domain decision: what an assessment concludes, and when it may change, is decided by the caller."""

    def __init__(self, s: Session, who: Principal | None, ckb: CompiledKB | None = None) -> None:
        """``who``: None for someone without a token (who may only create a record, and sees none)."""
        self.s, self.caller, self.ckb = s, who, ckb or default_compiled()
        self.who = who if who is not None else Principal(kind="patient")  # no assessment: sees nothing

    @property
    def by_clinic(self) -> bool:
        return self.who.is_clinic

    def load(self, assessment_id: str, *, for_update: bool = False) -> AssessmentRecord:
        return load(self.s, self.who, assessment_id, for_update=for_update)

    def is_finished(self, record: AssessmentRecord) -> bool:
        return record.status == "finished"

    def state(self, record: AssessmentRecord) -> InterviewState:
        return state_of(record)

    def followup_measurements(self, record: AssessmentRecord) -> tuple[OutcomeSnapshot, OutcomeSnapshot, float] | None:
        if record.outcome is None:
            return None
        prior = [r for r in _earlier(self.s, self.who, record) if r.outcome is not None]
        if not prior:
            return None
        first = chain(self.s, self.who, record)[0]
        weeks = (utcnow() - _aware(first.created_at)).total_seconds() / (7 * 86400)
        return (OutcomeSnapshot.model_validate(prior[-1].outcome), OutcomeSnapshot.model_validate(record.outcome),
                weeks)

    def save_conclusion(self, record: AssessmentRecord, *, assessment: Assessment, plan: CarePlan,
                        followup: FollowUpResult | None, level: str, kb_version: str) -> AssessmentRecord:
        rec = record
        if followup is not None:
            rec.followup = followup.model_dump(mode="json")
        rec.result = assessment.model_dump(mode="json")
        rec.plan = plan.model_dump(mode="json")
        rec.triage_level = level
        rec.top_condition = assessment.top.key
        rec.kb_version = kb_version
        rec.engine_version = ENGINE_VERSION
        rec.status = "finished"
        rec.revision += 1
        rec.finished_at = rec.updated_at = utcnow()
        _audit_change(self.s, self.who, "finish", rec)
        return rec

    def clinic_answered(self, record: AssessmentRecord) -> Sequence[str]:
        return list(record.clinic_findings or [])

    def check_revision(self, record: AssessmentRecord, expected: int | None) -> None:
        if expected is not None and expected != record.revision:
            raise ConflictError(f"revision: the assessment changed (now at revision {record.revision}, you sent "
                                f"{expected}); reload it and try again")

    def save_state(self, record: AssessmentRecord, state: InterviewState, *, answered: Sequence[str], action: str,
                   detail: str) -> AssessmentRecord:
        _save_state(record, state)
        _own(record, self.who, list(answered))
        _audit_change(self.s, self.who, action, record, detail=detail)
        return record

    def reopen(self, record: AssessmentRecord, state: InterviewState, answered: Sequence[str]) -> None:
        rec = record
        if state.mode != rec.mode:
            rec.mode = state.mode
            rec.setting = setting_for(state.mode, state.setting)
        earlier = {"at": (rec.finished_at or utcnow()).isoformat(), "triage_level": rec.triage_level,
                   "top_condition": rec.top_condition, "mode": (rec.result or {}).get("mode"), "result": rec.result,
                   "kb_version": rec.kb_version, "engine_version": rec.engine_version}
        rec.history = [*(rec.history or []), earlier]
        _save_state(rec, state)
        _own(rec, self.who, list(answered))
        rec.status = "in_progress"
        self.s.flush()

    def audit_change(self, record: AssessmentRecord, action: str, detail: str = "") -> None:
        _audit_change(self.s, self.who, action, record, detail=detail)

    def clinic_for_new(self, intake_code: str | None) -> int | None:
        if self.who.is_clinic:
            return self.who.clinic_id
        if not intake_code:
            return None
        clinic_id = self.s.scalar(select(Clinic.id).where(Clinic.intake_code == normalise_code(intake_code)))
        if clinic_id is None:
            raise NotFoundError("intake_code: no clinic has this intake code")
        return clinic_id

    def create(self, state: InterviewState, *, clinic_id: int | None, patient_ref: str | None) -> Created:
        return _insert(self.s, self.caller, state, clinic_id=clinic_id, patient_ref=patient_ref, ckb=self.ckb)

    def create_followup(self, record: AssessmentRecord, state: InterviewState) -> Created:
        """A new interview linked to the first assessment of ``record``'s chain, in ``record``'s clinic (a
        patient's is created without a principal: it belongs to the new record's token)."""
        who = self.who
        created = _insert(self.s, who if who.is_clinic else None, state, clinic_id=record.clinic_id,
                          patient_ref=record.patient_ref if who.is_clinic else None,
                          followup_of=record.followup_of or record.id, ckb=self.ckb)
        self.s.flush()
        _mark_links(self.s, [created.record])
        return created


def read(s: Session, who: Principal, assessment_id: str) -> AssessmentRecord:
    rec = load(s, who, assessment_id)
    audit(s, who, "read", [rec.id])
    return rec


def list_for_clinic(s: Session, who: Principal, *, status: str | None = None, level: str | None = None,
                    condition: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
                    limit: int = 50, offset: int = 0, audit_action: str = "list") -> list[AssessmentRecord]:
    if not who.is_clinic:
        raise PermissionDeniedError("only a clinician or API key can list a clinic's assessments")
    q = _visible(who)
    if status:
        q = q.where(AssessmentRecord.status == status)
    if level:
        q = q.where(AssessmentRecord.triage_level == level)
    if condition:
        q = q.where(AssessmentRecord.top_condition == condition)
    if since is not None:
        q = q.where(AssessmentRecord.created_at >= since)
    if until is not None:
        q = q.where(AssessmentRecord.created_at < until)
    q = q.order_by(AssessmentRecord.created_at.desc(), AssessmentRecord.id).limit(limit).offset(offset)
    rows = list(s.scalars(q))
    _mark_links(s, rows)
    audit(s, who, audit_action, [r.id for r in rows])
    return rows


def claim(s: Session, who: Principal, share_code: str) -> AssessmentRecord:
    """A clinic takes an assessment a patient shared by its code."""
    if not who.is_clinic:
        raise PermissionDeniedError("only a clinician or API key can receive a shared assessment")
    code = normalise_code(share_code)
    rec = s.scalar(select(AssessmentRecord).where(AssessmentRecord.share_code_hash == hash_secret(code)).with_for_update())
    if rec is None or (rec.clinic_id is not None and rec.clinic_id != who.clinic_id):
        # the same answer whether the code is unknown or another clinic's: a code's existence does not leak
        raise NotFoundError(UNCLAIMABLE)
    if rec.clinic_id is None:
        rec.clinic_id = who.clinic_id
        moved = [rec.id]
        for fu in s.scalars(select(AssessmentRecord).where(AssessmentRecord.followup_of == rec.id,
                                                            AssessmentRecord.clinic_id.is_(None))):
            fu.clinic_id = who.clinic_id
            moved.append(fu.id)
        # the patient's changes made before the clinic received the assessment become part of its audit log
        s.execute(update(AuditEntry).where(AuditEntry.assessment_id.in_(moved), AuditEntry.clinic_id.is_(None))
                  .values(clinic_id=who.clinic_id))
    s.flush()
    _mark_links(s, [rec])
    audit(s, who, "claim", [rec.id])
    return rec


UNCLAIMABLE = "share_code: no assessment with this code can be received by your clinic; check the code"


def claim_limited(db: Any, who: Principal, share_code: str, *, client: str, attempts: int, window: int) -> AssessmentRecord:
    """:func:`claim` in its own transaction, after counting the attempt: ``attempts`` failed claims per client and
    ``5 * attempts`` per clinic in ``window`` seconds (a code that works is not counted)."""
    if not who.is_clinic or who.clinic_id is None:
        raise PermissionDeniedError("only a clinician or API key can receive a shared assessment")
    by_client, by_clinic = claim_keys(who.clinic_id, client)
    events = count_attempt(db, [(by_client, attempts), (by_clinic, 5 * attempts)], window,
                           message="too many share codes tried")
    with db.write() as s:
        rec = claim(s, who, share_code)
        s.execute(delete(RateEvent).where(RateEvent.id.in_(events)))
    return rec


def count_anonymous(db: Any, *, client: str, per_client: int, window: int) -> None:
    """Count an assessment started without an account or intake code, or refuse it (429): nothing enters a
    clinic's list, but each one is a stored record, so one client may not start them without end."""
    count_attempt(db, [(anonymous_key(client), per_client)], window,
                  message="too many assessments started from this address; try again later")


def count_intake(db: Any, intake_code: str, *, client: str, per_client: int, per_code: int, window: int) -> None:
    """Count an assessment started without an account through a clinic's intake code, or refuse it (429)."""
    by_client, by_code = intake_keys(intake_code, client)
    count_attempt(db, [(by_client, per_client), (by_code, per_code)], window,
                  message="too many assessments started with this intake code")


def followups(s: Session, who: Principal, assessment_id: str) -> list[AssessmentRecord]:
    """The follow-ups in this assessment's chain that the caller may see through it (:func:`chain`), oldest first."""
    rec = load(s, who, assessment_id)
    rows = [r for r in chain(s, who, rec) if r.followup_of is not None]
    _mark_links(s, rows)
    return rows
