"""The use cases of a stored assessment: finish, amend, start a follow-up.

They decide; storage loads and saves. Storage is reached through :class:`AssessmentRepository`, a small
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
from painpath.errors import ConflictError, PermissionDeniedError
from painpath.interview import InterviewState, answer
from painpath.services.conclude import FollowUpInput, conclude

__all__ = ["AssessmentRepository", "amend", "finish", "start_followup"]

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

    def check_owner(self, record: R, keys: Sequence[str]) -> None:
        """Refuse (``PermissionDeniedError``) answers the caller may not change on this record."""
        ...

    def reopen(self, record: R, state: InterviewState, answered: Sequence[str]) -> None:
        """Keep the earlier result in the record's history, store ``state`` (and its mode) and mark it in progress."""
        ...

    def audit_change(self, record: R, action: str, detail: str = "") -> None: ...

    def create_followup(self, record: R, *, age: int, sex: str, mode: str, setting: str | None) -> C_co:
        """A new in-progress record in ``record``'s follow-up chain, with its clinic."""
        ...


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
          mode: str | None = None, ckb: CompiledKB | None = None) -> R:
    """Change answers of a finished assessment (e.g. a clinician adds examination findings) and conclude it
    again. The earlier result is kept in the record's history; only a clinic may switch the mode to
    ``clinician``."""
    ckb = ckb or default_compiled()
    rec = repo.load(assessment_id, for_update=True)
    if not repo.is_finished(rec):
        raise ConflictError("status: the assessment is still in progress; answer it instead")
    state = repo.state(rec)
    repo.check_owner(rec, list(values))
    if mode is not None and mode != state.mode:
        if mode != Mode.CLINICIAN or not repo.by_clinic:
            raise PermissionDeniedError("mode: only a clinician or API key can switch an assessment to clinician mode")
        state = state.model_copy(update={"mode": Mode.CLINICIAN.value})
    state = answer(state, values, ckb, screen=None)  # type: ignore[arg-type]  # values were validated by the API schema (AnswerName)
    repo.reopen(rec, state, list(values))
    rec = finish(repo, assessment_id, ckb=ckb)
    repo.audit_change(rec, "amend", detail=f"answers: {', '.join(sorted(values))}" + (f"; mode {mode}" if mode else ""))
    return rec


def start_followup(repo: AssessmentRepository[Any, C_co], assessment_id: str) -> C_co:
    """A new interview in the chain of a finished assessment, for the same person. A person's own follow-up is
    a self-mode interview even if a clinician examined them last time; a clinic's keeps the mode and setting."""
    rec = repo.load(assessment_id)
    if not repo.is_finished(rec):
        raise ConflictError("status: finish the assessment before starting a follow-up")
    st = repo.state(rec)
    if repo.by_clinic:
        return repo.create_followup(rec, age=st.age, sex=st.sex, mode=st.mode, setting=st.setting)
    return repo.create_followup(rec, age=st.age, sex=st.sex, mode=Mode.SELF.value, setting=None)
