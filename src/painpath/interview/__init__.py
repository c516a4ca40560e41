"""Adaptive interview (domain code; no web or database imports).

* ``state``    - immutable, JSON-serialisable interview state; answer / withdraw
* ``policy``   - next question by expected value; the published stopping rule
* ``simulate`` - benchmark simulation of a person answering from a case
"""

from painpath.interview.policy import Question, QuestionItem, Step, next_item, next_step
from painpath.interview.state import Answer, InterviewState, answer, start, withdraw

__all__ = ["Answer", "InterviewState", "Question", "QuestionItem", "Step", "answer", "next_item", "next_step", "start",
           "withdraw"]
