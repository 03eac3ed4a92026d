"""Webhook tests use the API tests' app, keys and clock."""

from tests.api.conftest import admin, client, clock, member, store

__all__ = ["admin", "client", "clock", "member", "store"]
