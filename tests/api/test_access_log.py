"""The log filter masks phone numbers and QR tokens, and keeps uvicorn's arguments' shape."""

from __future__ import annotations

import logging

from memberkit.api.access_log import MaskPersonalData, log_config, mask


def test_mask_hides_phones_and_tokens_but_not_card_numbers() -> None:
    assert mask("GET /api/v1/members?phone=138%200013%208000&x=1") == (
        "GET /api/v1/members?phone=***&x=1"
    )
    assert mask("/api/v1/members?qr_token=abc-DEF_123") == "/api/v1/members?qr_token=***"
    assert mask("/members/13800138000 and +8613900139000") == "/members/138****8000 and 139****9000"
    assert mask("/api/v1/members/800000000018/points") == "/api/v1/members/800000000018/points"


def test_the_filter_rewrites_a_uvicorn_access_record() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/members?phone=13800138000", "1.1", 200),
        None,
    )
    assert MaskPersonalData().filter(record) is True
    assert record.getMessage() == '127.0.0.1:5000 - "GET /api/v1/members?phone=*** HTTP/1.1" 200'
    config = log_config()
    assert config["loggers"]["uvicorn.access"]["filters"] == ["personal_data"]
