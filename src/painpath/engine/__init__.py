"""Inference engine (pure NumPy; imports no web or database framework).

* ``compiled``  - knowledge base -> arrays
* ``posterior`` - Bayesian update with dependence corrections, vectorised
* ``triage``    - warning floors, condition levels and escalations
* ``explain``   - weight of evidence per answer and condition
* ``fast``      - the batch path: posterior and triage fused in float32 blocks

Version 2: a cause outside the conditions ("other") is one more candidate, so the
condition probabilities sum to 1 - p(other); interviews weigh only the answers given.
"""

from painpath.engine.compiled import CompiledKB, compile_kb, default_compiled
from painpath.engine.posterior import evidence_weights, log_likelihood, log_prior, posterior
from painpath.engine.triage import TriageArrays, triage_arrays

ENGINE_VERSION = "2.0.0"

__all__ = [
    "ENGINE_VERSION",
    "CompiledKB",
    "TriageArrays",
    "compile_kb",
    "default_compiled",
    "evidence_weights",
    "log_likelihood",
    "log_prior",
    "posterior",
    "triage_arrays",
]
