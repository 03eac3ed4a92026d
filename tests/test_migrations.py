"""Migrations on a database that already holds data (the test fixtures start empty)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, make_url, text

from memberkit import migrate
from memberkit.models import Base
from tests.conftest import POSTGRES_URL

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


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the kind the suite runs on (SQLite file, or a new PostgreSQL one)."""
    if not POSTGRES_URL:
        engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    name = f"memberkit_migration_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(POSTGRES_URL).set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


CUSTOM_LADDER = {
    "tiers": [
        {"code": "member", "name": "会员"},
        {"code": "vip", "name": "VIP", "qualify": {"growth_at_least": 100}},
    ]
}


def test_tier_positions_become_the_codes_of_the_ladder_stored_then(empty_engine: Engine) -> None:
    # given a database at 0005: a program with its own two-tier ladder, one with none
    migrate.upgrade(empty_engine, "0005")
    with empty_engine.begin() as connection:
        for program_id, code, ladder in ((1, "default", None), (2, "other", CUSTOM_LADDER)):
            connection.execute(
                text(
                    "INSERT INTO programs (id, code, name, currency, points_name, "
                    "points_per_currency_unit, earning_rules, points_validity, tier_ladder, "
                    "created_at, updated_at) VALUES (:id, :code, 'M', 'CNY', '积分', 100, '{}', "
                    "'{}', :ladder, :now, :now)"
                ),
                {
                    "id": program_id,
                    "code": code,
                    "ladder": json.dumps(ladder) if ladder else None,
                    "now": NOW,
                },
            )
        # members at levels 0, 2 and 3 of the default ladder, 0 and 1 (and 5, past the top) of
        # the other
        for member_id, program_id, level in ((1, 1, 0), (2, 1, 2), (3, 1, 3), (4, 2, 1), (5, 2, 5)):
            connection.execute(
                text(
                    "INSERT INTO members (id, program_id, member_no, phone_index, phone_enc, "
                    "channel, tags, status, tier_level, created_at, updated_at) VALUES (:id, "
                    ":program, :no, :no, 'x', 'store', '[]', 'active', :level, :now, :now)"
                ),
                {
                    "id": member_id,
                    "program": program_id,
                    "no": f"M{member_id}",
                    "level": level,
                    "now": NOW,
                },
            )
        connection.execute(
            text(
                "INSERT INTO tier_changes (program_id, member_id, from_level, to_level, reason, "
                "idempotency_key, at) VALUES (1, 2, 0, 2, 'upgrade', 'k1', :now), "
                "(2, 4, 0, 1, 'upgrade', 'k2', :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO tier_notices (program_id, member_id, level, expected_level, "
                "review_at, at) VALUES (1, 3, 3, 2, :now, :now)"
            ),
            {"now": NOW},
        )

    # when it is upgraded to the newest revision
    migrate.upgrade(empty_engine)

    # then every position is the code of its program's ladder (the default one when none)
    with empty_engine.connect() as connection:
        members = connection.execute(text("SELECT id, tier_code FROM members ORDER BY id")).all()
        changes = connection.execute(
            text("SELECT member_id, from_code, to_code FROM tier_changes ORDER BY member_id")
        ).all()
        notices = connection.execute(text("SELECT tier_code, expected_code FROM tier_notices"))
        assert [tuple(row) for row in notices] == [("black", "gold")]
    assert [tuple(row) for row in members] == [
        (1, "regular"),
        (2, "gold"),
        (3, "black"),
        (4, "vip"),
        (5, "vip"),
    ]
    assert [tuple(row) for row in changes] == [(2, "regular", "gold"), (4, "member", "vip")]

    # and going back down gives the positions again (a code past the ladder as its top)
    config = migrate.alembic_config(empty_engine.url.render_as_string(hide_password=False))
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    with empty_engine.connect() as connection:
        levels = connection.execute(text("SELECT id, tier_level FROM members ORDER BY id")).all()
    assert [tuple(row) for row in levels] == [(1, 0), (2, 2), (3, 3), (4, 1), (5, 1)]


def test_the_models_are_what_the_migrations_build(empty_engine: Engine) -> None:
    # when an empty database is migrated to the newest revision
    migrate.upgrade(empty_engine)

    # then autogenerate finds nothing between it and the models
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_settings_columns_become_one_row_per_program_and_section(empty_engine: Engine) -> None:
    # given a database at 0008: a program with earning, validity, a ladder and policies set,
    # and one with only the two required settings
    migrate.upgrade(empty_engine, "0008")
    earning = {"points_per_unit": "2", "growth_per_unit": "1"}
    validity = {"type": "rolling_days", "days": 30}
    policies = {"backdate_days": 7, "cross_store_returns": True, "idempotency_retention_days": 30}
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO programs (id, code, name, currency, points_name, "
                "points_per_currency_unit, earning_rules, points_validity, tier_ladder, "
                "growth_rules, wallet_rules, policies, created_at, updated_at) VALUES "
                "(1, 'default', 'M', 'CNY', '积分', 100, :earning, :validity, :ladder, NULL, "
                "NULL, :policies, :now, :now), "
                "(2, 'other', 'M', 'CNY', '积分', 100, '{}', '{}', NULL, NULL, NULL, NULL, "
                ":now, :now)"
            ),
            {
                "earning": json.dumps(earning),
                "validity": json.dumps(validity),
                "ladder": json.dumps(CUSTOM_LADDER),
                "policies": json.dumps(policies),
                "now": NOW,
            },
        )

    # when it is upgraded to the newest revision
    migrate.upgrade(empty_engine)

    # then each setting that was set is a row of its section; the program keeps its version
    with empty_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT program_id, section, value FROM program_settings ORDER BY 1, 2")
        ).all()
        columns = {c["name"] for c in inspect(connection).get_columns("programs")}
    assert [(p, s, v if isinstance(v, dict) else json.loads(v)) for p, s, v in rows] == [
        (1, "earning", earning),
        (1, "ladder", CUSTOM_LADDER),
        (1, "policies", policies),
        (1, "validity", validity),
        (2, "earning", {}),
        (2, "validity", {}),
    ]
    assert "earning_rules" not in columns and "policies" not in columns

    # and going back down puts them back in their columns
    config = migrate.alembic_config(empty_engine.url.render_as_string(hide_password=False))
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    with empty_engine.connect() as connection:
        back = connection.execute(
            text("SELECT id, earning_rules, tier_ladder, policies FROM programs ORDER BY id")
        ).all()
    decoded = [tuple(json.loads(v) if isinstance(v, str) else v for v in row) for row in back]
    assert decoded == [(1, earning, CUSTOM_LADDER, policies), (2, {}, None, None)]


def test_member_tags_are_filled_from_the_members_json_tags(empty_engine: Engine) -> None:
    # given a database at 0011 with members tagged in their JSON list (two with none)
    migrate.upgrade(empty_engine, "0011")
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO programs (id, code, name, currency, points_name, "
                "points_per_currency_unit, created_at, updated_at) "
                "VALUES (1, 'default', 'M', 'CNY', '积分', 100, :now, :now)"
            ),
            {"now": NOW},
        )
        for member_id, tags in ((1, ["office", "vip"]), (2, []), (3, []), (4, ["vip", "家庭"])):
            connection.execute(
                text(
                    "INSERT INTO members (id, program_id, member_no, phone_index, phone_enc, "
                    "channel, tags, status, tier_code, created_at, updated_at) VALUES (:id, 1, "
                    ":no, :no, 'x', 'store', :tags, 'active', 'regular', :now, :now)"
                ),
                {
                    "id": member_id,
                    "no": f"M{member_id}",
                    "tags": json.dumps(tags, ensure_ascii=False),
                    "now": NOW,
                },
            )

    # when it is upgraded to the newest revision
    migrate.upgrade(empty_engine)

    # then each tag of each member is a row of member_tags, and no name is indexed yet
    with empty_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT member_id, tag, program_id FROM member_tags ORDER BY member_id, tag")
        ).all()
        names = connection.execute(text("SELECT name_index FROM members")).scalars().all()
    assert [tuple(row) for row in rows] == [
        (1, "office", 1),
        (1, "vip", 1),
        (4, "vip", 1),
        (4, "家庭", 1),
    ]
    assert names == [None, None, None, None]
