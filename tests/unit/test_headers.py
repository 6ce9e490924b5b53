import pytest
from multidict import CIMultiDict

from salesloft_async.headers import (
    COST,
    REMAINING,
    date_header,
    header,
    int_header,
    parse_retry_after,
)


def test_plain_dicts_are_read_case_insensitively() -> None:
    headers = {"X-RateLimit-Endpoint-Cost": "3", "X-Ratelimit-Remaining-Minute": " 597 "}
    assert int_header(headers, COST) == 3
    assert int_header(headers, REMAINING) == 597


def test_aiohttp_multidicts_work_too() -> None:
    assert header(CIMultiDict({"Retry-After": "7"}), "retry-after") == "7"


def test_absent_or_garbled_values_are_none() -> None:
    assert int_header({}, COST) is None
    assert int_header({COST: "lots"}, COST) is None
    assert date_header({"Date": "yesterday"}) is None
    assert date_header({}) is None


def test_date_is_epoch_seconds() -> None:
    assert date_header({"Date": "Thu, 01 Jan 1970 00:01:40 GMT"}) == 100.0


@pytest.mark.parametrize(
    "value",
    [
        "inf",
        "-inf",
        "nan",
        "1e400",
        "-5",
        "86401",
        "999999999",
        "soon",
        "",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Thu, 02 Jan 1970 00:00:01 GMT",  # a day and a second after now_epoch=0
    ],
)
def test_retry_after_that_cannot_be_honest_is_absent(value: str) -> None:
    assert parse_retry_after(value, now_epoch=0) is None


def test_retry_after_within_a_day_is_read() -> None:
    assert parse_retry_after(" 7.5 ", now_epoch=0) == 7.5
    assert parse_retry_after("86400", now_epoch=0) == 86400
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now_epoch=40) == 60
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now_epoch=40) == 0  # past: now
