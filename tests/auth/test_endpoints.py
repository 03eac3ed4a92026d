"""API keys: listed and revoked by CLI and API; a revoked key is refused at once everywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from memberkit.auth import service as auth_service
from memberkit.cli.main import app
from memberkit.config import settings
from memberkit.db import Database
from tests.rest import Api, make_key, table_contents


def test_admin_keys_issue_list_and_revoke_keys(
    client: Any, admin: Api, store: dict[str, Any], database: Database
) -> None:
    # when an admin key issues a till key bound to SH001
    issued = admin.post(
        "/api/v1/apikeys", {"name": "POS SH001", "scope": "pos", "store_code": "SH001"}
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    till = Api(client, body["key"])
    # then the key works, and the list shows it without the key itself
    assert till.get("/api/v1/stores").status_code == 200
    listed = admin.get("/api/v1/apikeys").json()
    assert [(k["name"], k["scope"], k["store_code"], k["revoked_at"]) for k in listed] == [
        ("test-admin", "admin", None, None),
        ("POS SH001", "pos", "SH001", None),
    ]
    assert all(
        set(k) == {"id", "prefix", "name", "scope", "store_code", "created_at", "revoked_at"}
        for k in listed
    )
    assert body["key"].startswith(f"mk_{body['prefix']}_")
    # when it is revoked by prefix (twice: the second changes nothing)
    revoked = admin.client.delete(f"/api/v1/apikeys/{body['prefix']}", headers=admin.headers)
    again = admin.client.delete(f"/api/v1/apikeys/{body['id']}", headers=admin.headers)
    # then it is refused on its next request, though this process had it cached
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert again.json() == revoked.json()
    refused = till.get("/api/v1/stores")
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")


def test_only_admin_keys_manage_keys_and_unknown_keys_are_404(
    client: Any, admin: Api, database: Database
) -> None:
    pos = Api(client, make_key(database, "pos"))
    before = table_contents(database)
    assert pos.get("/api/v1/apikeys").status_code == 403
    assert pos.post("/api/v1/apikeys", {"name": "x", "scope": "admin"}).status_code == 403
    assert pos.client.delete("/api/v1/apikeys/1", headers=pos.headers).status_code == 403
    missing = admin.client.delete("/api/v1/apikeys/abcdef12", headers=admin.headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "api_key_not_found")
    bad_scope = admin.post("/api/v1/apikeys", {"name": "x", "scope": "root"})
    assert bad_scope.status_code == 422
    assert table_contents(database) == before


def test_a_key_revoked_by_another_process_is_refused_at_once(
    client: Any, database: Database
) -> None:
    # given a key this process has just used, so it is in this process's cache
    key = make_key(database, "read")
    reader = Api(client, key)
    assert reader.get("/api/v1/stores").status_code == 200
    assert auth_service.cached(f"Bearer {key}", database.engine) is not None
    # when another process revokes it with the CLI
    listed = CliRunner().invoke(app, ["apikey", "list"])
    prefix = key.split("_")[1]
    assert prefix in listed.output and "test-read" in listed.output
    env = {
        **os.environ,
        "MEMBERKIT_DATABASE_URL": settings.resolved_database_url,
        "MEMBERKIT_SECRET_KEY": settings.secret_key,
        "MEMBERKIT_DATA_DIR": str(settings.data_dir),
    }
    result = subprocess.run(
        [str(Path(sys.executable).with_name("memberkit")), "apikey", "revoke", prefix],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # then the very next request here is refused, and the cache no longer holds the key
    refused = reader.get("/api/v1/stores")
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")
    assert auth_service._cache.get(auth_service._hash(key)) is None
    # and revoking an unknown key fails plainly
    unknown = CliRunner().invoke(app, ["apikey", "revoke", "ffffffff"])
    assert unknown.exit_code == 2


def test_a_store_bound_admin_key_manages_no_keys_and_no_program_wide_rules(
    client: Any, admin: Api, store: dict[str, Any], database: Database
) -> None:
    # given an admin key bound to store SH001 (a store manager's key)
    manager = Api(client, make_key(database, "admin", store="SH001"))
    before = table_contents(database)
    # when it lists, issues or revokes keys, or changes the whole program's rules
    attempts = [
        manager.get("/api/v1/apikeys"),
        manager.post("/api/v1/apikeys", {"name": "mine now", "scope": "admin"}),
        manager.client.delete("/api/v1/apikeys/1", headers=manager.headers),
        manager.patch("/api/v1/program", {"policies": {"backdate_days": 10}}),
        manager.client.put("/api/v1/tiers", json={"tiers": []}, headers=manager.headers),
        manager.client.put("/api/v1/growth", json={"behaviours": {}}, headers=manager.headers),
        manager.client.put("/api/v1/wallet/rules", json={}, headers=manager.headers),
        manager.post("/api/v1/stores", {"code": "SH009", "name": "新店", "type": "direct"}),
    ]
    # then each is refused with the same code and a message that says why, in both languages
    assert [(r.status_code, r.json()["code"]) for r in attempts] == [(403, "store_bound_key")] * 8
    english = manager.client.get(
        "/api/v1/apikeys", headers={**manager.headers, "Accept-Language": "en"}
    )
    assert english.json()["detail"] == (
        "This API key is bound to store SH001: managing API keys and changing the whole"
        " program's rules needs an admin key that is not bound to a store."
    )
    assert attempts[1].json()["detail"] == (
        "此 API 密钥绑定在门店 SH001：管理 API 密钥和修改整个会员计划的规则需要未绑定门店的管理员密钥。"
    )
    assert table_contents(database) == before
    # while it still acts for its store as an admin key
    assert manager.get("/api/v1/stores").status_code == 200


def test_a_key_cannot_revoke_itself(client: Any, admin: Api, database: Database) -> None:
    # given the admin key's own id and prefix
    own = admin.get("/api/v1/apikeys").json()[0]
    before = table_contents(database)
    # when it tries to revoke itself by id, then by prefix
    by_id = admin.client.delete(f"/api/v1/apikeys/{own['id']}", headers=admin.headers)
    by_prefix = admin.client.delete(f"/api/v1/apikeys/{own['prefix']}", headers=admin.headers)
    # then both are refused, nothing changed, and the key still works
    for refused in (by_id, by_prefix):
        assert (refused.status_code, refused.json()["code"]) == (409, "cannot_revoke_own_key")
    assert (
        by_id.json()["detail"]
        == f"API 密钥不能吊销自身（{own['id']}）；请用另一个管理员密钥吊销它。"
    )
    assert table_contents(database) == before
    assert admin.get("/api/v1/apikeys").status_code == 200
