"""A throw-away PostgreSQL database for one benchmark run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text

from memberkit.db import get_database


@contextmanager
def postgres_database(server_url: str, *, keep: bool = False) -> Iterator[str]:
    """Create ``memberkit_bench_<random>`` on the server, yield its URL, drop it afterwards.

    ``keep``: leave it in place and print its URL, for a later run to measure again.
    """
    name = f"memberkit_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        get_database().dispose()
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        if keep:
            print(f"kept: --url {url}")
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
