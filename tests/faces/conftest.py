"""Fixtures of the faces' tests: the real app in a TestClient."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from memberkit.app import create_app
from memberkit.db import Database


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(scheduler=False)) as test_client:
        yield test_client
