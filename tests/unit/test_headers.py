from multidict import CIMultiDict

from salesloft_async.headers import COST, REMAINING, date_header, header, int_header


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
