"""What an answer or an exception means, decided without a socket (`_classify`, `_failure_for`)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from salesloft_async.errors import (
    ConnectionFailedError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
)
from salesloft_async.transport import Response, _Attempt, _classify, _failure_for

SECRET = "ak_classify_secret"


def classify(status: int, raw: bytes, method: str = "GET", **headers: str) -> Any:
    return _classify(
        method,
        "/v2/x",
        status,
        headers,
        raw,
        expect="list",
        retry_statuses=frozenset({429, 503}),
        secrets=(SECRET,),
        now_epoch=0.0,
    )


def test_a_good_answer_is_a_response() -> None:
    outcome = classify(200, b'{"data": []}')
    assert isinstance(outcome, Response) and outcome.data == {"data": []}


@pytest.mark.parametrize("raw", [b"<html>", b'{"data": [', b'{"items": []}', b"", b"[" * 100_000])
def test_a_bad_2xx_body_is_a_sent_failure_with_a_redacted_excerpt(raw: bytes) -> None:
    outcome = classify(200, raw + SECRET.encode())
    assert isinstance(outcome, _Attempt) and outcome.failure == "sent"
    assert isinstance(outcome.error, ResponseDecodeError)
    assert SECRET not in str(outcome.error)


def test_a_retryable_status_carries_its_bounded_retry_after() -> None:
    outcome = classify(503, f'{{"error": "{SECRET}"}}'.encode(), **{"Retry-After": "inf"})
    assert isinstance(outcome, _Attempt) and outcome.status == 503
    assert outcome.retry_after is None
    assert isinstance(outcome.error, ServerError) and SECRET not in str(outcome.error)
    assert classify(503, b"", **{"Retry-After": "12"}).retry_after == 12


def test_an_error_status_is_a_redacted_response() -> None:
    outcome = classify(400, f"echo {SECRET}".encode(), **{"X-Echo": SECRET})
    assert isinstance(outcome, Response)
    assert outcome.data == "echo <redacted>" and outcome.headers["x-echo"] == "<redacted>"


@pytest.mark.parametrize(
    ("exc", "failure", "cls"),
    [
        (aiohttp.ClientPayloadError("cut"), "sent", ResponseDecodeError),
        (TimeoutError(), "sent", RequestTimeoutError),
        (aiohttp.ServerDisconnectedError(), "sent", ConnectionFailedError),
        (aiohttp.ClientResponseError(None, (), status=400), "sent", ConnectionFailedError),  # type: ignore[arg-type]
    ],
)
def test_exceptions_map_to_attempts(exc: Exception, failure: str, cls: type[Exception]) -> None:
    outcome = _failure_for(exc, "POST", "/v2/x", base_url="http://h", timeout=2.5, status=200)  # type: ignore[arg-type]
    assert outcome.failure == failure and isinstance(outcome.error, cls)
    assert "check before resending" in str(outcome.error)  # a POST: the caller must decide
