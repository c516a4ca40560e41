"""The use cases of a stored assessment: create, record and withdraw answers, finish, amend, start a follow-up.

They decide (the interview steps, what may be answered and by whom, when a record may change); storage loads
and saves. Storage is reached through :class:`AssessmentRepository`, a small
interface bound to one transaction and one caller, which ``painpath.storage.assessments.AssessmentStore``
implements: it finds only what the caller may see, locks, writes, and keeps the audit log. This module
imports no database code, and storage imports nothing from here (``tests/test_architecture.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from painpath.assessment import Assessment
from painpath.careplan import CarePlan, FollowUpResult, OutcomeSnapshot
from painpath.domain import Mode
from painpath.engine import CompiledKB, default_compiled
from painpath.errors import CaseError, ConflictError, PermissionDeniedError
from painpath.interview import InterviewState, Step, answer, start, withdraw
from painpath.interview.policy import validate_state
from painpath.interview.state import BOTH_LEGS, no_pain_anywhere
from painpath.services.conclude import FollowUpInput, conclude, next_step_final

__all__ = ["PATIENT_KINDS", "AssessmentRepository", "amend", "create", "finish", "pending_step", "record_answers",
           "start_followup", "withdraw_answers"]

PATIENT_KINDS = frozenset({"symptom", "history"})  # findings a patient may answer; "sign" is examination

R = TypeVar("R")  # a stored record, as the repository returns it (opaque here)
C_co = TypeVar("C_co", covariant=True)  # what creating a record returns (the record and its patient token)


class AssessmentRepository(Protocol[R, C_co]):
    """Storage as the use cases see it, for one caller in one transaction. Every ``load`` finds only what
    the caller may see (``NotFoundError`` otherwise); every change is audited by the repository."""

    @property
    def by_clinic(self) -> bool:
        """The caller is a clinician or a clinic's API key (not a patient's token)."""
        ...

    def load(self, assessment_id: str, *, for_update: bool = False) -> R: ...

    def is_finished(self, record: R) -> bool: ...

    def state(self, record: R) -> InterviewState: ...

    def followup_measurements(self, record: R) -> tuple[OutcomeSnapshot, OutcomeSnapshot, float] | None:
        """For a follow-up with pain / PSFS recorded: the last earlier measurement of its chain that the caller
        may see, this one, and the weeks since the chain's first assessment; None when there is nothing to
        compare."""
        ...

    def save_conclusion(self, record: R, *, assessment: Assessment, plan: CarePlan, followup: FollowUpResult | None,
                        level: str, kb_version: str) -> R:
        """Store the result, care plan, follow-up and final level, mark the record finished, audit ``finish``."""
        ...

    def clinic_answered(self, record: R) -> Sequence[str]:
        """The findings a clinic answered on this record."""
        ...

    def check_revision(self, record: R, expected: int | None) -> None:
        """Refuse (``ConflictError``) a change made against an older revision of the record (None: no check)."""
        ...

    def save_state(self, record: R, state: InterviewState, *, answered: Sequence[str], action: str,
                   detail: str) -> R:
        """Store ``state`` as the record's new revision; remember ``answered`` as the clinic's when the caller is a
        clinic; audit ``action``."""
        ...

    def reopen(self, record: R, state: InterviewState, answered: Sequence[str]) -> None:
        """Keep the earlier result in the record's history, store ``state`` (and its mode) and mark it in progress."""
        ...

    def audit_change(self, record: R, action: str, detail: str = "") -> None: ...

    def clinic_for_new(self, intake_code: str | None) -> int | None:
        """The clinic a new record goes to: the caller's, else the one with ``intake_code`` (``NotFoundError`` for
        an unknown code), else none."""
        ...

    def create(self, state: InterviewState, *, clinic_id: int | None, patient_ref: str | None) -> C_co:
        """A new in-progress record of ``state`` (created, audited)."""
        ...

    def create_followup(self, record: R, state: InterviewState) -> C_co:
        """A new in-progress record of ``state`` in ``record``'s follow-up chain, with its clinic."""
        ...


def _keys(values: Mapping[str, str] | Sequence[str]) -> str:
    return ", ".join(sorted(values))


def _answered(values: Mapping[str, str], side: str | None) -> list[str]:
    """The findings an update answers: its answers, and ``pain_both_legs`` when it gives a side."""
    return [*values, *([BOTH_LEGS] if side is not None and BOTH_LEGS not in values else [])]


def _new_state(age: int, sex: str, mode: str, setting: str | None, ckb: CompiledKB) -> InterviewState:
    state = start(age, sex, mode, setting)
    validate_state(state, ckb)
    return state


def create(repo: AssessmentRepository[Any, C_co], *, age: int, sex: str, mode: str = "self",
           setting: str | None = None, intake_code: str | None = None, patient_ref: str | None = None,
           ckb: CompiledKB | None = None) -> C_co:
    """A new stored interview. Only a clinic may start one in clinician mode or give its own patient reference;
    ``intake_code`` puts a patient's record into that clinic's list."""
    ckb = ckb or default_compiled()
    clinic_id = repo.clinic_for_new(intake_code)
    if mode == Mode.CLINICIAN and not repo.by_clinic:
        raise PermissionDeniedError("mode: clinician mode needs a clinician's or API key's token")
    if patient_ref is not None and not repo.by_clinic:
        raise PermissionDeniedError("patient_ref: only a clinic can set its own patient reference")
    return repo.create(_new_state(age, sex, mode, setting, ckb), clinic_id=clinic_id, patient_ref=patient_ref)


def _writable(repo: AssessmentRepository[R, Any], record: R) -> None:
    if repo.is_finished(record):
        raise ConflictError("status: this assessment is finished and read-only; start a follow-up to record changes")


def _check_owner(repo: AssessmentRepository[R, Any], record: R, state: InterviewState, keys: Sequence[str],
                 ckb: CompiledKB) -> None:
    """Answers have owners: a patient may not add or change examination findings (kind ``sign``) once a clinic
    works on the assessment (clinician mode, or any answer from a clinic), nor any answer a clinic recorded."""
    if repo.by_clinic:
        return
    owned = set(repo.clinic_answered(record))
    if state.mode != Mode.CLINICIAN and not owned:
        return
    findings = ckb.kb.findings.findings
    refused = [k for k in keys if k in owned or (k in findings and findings[k].kind not in PATIENT_KINDS)]
    if refused:
        raise PermissionDeniedError(
            f"answers: {_keys(refused)}: recorded by your clinician or an examination finding; only the clinic "
            "can change it (you can change your own answers about symptoms and history)")


def _known_screen(screen: str | None, ckb: CompiledKB) -> None:
    if screen is not None and screen not in ckb.kb.interview.screens:
        raise CaseError(f"screen: unknown screen '{screen}'")


def record_answers(repo: AssessmentRepository[R, Any], assessment_id: str, values: Mapping[str, str], *,
                   screen: str | None = None, revision: int | None = None, side: str | None = None,
                   ckb: CompiledKB | None = None) -> R:
    """Add or change answers of an interview in progress (``side``: which leg, see ``interview.answer``). A body
    map that says there is no pain anywhere is refused (``CaseError``) and nothing is stored."""
    ckb = ckb or default_compiled()
    rec = repo.load(assessment_id, for_update=True)
    _writable(repo, rec)
    repo.check_revision(rec, revision)
    _known_screen(screen, ckb)
    before = repo.state(rec)
    keys = _answered(values, side)
    _check_owner(repo, rec, before, keys, ckb)
    state = answer(before, values, ckb, screen=screen, side=side)  # type: ignore[arg-type]  # values were validated by the API schema (AnswerName)
    problems = no_pain_anywhere(state, ckb)
    if problems:
        raise CaseError("; ".join(problems))
    return repo.save_state(rec, state, answered=keys, action="answer",
                           detail=f"answers: {_keys(keys)}" + (f"; side {side}" if side else ""))


def withdraw_answers(repo: AssessmentRepository[R, Any], assessment_id: str, *, findings: list[str] | None = None,
                     screen: str | None = None, revision: int | None = None, ckb: CompiledKB | None = None) -> R:
    """Withdraw answers of an interview in progress, by finding or a whole screen (to go back)."""
    ckb = ckb or default_compiled()
    rec = repo.load(assessment_id, for_update=True)
    _writable(repo, rec)
    repo.check_revision(rec, revision)
    for k in findings or []:
        if k not in ckb.fidx:
            raise CaseError(f"findings.{k}: unknown finding key")
    _known_screen(screen, ckb)
    state = repo.state(rec)
    removed = list(findings or []) + ([a.finding for a in state.answers if a.screen == screen] if screen else [])
    _check_owner(repo, rec, state, removed, ckb)
    return repo.save_state(rec, withdraw(state, findings, screen=screen), answered=[], action="withdraw",
                           detail=f"withdrawn: {_keys(sorted(set(removed)))}")


def pending_step(state: InterviewState, *, finished: bool, ckb: CompiledKB | None = None) -> Step | None:
    """The next question of a stored interview, or its stop, at the one final level on the answers so far
    (:func:`painpath.services.next_step_final`); None once it is finished."""
    return None if finished else next_step_final(state, ckb or default_compiled())


def finish(repo: AssessmentRepository[R, Any], assessment_id: str, *, startback: Mapping[str, Any] | None = None,
           ckb: CompiledKB | None = None) -> R:
    """Conclude the assessment (:func:`painpath.services.conclude`) and store its result, care plan, follow-up
    comparison and final level. Finishing again returns the stored result unchanged."""
    ckb = ckb or default_compiled()
    rec = repo.load(assessment_id, for_update=True)
    if repo.is_finished(rec):
        return rec
    measured = repo.followup_measurements(rec)
    followup = FollowUpInput(*measured) if measured is not None else None
    done = conclude(repo.state(rec), ckb, startback=startback, followup=followup)
    return repo.save_conclusion(rec, assessment=done.assessment, plan=done.plan, followup=done.followup,
                                level=done.level, kb_version=ckb.kb.version)


def amend(repo: AssessmentRepository[R, Any], assessment_id: str, values: Mapping[str, str], *,
          mode: str | None = None, side: str | None = None, ckb: CompiledKB | None = None) -> R:
    """Change answers of a finished assessment (e.g. a clinician adds examination findings) and conclude it
    again. The earlier result is kept in the record's history; only a clinic may switch the mode to
    ``clinician``."""
    ckb = ckb or default_compiled()
    rec = repo.load(assessment_id, for_update=True)
    if not repo.is_finished(rec):
        raise ConflictError("status: the assessment is still in progress; answer it instead")
    state = repo.state(rec)
    keys = _answered(values, side)
    _check_owner(repo, rec, state, keys, ckb)
    if mode is not None and mode != state.mode:
        if mode != Mode.CLINICIAN or not repo.by_clinic:
            raise PermissionDeniedError("mode: only a clinician or API key can switch an assessment to clinician mode")
        state = state.model_copy(update={"mode": Mode.CLINICIAN.value})
    state = answer(state, values, ckb, screen=None, side=side)  # type: ignore[arg-type]  # values were validated by the API schema (AnswerName)
    repo.reopen(rec, state, keys)
    rec = finish(repo, assessment_id, ckb=ckb)
    repo.audit_change(rec, "amend", detail=f"answers: {_keys(keys)}" + (f"; mode {mode}" if mode else "")
                      + (f"; side {side}" if side else ""))
    return rec


def start_followup(repo: AssessmentRepository[Any, C_co], assessment_id: str, *,
                   ckb: CompiledKB | None = None) -> C_co:
    """A new interview in the chain of a finished assessment, for the same person. A person's own follow-up is
    a self-mode interview even if a clinician examined them last time; a clinic's keeps the mode and setting."""
    ckb = ckb or default_compiled()
    rec = repo.load(assessment_id)
    if not repo.is_finished(rec):
        raise ConflictError("status: finish the assessment before starting a follow-up")
    st = repo.state(rec)
    if repo.by_clinic:
        return repo.create_followup(rec, _new_state(st.age, st.sex, st.mode, st.setting, ckb))
    return repo.create_followup(rec, _new_state(st.age, st.sex, Mode.SELF.value, None, ckb))
