"""``memberkit db``: the database schema."""

from __future__ import annotations

from collections.abc import Callable

import typer

from memberkit.cli.common import require_schema, say, with_progress
from memberkit.db import get_database
from memberkit.kit.i18n import _

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    from memberkit import migrate
    from memberkit.program import service as program_service

    database = get_database()
    before = migrate.current(database.engine)
    migrate.upgrade(database.engine)
    with database.session_scope() as session:
        program_service.ensure_default(session)
    after = migrate.current(database.engine)
    url = database.engine.url.render_as_string()
    if before is None:
        say(_("Database created at revision {revision}: {url}"), revision=after, url=url)
    elif before != after:
        say(
            _("Database migrated from revision {old} to {revision}: {url}"),
            old=before,
            revision=after,
            url=url,
        )
    else:
        say(
            _("Database was already up to date (revision {revision}): {url}"),
            revision=after,
            url=url,
        )


@app.command("reencrypt")
def db_reencrypt() -> None:
    """Rewrite members' legacy (v1) ciphertexts as v2, bound to their member; safe to repeat."""
    from memberkit.member import service as member_service

    database = require_schema()
    total = 0
    while True:
        with database.session_scope() as session:
            done = member_service.reencrypt(session)
        if not done:
            break
        total += done
    say(_("{members} members re-encrypted."), members=total)


@app.command("reindex-names")
def db_reindex_names() -> None:
    """Index the names of members registered before names were indexed (search by full name).

    Safe to repeat and to stop: each batch is committed, a member already indexed is skipped.
    """
    from memberkit.member import service as member_service

    database = require_schema()
    with database.session_scope(read_only=True) as session:
        total = member_service.unindexed_names(session)

    def run(report: Callable[[int, int], None]) -> int:
        done, after = 0, 0
        while True:
            with database.session_scope() as session:
                batch = member_service.reindex_names(session, after=after)
            if batch is None:
                return done
            after, indexed = batch
            done += indexed
            report(done, total)

    indexed = with_progress(_("Indexing names"), run)
    say(_("{members} members' names indexed."), members=indexed)
