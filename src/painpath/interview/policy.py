"""Choosing the next question and deciding when to stop.

Order (a clinical hierarchy, as NHS 111 online asks life-threatening questions first):

1. the presenting complaint (where it hurts);
2. every warning item that is due for what has been said: asked of everyone,
   or opened by its relevance rule (``interview.yaml: relevance``) or its
   screen's ``when_any``; an item becomes due as soon as any later answer opens
   it, and is then asked next;
3. history screens chosen by expected value per answer (warning items that are
   not due compete here too); in clinician mode, then examination screens.

The expected value of a screen is computed by enumerating every combination of
answers to its (at most a handful of) items, weighting each by its predictive
probability under the current posterior, and re-running the engine on it:

    value = 2 * P(triage level changes) + P(leading condition changes) + 0.5 * information gain (nats)

so a question that can change the disposition beats one that only reorders
unlikely conditions. Screens are ranked by value divided by their number of
items (each item is one answer the person has to think about).

Stopping rule (published in docs/interview.md): stop at once when an answer
fires an ``emergency`` warning floor; otherwise (including an emergency level
that comes only from the probability of an emergency condition, which the next
answers can confirm or rule out) stop when every due warning item has been
asked, at least ``min_history_screens`` history screens have been asked, and no
remaining screen would change the triage level or the leading condition with
probability of at least ``change_probability``; or at the hard cap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import combinations, product

import numpy as np

from painpath.domain import StopReason, setting_for
from painpath.engine import CompiledKB, default_compiled, posterior, triage_arrays
from painpath.engine.compiled import RANK_LEVEL
from painpath.errors import CaseError
from painpath.interview.state import InterviewState
from painpath.messages import Message, render, stop_message

__all__ = ["Question", "QuestionItem", "Step", "next_item", "next_step", "screen_value", "validate_state", "why_message",
           "why_text"]

LEVEL_WEIGHT, TOP_WEIGHT, INFO_WEIGHT = 2.0, 1.0, 0.5
COST_EXPONENT = 1.0  # value per answer: a screen of k items costs the person k answers


@dataclass(frozen=True)
class QuestionItem:
    finding: str
    text: str
    help: str | None = None


@dataclass(frozen=True)
class Question:
    screen: str
    phase: str
    title: str
    items: tuple[QuestionItem, ...]
    why: str
    value: float = 0.0
    change_probability: float = 0.0
    why_message: Message | None = None  # ``why`` as a message id (painpath.messages), for other languages

    @property
    def findings(self) -> list[str]:
        return [i.finding for i in self.items]


@dataclass(frozen=True)
class Step:
    """What to do next: ask ``question``, or stop (``should_stop``) with a reason."""

    question: Question | None
    should_stop: bool
    stop_reason: str
    questions_asked: int
    level: str
    top: str
    top_probability: float
    candidates: list[tuple[str, float, float]] = field(default_factory=list)
    #: every candidate (the conditions and "other") with its probability on the answers so far, most probable
    #: first, "other" after a condition of equal probability (as ``Assessment.ranking``)
    ranking: tuple[tuple[str, float], ...] = ()

    @property
    def stop_message(self) -> Message | None:
        """Why the interview stopped, as a message id (None while it is still asking)."""
        return stop_message(self.stop_reason)


def _setting(state: InterviewState) -> str:
    return setting_for(state.mode, state.setting)


def _pending(state: InterviewState, ckb: CompiledKB, name: str) -> list[str]:
    answered = state.answer_map
    screen = ckb.kb.interview.screens[name]
    keys = [k for k in screen.findings if k not in answered]
    if state.mode == "self":
        keys = [k for k in keys if not ckb.is_sign[ckb.fidx[k]]]
    return keys


def _due(state: InterviewState, ckb: CompiledKB, name: str) -> list[str]:
    """The pending items of a warning screen that must be asked now.

    The screen's ``when_any`` gates the whole screen; an item with a rule in ``relevance``
    (interview.yaml) is due only when one finding of its ``when_any`` (and, if given, one of its
    ``with_any``) has been stated present. Items
    that are not due stay candidates for the expected-value choice (see :func:`next_step`).
    """
    iv = ckb.kb.interview
    sc = iv.screens[name]
    answered = state.answer_map

    def said(keys: list[str]) -> bool:
        return any(answered.get(k) == "present" for k in keys)

    if sc.when_any and not said(sc.when_any):
        return []
    rules = iv.relevance
    return [k for k in _pending(state, ckb, name)
            if k not in rules or (said(rules[k].when_any) and (not rules[k].with_any or said(rules[k].with_any)))]


def _item(ckb: CompiledKB, key: str, mode: str) -> QuestionItem:
    f = ckb.kb.findings.findings[key]
    text = f.clinician_question if (mode == "clinician" and f.clinician_question) else f.question
    return QuestionItem(finding=key, text=text, help=f.help)


#: Screens with more items than this (the body map, 20 places) are not enumerated in full (2^20
#: outcomes took 16 s): only the outcomes with at most ``FEW_YES`` "yes" answers are, which hold
#: nearly all of the probability when each item is rarely "yes"; the weights are renormalised.
MAX_ENUMERATED = 10
FEW_YES = 2


@cache
def _outcomes(k: int) -> np.ndarray:
    """Every answer combination of a screen of ``k`` items (1 = yes), or for a large screen those with few yeses."""
    if k <= MAX_ENUMERATED:
        return np.array(list(product((1, 0), repeat=k)), dtype=np.float64)
    rows = [np.zeros(k)]
    for n_yes in range(1, FEW_YES + 1):
        for on in combinations(range(k), n_yes):
            r = np.zeros(k)
            r[list(on)] = 1.0
            rows.append(r)
    return np.array(rows)


def _evaluate(state: InterviewState, ckb: CompiledKB, candidates: list[tuple[str, list[str]]], ev: np.ndarray,
              p: np.ndarray, level: int, top: int) -> list[tuple[str, float, float, float]]:
    """(screen, value, P(change), info gain) for each candidate, all outcomes in one engine batch."""
    if not candidates:
        return []
    rows, meta = [], []
    for name, keys in candidates:
        idx = np.array([ckb.fidx[k] for k in keys])
        bits = _outcomes(len(keys))  # (O, k)
        th = ckb.theta_all[:, idx]  # (M, k): the conditions and "other"
        loglik = bits @ np.log(th).T + (1.0 - bits) @ np.log1p(-th).T  # (O, C)
        p_o = np.exp(loglik) @ p
        p_o /= p_o.sum()
        block = np.repeat(ev[None, :], len(bits), axis=0)
        block[:, idx] = np.where(bits > 0, 1, -1)
        rows.append(block)
        meta.append((name, p_o))
    batch = np.concatenate(rows)
    n = len(batch)
    age = np.full(n, state.age)
    female = np.full(n, state.sex == "female")
    post = posterior(ckb, batch, age, female, _setting(state))
    tri = triage_arrays(ckb, batch, post, age)
    ent0 = -(p * np.log(np.maximum(p, 1e-300))).sum()
    ent = -(post * np.log(np.maximum(post, 1e-300))).sum(axis=1)
    changed_level = tri.level_rank != level
    changed_top = post.argmax(axis=1) != top
    out, start = [], 0
    for name, p_o in meta:
        sl = slice(start, start + len(p_o))
        start += len(p_o)
        pc_level = float(p_o @ changed_level[sl])
        pc_top = float(p_o @ changed_top[sl])
        ig = float(ent0 - p_o @ ent[sl])
        value = LEVEL_WEIGHT * pc_level + TOP_WEIGHT * pc_top + INFO_WEIGHT * ig
        out.append((name, value, max(pc_level, pc_top), ig))
    return out


def screen_value(state: InterviewState, screen: str, ckb: CompiledKB | None = None) -> tuple[float, float, float]:
    """Expected value, probability of changing the level or leading condition, and information gain of a screen."""
    ckb = ckb or default_compiled()
    ev = state.evidence(ckb)
    p = posterior(ckb, ev[None, :], np.array([state.age]), np.array([state.sex == "female"]), _setting(state))[0]
    lvl = int(triage_arrays(ckb, ev[None, :], p[None, :], np.array([state.age])).level_rank[0])
    keys = _pending(state, ckb, screen)
    res = _evaluate(state, ckb, [(screen, keys)], ev, p, lvl, int(p.argmax())) if keys else []
    return (res[0][1], res[0][2], res[0][3]) if res else (0.0, 0.0, 0.0)


def why_message(ckb: CompiledKB, screen: str, keys: list[str], p: np.ndarray, *, due: bool = True) -> Message:
    """Why a screen is asked, as a message id (``why.*`` in painpath.messages): which possibilities it separates.

    A warning screen asked because its items are due gets the warning reason; asked by the
    expected-value choice (``due=False``, e.g. knee arthritis in a knee-pain interview without a
    swollen calf) it gets the reason of any other question.
    """
    sc = ckb.kb.interview.screens[screen]
    if sc.phase == "presenting":
        return Message(id="why.presenting")
    if sc.phase == "warning" and due:
        return Message(id="why.warning")
    C = len(ckb.conditions)  # "other" (column C, if any) is not named in the reason
    order = [i for i in np.argsort(-p[:C]) if p[i] >= 0.02][:5]
    if len(order) < 2:
        order = list(np.argsort(-p[:C])[:2])
    idx = [ckb.fidx[k] for k in keys]
    mean_theta = ckb.theta[:, idx].mean(axis=1)
    hi = max(order, key=lambda i: mean_theta[i])
    lo = min(order, key=lambda i: mean_theta[i])
    if hi == lo:
        return Message(id="why.check")
    return Message(id="why.separates", params={"a": str(ckb.conditions[hi]), "b": str(ckb.conditions[lo])})


def _names(ckb: CompiledKB) -> Callable[[str, str], str | None]:
    cond = ckb.kb.conditions.conditions

    def names(kind: str, key: str) -> str | None:
        return cond[key].short_name if kind == "condition" and key in cond else None

    return names


def why_text(ckb: CompiledKB, screen: str, keys: list[str], p: np.ndarray, *, due: bool = True) -> str:
    """Plain-language reason for asking a screen (English; :func:`why_message` for other languages)."""
    return render(why_message(ckb, screen, keys, p, due=due), names=_names(ckb))


def validate_state(state: InterviewState, ckb: CompiledKB) -> None:
    """Raise CaseError when a (possibly resumed) state names anything the knowledge base does not know."""
    for a in state.answers:
        if a.finding not in ckb.fidx:
            raise CaseError(f"answers.{a.finding}: unknown finding key")
        if a.screen is not None and a.screen not in ckb.kb.interview.screens:
            raise CaseError(f"answers.{a.finding}.screen: unknown screen '{a.screen}'")
    for name in state.screens_asked:
        if name not in ckb.kb.interview.screens:
            raise CaseError(f"screens_asked: unknown screen '{name}'")
    setting = _setting(state)
    if setting not in ckb.log_prior:
        raise CaseError(f"setting: unknown setting '{setting}' (known: {', '.join(ckb.log_prior)})")


def next_step(state: InterviewState, ckb: CompiledKB | None = None) -> Step:
    """The next question to ask, or the decision to stop, for an interview state."""
    ckb = ckb or default_compiled()
    validate_state(state, ckb)
    iv = ckb.kb.interview
    ev = state.evidence(ckb)
    p = posterior(ckb, ev[None, :], np.array([state.age]), np.array([state.sex == "female"]), _setting(state))[0]
    tri = triage_arrays(ckb, ev[None, :], p[None, :], np.array([state.age]))
    level, top = int(tri.level_rank[0]), int(p.argmax())  # top may be "other" (ties go to the conditions)
    asked = [s for s in state.screens_asked if iv.screens[s].phase != "presenting"]

    probs = p.tolist()
    ranking = tuple(sorted(zip(ckb.candidates, probs, strict=True), key=lambda kp: -kp[1]))  # stable: ties keep order

    def step(q: Question | None, stop: bool, reason: str, cands: list | None = None) -> Step:
        return Step(q, stop, reason, len(asked), RANK_LEVEL[level], ckb.candidates[top], probs[top], cands or [],
                    ranking)

    def ask(name: str, keys: list[str], value: float = 0.0, pc: float = 0.0, due: bool = True) -> Step:
        sc = iv.screens[name]
        why = why_message(ckb, name, keys, p, due=due)
        q = Question(name, sc.phase, sc.title, tuple(_item(ckb, k, state.mode) for k in keys),
                     render(why, names=_names(ckb)), value, pc, why)
        return step(q, False, "")

    answered = state.answer_map
    presenting = [n for n, s in iv.screens.items() if s.phase == "presenting"]
    for name in presenting:
        if not any(k in answered for k in iv.screens[name].findings):
            return ask(name, _pending(state, ckb, name))
    if int(tri.floor_rank[0]) == 3:
        return step(None, True, StopReason.EMERGENCY.value)
    cap = iv.caps.self_ if state.mode == "self" else iv.caps.clinician
    for name, sc in iv.screens.items():
        if sc.phase != "warning":
            continue
        keys = _due(state, ckb, name)
        if keys:
            return ask(name, keys)
    if len(asked) >= cap:
        return step(None, True, StopReason.CAP.value)
    n_history = sum(1 for s in asked if iv.screens[s].phase == "history")
    threshold = iv.stop.change_probability
    exam_started = any(iv.screens[s].phase == "exam" for s in asked)
    phases = ([] if exam_started else ["history"]) + (["exam"] if state.mode == "clinician" else [])
    last: list = []
    for phase in phases:
        # warning items not (yet) due compete with the history screens by expected value
        pool = ("warning", "history") if phase == "history" else (phase,)
        cands = [(n, _pending(state, ckb, n)) for n, s in iv.screens.items() if s.phase in pool]
        cands = [(n, k) for n, k in cands if k]
        scored = _evaluate(state, ckb, cands, ev, p, level, top)
        last = [(n, v, pc) for n, v, pc, _ig in scored]
        if not scored:
            continue
        n_items = {n: len(k) for n, k in cands}
        # Only a screen that could change the level or the leading condition (with probability at least
        # the threshold) is worth asking; among those, the best value per answer. Ranking every screen
        # first and stopping when the best-ranked one falls below the threshold would stop while another
        # screen could still change the decision (a cheap one-item screen of high information value and
        # low change probability outranking a four-item screen that can change the level).
        useful = [r for r in scored if r[2] >= threshold] or scored
        # Not the screen just shown (the rest of a warning screen whose due items were just asked) while
        # another screen is as useful: the person would see the same list twice in a row.
        last_shown = state.answers[-1].screen if state.answers else None
        useful = [r for r in useful if r[0] != last_shown] or useful
        best = max(useful, key=lambda r: r[1] / n_items[r[0]] ** COST_EXPONENT)  # first in file order on ties
        must_ask = phase == "history" and n_history < iv.stop.min_history_screens
        if must_ask and best[2] < threshold:  # the minimum is made of history screens
            best = max((r for r in scored if iv.screens[r[0]].phase == "history"),
                       key=lambda r: r[1] / n_items[r[0]] ** COST_EXPONENT, default=best)
        if best[2] >= threshold or must_ask:
            keys = dict(cands)[best[0]]
            return ask(best[0], keys, best[1], best[2], due=False)
    return step(None, True, StopReason.CONFIDENT.value, last)


def next_item(state: InterviewState, ckb: CompiledKB | None = None) -> tuple[Step, QuestionItem | None]:
    """One question at a time (for front ends that show a single yes / no / don't know per page).

    Stops at once on an emergency; otherwise finishes the screen in progress
    (the last screen asked that still has unanswered items) before choosing the
    next screen with :func:`next_step`. Returns the step and the item to ask
    (``None`` when stopping, or when the step is the presenting body map).
    """
    ckb = ckb or default_compiled()
    step = next_step(state, ckb)
    if step.should_stop and step.stop_reason == StopReason.EMERGENCY:
        return step, None
    iv = ckb.kb.interview
    if state.screens_asked:
        current = state.screens_asked[-1]
        sc = iv.screens[current]
        keys = _pending(state, ckb, current)
        if sc.phase != "presenting" and keys and any(a.screen == current for a in state.answers):
            ev = state.evidence(ckb)
            p = posterior(ckb, ev[None, :], np.array([state.age]), np.array([state.sex == "female"]),
                          _setting(state))[0]
            why = why_message(ckb, current, keys, p, due=sc.phase != "warning" or bool(_due(state, ckb, current)))
            cur = Question(current, sc.phase, sc.title, tuple(_item(ckb, k, state.mode) for k in keys),
                           render(why, names=_names(ckb)), why_message=why)
            step = replace(step, question=cur, should_stop=False, stop_reason="", candidates=[])
    q = step.question
    if q is None or q.phase == "presenting":
        return step, None
    return step, q.items[0]
