"""API test hooks: a distinct test id for each operation schemathesis tests."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """schemathesis 4 names each generated item after its operation (``test_x[POST /v1/assess]``) but, under
    pytest 9, leaves every item the node id of the test function, so 30-odd operations would share one id and a
    failure could not be told apart or selected. Give each the id its name says."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and not item.nodeid.endswith("]") and item.parent is not None:
            base = getattr(item, "originalname", None) or item.name.split("[", 1)[0]
            item._id = item.parent.id.child(base).with_params(label)  # noqa: SLF001 - pytest 9 keeps the id here
