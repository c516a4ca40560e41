"""Simulated interviews: a case answers the system's questions by the benchmark rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from painpath.bench.scoring import score_predictions
from painpath.cases import Case, Mode, encode
from painpath.domain import Sex, setting_for
from painpath.engine import CompiledKB, default_compiled, posterior, triage_arrays
from painpath.engine.compiled import RANK_LEVEL
from painpath.interview.policy import next_step
from painpath.interview.state import AnswerValue, InterviewState, answer

__all__ = ["SimulationResult", "score_interviews", "simulate"]


class SimulationResult:
    """One simulated interview: screens shown (``questions``), findings asked (``answers``), the result."""

    def __init__(self, state: InterviewState, questions: int, stop_reason: str, post: np.ndarray, level: str,
                 answers: int = 0) -> None:
        self.state, self.questions, self.stop_reason, self.posterior, self.level = state, questions, stop_reason, post, level
        self.answers = answers


def _answer_for(case_ev: np.ndarray, ckb: CompiledKB, key: str) -> AnswerValue:
    v = case_ev[ckb.fidx[key]]
    return "present" if v > 0 else "absent" if v < 0 else "unknown"


def simulate(case: Case, mode: Mode = "self", *, ckb: CompiledKB | None = None) -> SimulationResult:
    """Run the interview; the simulated person answers each item from the case (signs unknown in self mode)."""
    ckb = ckb or default_compiled()
    truth = encode(case, ckb, mode)
    state = InterviewState(age=case.age, sex=case.sex, mode=mode)
    questions = answers = 0
    reason = "cap"
    for _ in range(200):
        step = next_step(state, ckb)
        if step.should_stop:
            reason = step.stop_reason
            break
        q = step.question
        assert q is not None
        if q.phase != "presenting":  # the presenting complaint is given up front, not counted
            questions += 1
            answers += len(q.findings)  # each finding asked counts one answer
        state = answer(state, {k: _answer_for(truth, ckb, k) for k in q.findings}, ckb, screen=q.screen)
    ev = state.evidence(ckb)[None, :]
    post = posterior(ckb, ev, np.array([case.age]), np.array([case.sex == Sex.FEMALE]), setting_for(mode))
    level = RANK_LEVEL[int(triage_arrays(ckb, ev, post, np.array([case.age])).level_rank[0])]
    return SimulationResult(state, questions, reason, post[0], level, answers)


def score_interviews(cases: Sequence[Case], mode: Mode, *, ckb: CompiledKB | None = None) -> dict[str, Any]:
    """Benchmark metrics on the interview results, plus question counts and agreement with all-findings results."""
    from painpath.assessment import assess_arrays
    from painpath.cases import encode_many

    ckb = ckb or default_compiled()
    sims = [simulate(c, mode, ckb=ckb) for c in cases]
    post = np.stack([s.posterior for s in sims])
    levels = [s.level for s in sims]
    out = score_predictions(ckb, cases, post, levels)
    ev, age, female = encode_many(list(cases), ckb, mode)
    full_post, full_rank = assess_arrays(ev, age, female, setting=setting_for(mode), ckb=ckb)
    q = np.array([s.questions for s in sims], dtype=float)
    a = np.array([s.answers for s in sims], dtype=float)
    out.update(
        {
            "questions_median": float(np.percentile(q, 50)),
            "questions_p90": float(np.percentile(q, 90)),
            "questions_max": int(q.max()),
            "answers_median": float(np.percentile(a, 50)),
            "answers_p90": float(np.percentile(a, 90)),
            "answers_max": int(a.max()),
            # top-1 is the highest-ranked candidate, "other" included (argmax: ties to the conditions)
            "agreement_top1": float(np.mean(post.argmax(axis=1) == full_post.argmax(axis=1))),
            "agreement_triage": float(np.mean([lv == RANK_LEVEL[int(r)] for lv, r in zip(levels, full_rank, strict=True)])),
            "stop_reasons": {r: sum(s.stop_reason == r for s in sims) for r in sorted({s.stop_reason for s in sims})},
            "questions": {c.id: s.questions for c, s in zip(cases, sims, strict=True)},
            "answers": {c.id: s.answers for c, s in zip(cases, sims, strict=True)},
        }
    )
    return out
