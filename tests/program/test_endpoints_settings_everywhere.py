"""A settings change made by another process is seen from the next request on."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from sqlalchemy import update

from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.program.models import Program, ProgramSetting
from tests.rest import Api, make_key, order_body


def test_policies_changed_elsewhere_apply_at_the_next_request(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given this process has read the program and allows cross-store returns
    assert (
        admin.patch("/api/v1/program", {"policies": {"cross_store_returns": True}}).status_code
        == 200
    )
    admin.post("/api/v1/stores", {"code": "BJ001", "name": "北京店", "type": "direct"})
    assert admin.post("/api/v1/orders", order_body(member["member_no"], "O-1")).status_code == 201
    beijing = Api(admin.client, make_key(database, "pos", "BJ001"))
    assert beijing.get("/api/v1/orders/O-1").status_code == 200

    # when another process turns them off (a write this process's cache never saw)
    with database.session_scope() as session:
        session.execute(
            update(ProgramSetting)
            .where(ProgramSetting.section == "policies")
            .values(value={"cross_store_returns": False})
        )
        session.execute(update(Program).values(updated_at=utcnow()))

    # then the very next request here refuses the other store's key
    refused = beijing.post("/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1"})
    assert (refused.status_code, refused.json()["code"]) == (403, "store_mismatch")
    assert admin.get("/api/v1/program").json()["policies"]["cross_store_returns"] is False


def test_a_change_through_the_api_of_another_process_is_seen_here(
    admin: Api, database: Database
) -> None:
    # given this process has the default back-dating bound cached
    assert admin.get("/api/v1/program").json()["policies"]["backdate_days"] == 30

    # when a second process changes it through the service (as its PATCH would)
    script = (
        "from memberkit.config import configure; from memberkit.db import get_database;"
        "from memberkit.program import service;"
        f"configure(database_url={database.url!r}, secret_key='x', scheduler=False);"
        "db = get_database()\n"
        "with db.session_scope() as s:\n"
        "    service.configure(s, program=service.get(s), policies={'backdate_days': 7})\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)

    # then this process answers with the new value, without a restart
    assert admin.get("/api/v1/program").json()["policies"]["backdate_days"] == 7
