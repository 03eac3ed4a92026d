"""``memberkit webhook …``: subscribe, list, switch off and on, read the log, replay."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from memberkit.config import settings
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.webhook import service
from tests.rest import table_contents
from tests.webhook.receiver import receiving, verify
from tests.webhook.test_delivery import register


def cli(*args: str, code: int = 0) -> str:
    from memberkit.cli.main import app

    result = CliRunner().invoke(app, ["webhook", *args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_an_operator_manages_a_webhook_from_the_command_line(database: Database) -> None:
    with receiving(lambda n: 500 if n == 0 else 200) as receiver:
        added = cli("add", "--url", receiver.url, "--event", "member.registered")
        secret = added.strip().splitlines()[-1]
        assert secret.startswith("whsec_")
        assert f"已为 {receiver.url} 创建 Webhook 1（member.registered）" in added
        listed = cli("list")
        assert receiver.url in listed and "member.registered" in listed
        member = register(database, "13800138000")
        service.deliver_due(database, now=utcnow())
        log = cli("deliveries", "1")
        assert "failed" in log and "HTTP 500" in log and member.member_no in log
        assert "已停用" in cli("disable", "1")
        listed = cli("list")
        assert "由操作员停用" in listed and "因连续投递失败而停用" not in listed
        assert "已启用" in cli("enable", "1")
        assert "将重新发送" in cli("replay", "1", "--delivery", "1")
        service.deliver_due(database, now=utcnow())
        assert "delivered" in cli("deliveries", "1", "--status", "delivered")
    assert len(receiver.received) == 2
    assert verify(secret, receiver.received[1])


def test_wrong_input_exits_2_and_changes_nothing(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "webhook_allow_networks", "")
    before = table_contents(database)
    assert "http:// 或 https://" in cli("add", "--url", "ftp://example.com/", code=2)
    metadata = cli("add", "--url", "http://169.254.169.254/latest/meta-data/", code=2)
    assert " ".join(metadata.split()) == (
        "Webhook 不会发送到 169.254.169.254：它不是公网地址（链路本地地址）。接收方位于本部署自己的"
        "网络中时，须先允许该网段（MEMBERKIT_WEBHOOK_ALLOW_NETWORKS）。"
    )
    assert "回环地址" in cli("add", "--url", "http://[::1]:8080/", code=2)
    assert "不是事件类型" in cli("add", "--url", "https://x.example/", "--event", "x.y", code=2)
    assert "没有 Webhook 订阅 7" in cli("disable", "7", code=2)
    assert "--delivery" in cli("replay", "1", code=2)
    assert "未知状态" in cli("deliveries", "1", "--status", "lost", code=2)
    assert table_contents(database) == before
