"""Migrations on a database that already holds data (the test fixtures start empty)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from memberkit import migrate

NOW = "2026-11-01 00:00:00+00:00"


def test_the_wallet_migration_opens_wallet_accounts_for_existing_members(tmp_path: Path) -> None:
    # given a database at revision 0003 with one member and their points and growth accounts
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO programs (id, code, name, currency, points_name, "
                "points_per_currency_unit, earning_rules, points_validity, created_at, updated_at) "
                "VALUES (1, 'default', 'M', 'CNY', '积分', 100, '{}', '{}', :now, :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO members (id, program_id, member_no, phone_index, phone_enc, channel, "
                "tags, status, tier_level, created_at, updated_at) VALUES "
                "(7, 1, '100000000007', 'x', 'x', 'store', '[]', 'active', 0, :now, :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO accounts (program_id, member_id, asset, code, balance) VALUES "
                "(1, 7, 'points', 'member', 0), (1, 7, 'growth', 'member', 0)"
            )
        )

    # when it is upgraded to the newest revision
    migrate.upgrade(engine)

    # then the member has the two wallet accounts too, empty
    with engine.connect() as connection:
        accounts = connection.execute(
            text("SELECT asset, balance FROM accounts WHERE member_id = 7 ORDER BY asset")
        ).all()
    assert [tuple(row) for row in accounts] == [
        ("growth", 0),
        ("points", 0),
        ("wallet_bonus", 0),
        ("wallet_principal", 0),
    ]
    assert not migrate.pending(engine)
    engine.dispose()
