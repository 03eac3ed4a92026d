"""Fixtures of the cashier screen's tests: the staff accounts of the staff tests, cheap hashes."""

from __future__ import annotations

from tests.staff.conftest import PASSWORDS, cheap_hashes, staff

__all__ = ["PASSWORDS", "cheap_hashes", "staff"]
