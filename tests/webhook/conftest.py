"""Webhook tests all live at the API tests' moment (the app and keys come from tests/conftest.py)."""

from tests.rest import clock_for_every_test

__all__ = ["clock_for_every_test"]
