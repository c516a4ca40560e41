"""STarT Back scoring against hand-scored examples at every cut-off."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpath.careplan import load_care_content, score_startback


def answers(agree: set[int], item9: int | bool | str = 1) -> dict[str, int | bool | str]:
    out: dict[str, int | bool | str] = {f"item{i}": i in agree for i in range(1, 9)}
    out["item9"] = item9
    return out


# (agreed items 1-8, item 9, total, psychosocial, stratum) -- scored by hand
HAND_SCORED = [
    (set(), 1, 0, 0, "low"),
    ({1, 2, 3}, 1, 3, 0, "low"),  # total 3: still low
    ({1, 2, 3, 4}, 1, 4, 0, "medium"),  # total 4, subscale 0: medium
    ({1, 5, 6}, 4, 4, 3, "medium"),  # total 4, subscale 3 ("very much" counts): medium
    ({5, 6, 7}, 5, 4, 4, "high"),  # total 4, subscale 4: high
    ({5, 6, 7}, 3, 3, 3, "low"),  # "moderately" does not count: total 3 -> low
    ({5, 6, 7, 8}, 1, 4, 4, "high"),
    ({1, 2, 3, 4, 5, 6, 7}, 3, 7, 3, "medium"),  # high total but subscale 3
    ({1, 2, 3, 4, 5, 6, 7, 8}, 5, 9, 5, "high"),
    ({5, 6, 7}, 2, 3, 3, "low"),  # subscale 3, total 3: low wins
]


@pytest.mark.parametrize(("agree", "item9", "total", "psych", "stratum"), HAND_SCORED)
def test_hand_scored_examples(agree, item9, total, psych, stratum):
    result = score_startback(answers(agree, item9))
    assert (result.total, result.psychosocial, result.stratum) == (total, psych, stratum)


@pytest.mark.parametrize(
    ("item9", "scores"),
    [(1, 0), (2, 0), (3, 0), (4, 1), (5, 1), ("very_much", 1), ("Not at all", 0), (True, 1), (False, 0)],
)
def test_bothersomeness_is_positive_only_for_very_much_or_extremely(item9, scores):
    assert score_startback(answers(set(), item9)).total == scores


def test_agree_accepts_int_and_text():
    result = score_startback({**answers(set()), "item1": 1, "item2": "agree", "item3": "Disagree"})
    assert result.total == 2


def test_result_carries_keele_copyright_and_sources():
    result = score_startback(answers(set()))
    assert "Keele University" in result.copyright and "commercial" in result.copyright
    assert "keele_sbst_site" in result.sources


@pytest.mark.parametrize(
    "bad",
    [
        {f"item{i}": False for i in range(1, 9)},  # item9 missing
        {**answers(set()), "item10": True},
        {**answers(set()), "item9": 0},
        {**answers(set()), "item9": 6},
        {**answers(set()), "item4": 2},
        {**answers(set()), "item4": "maybe"},
    ],
)
def test_bad_answers_raise(bad):
    with pytest.raises(ValueError):
        score_startback(bad)


def test_items_are_the_published_nine_with_psychosocial_5_to_9():
    spec = load_care_content().startback
    assert spec.wording_verbatim
    assert [i.id for i in spec.items] == [f"item{i}" for i in range(1, 10)]
    assert spec.items[0].text == "My back pain has spread down my leg(s) at some time in the last 2 weeks"
    assert [i.subscale for i in spec.items] == ["physical"] * 4 + ["psychosocial"] * 5


@given(agree=st.sets(st.integers(1, 8)), item9=st.integers(1, 5))
def test_scoring_matches_the_published_rule(agree, item9):
    result = score_startback(answers(agree, item9))
    positive9 = int(item9 >= 4)
    total = len(agree) + positive9
    psych = len(agree & {5, 6, 7, 8}) + positive9
    expected = "low" if total <= 3 else ("high" if psych >= 4 else "medium")
    assert (result.total, result.psychosocial, result.stratum) == (total, psych, expected)
