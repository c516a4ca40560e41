"""Any table of valid values scores to probabilities that sum to 1 and levels in the allowed set."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from painpath.batch import BatchOptions, score_frame  # noqa: E402
from painpath.engine import default_compiled
from tests.batch.conftest import pl

CKB = default_compiled()
LEVELS = {"emergency", "urgent", "soon", "self_care"}
SPELLINGS = {True: [True, "true", "YES", "1", 1], False: [False, "false", "no", "0", 0], None: [None, ""]}


@st.composite
def tables(draw: Any) -> tuple[Any, str]:
    n = draw(st.integers(1, 40))
    keys = draw(st.lists(st.sampled_from(CKB.findings), unique=True, max_size=30))
    style = draw(st.sampled_from(["bool", "text", "int"]))
    data: dict[str, Any] = {
        "age": draw(st.lists(st.integers(0, 120), min_size=n, max_size=n)),
        "sex": draw(st.lists(st.sampled_from(["female", "male", "Female", " MALE "]), min_size=n, max_size=n)),
    }
    for k in keys:
        answers = draw(st.lists(st.sampled_from([True, False, None]), min_size=n, max_size=n))
        if style == "bool":
            data[k] = pl.Series(k, answers, dtype=pl.Boolean)
        elif style == "int":
            data[k] = pl.Series(k, [None if a is None else int(a) for a in answers], dtype=pl.Int64)
        else:
            data[k] = pl.Series(k, [draw(st.sampled_from([s for s in SPELLINGS[a] if not isinstance(s, bool | int)]))
                                    for a in answers], dtype=pl.String)
    return pl.DataFrame(data), draw(st.sampled_from(["self", "clinician"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.integers(1, len(CKB.conditions)))
def test_valid_tables_give_distributions_and_levels(table_mode: tuple[Any, str], top: int) -> None:
    table, mode = table_mode
    out, rejects = score_frame(table, BatchOptions(mode=mode, top=top, all_probabilities=True))  # type: ignore[arg-type]
    assert rejects is None and out.height == table.height
    p = out.select([f"p_{c}" for c in CKB.candidates]).to_numpy()  # the conditions and "other"
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0, atol=1e-9)
    origin = out.select([f"origin_{o}" for o in CKB.origin_names]).to_numpy()
    p_other = p[:, CKB.other_index] if CKB.other_index is not None else 0.0
    assert np.allclose(origin.sum(axis=1) + p_other, 1.0, atol=1e-9)  # "other" has no origin
    assert set(out["triage"].to_list()) <= LEVELS
    tops = out.select([f"top{k}_probability" for k in range(1, top + 1)]).to_numpy()
    assert np.all(np.diff(tops, axis=1) <= 0)  # most probable first
    assert np.allclose(tops[:, 0], p.max(axis=1))
