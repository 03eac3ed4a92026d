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


def test_mask_decodes_percent_escapes_before_matching() -> None:
    # given keys and values percent-encoded, once or twice
    assert mask("/api/v1/members?qr%5Ftoken=abc-DEF_123") == "/api/v1/members?qr_token=***"
    assert mask("/api/v1/members?ph%6Fne=%31%33%38%30%30%31%33%38%30%30%30&x=1") == (
        "/api/v1/members?phone=***&x=1"
    )
    assert mask("/api/v1/members?qr%255Ftoken=abc") == "/api/v1/members?qr_token=***"
    assert mask("/api/v1/members/%2531%2533800138000") == "/api/v1/members/138****8000"
    # an escaped delimiter stays escaped, so no line can be forged in the log
    assert mask("/m?qr_token=abc%26def&x=%0Ay") == "/m?qr_token=***&x=%0Ay"
    # and a line with nothing to mask is left exactly as it came
    assert mask("/api/v1/stores?name=%E4%B8%8A%E6%B5%B7%20") == (
        "/api/v1/stores?name=%E4%B8%8A%E6%B5%B7%20"
    )


def test_mask_hides_a_mobile_number_in_a_path_with_any_prefix_but_not_a_card_number() -> None:
    for path in (
        "/api/v1/members/13912345678",
        "/api/v1/members/+8613912345678",
        "/api/v1/members/%2B8613912345678",
        "/api/v1/members/8613912345678",
        "/api/v1/members/008613912345678",
        "/api/v1/members/139-1234-5678",
        "/api/v1/members/139%201234%205678",
    ):
        assert mask(f"GET {path} HTTP/1.1") == "GET /api/v1/members/139****5678 HTTP/1.1", path
    for card in ("800000000018", "813912345678", "861391234567"):
        assert mask(f"/api/v1/members/{card}/points") == f"/api/v1/members/{card}/points"
