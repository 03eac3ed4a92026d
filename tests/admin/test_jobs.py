"""The jobs page: a dry run says what a job would do and changes nothing; then a confirmed run."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from memberkit.tasks import TASKS
from tests.admin.test_views import csrf, sign_in
from tests.program.test_views import english
from tests.rest import table_contents


def test_every_job_has_a_dry_run_button_for_owners_only(
    client: TestClient, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    for task in TASKS:
        assert f"memberkit jobs {task.name}" in page.text
    client.cookies.clear()
    sign_in(client, "manager")
    assert client.get("/admin/jobs").status_code == 403
    assert 'href="/admin/jobs"' not in client.get("/admin").text


def test_a_dry_run_changes_nothing_and_the_confirmed_run_is_audited(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    english(client)
    page = client.get("/admin/jobs")
    contents = table_contents(database)

    dry = client.post("/admin/jobs/review-tiers", data={"csrf_token": csrf(page.text)})
    assert dry.status_code == 200
    assert 'id="job-dry-run"' in dry.text and "would be reviewed" in dry.text
    assert 'id="confirm-job"' in dry.text
    assert table_contents(database) == contents

    ran = client.post(
        "/admin/jobs/review-tiers", data={"csrf_token": csrf(dry.text), "confirmed": "yes"}
    )
    assert ran.status_code == 200 and 'id="job-ran"' in ran.text
    with database.session_scope(read_only=True) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "job.run"))
    assert (entry.subject_id, entry.actor_name) == ("review-tiers", "admin")
    assert entry.after is not None
    assert entry.after["said"][0].startswith("0 members reviewed")


def test_unknown_jobs_and_forged_tokens_are_refused(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    page = client.get("/admin/jobs")
    contents = table_contents(database)
    assert client.post("/admin/jobs/expire-points", data={"csrf_token": "x"}).status_code == 403
    for name in ("nope", "<script>", "x" * 5000):
        answer = client.post(f"/admin/jobs/{name}", data={"csrf_token": csrf(page.text)})
        assert answer.status_code == 404
    assert table_contents(database) == contents
