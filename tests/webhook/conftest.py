"""Webhook tests all live at the API tests' moment (the app and keys come from tests/conftest.py),
and send to receivers on 127.0.0.1."""

from collections.abc import Iterator

import pytest

from memberkit.config import settings
from tests.rest import clock_for_every_test

__all__ = ["clock_for_every_test"]

#: The test receivers listen on the loopback network: allowed explicitly, as an operator
#: allows a receiver on the deployment's own network (tests of the guard take it back).
RECEIVERS = "127.0.0.0/8"


@pytest.fixture(autouse=True)
def receivers_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let deliveries go to the test receivers on 127.0.0.1."""
    monkeypatch.setattr(settings, "webhook_allow_networks", RECEIVERS)
    yield
