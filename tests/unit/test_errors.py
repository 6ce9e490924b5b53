import pytest

from salesloft_async.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RedirectError,
    SalesloftError,
    ServerError,
    ValidationError,
    error_for_status,
    redact,
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, ValidationError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
        (400, APIError),
        (409, APIError),
    ],
)
def test_status_maps_to_its_class(status, cls) -> None:
    err = error_for_status(status, {"error": "boom"}, method="GET", path="/v2/x")
    assert type(err) is cls
    assert isinstance(err, SalesloftError)
    assert err.status == status
    assert err.message == "boom"
    assert "GET /v2/x" in str(err)


def test_validation_errors_are_a_dict_of_lists() -> None:
    body = {"errors": {"email_address": ["is invalid", "is taken"], "base": "odd"}}
    err = error_for_status(422, body)
    assert isinstance(err, ValidationError)
    assert err.errors == {"email_address": ["is invalid", "is taken"], "base": ["odd"]}
    assert "email_address is invalid, is taken" in err.message


def test_invalid_grant_description_is_kept() -> None:
    err = error_for_status(400, {"error": "invalid_grant", "error_description": "revoked"})
    assert err.message == "invalid_grant: revoked"


def test_text_body_becomes_the_message_and_is_truncated() -> None:
    err = error_for_status(502, "<html>" + "x" * 500)
    assert isinstance(err, ServerError)
    assert err.message.startswith("<html>")
    assert len(err.message) == 200


def test_empty_body_still_says_something() -> None:
    assert error_for_status(500, None).message == "HTTP 500 with no error message"


def test_rate_limited_message_says_what_to_do() -> None:
    assert "CostBudget" in str(error_for_status(429, {"error": "API rate limit exceeded"}))


def test_redact_replaces_plain_and_percent_encoded_secrets() -> None:
    text = "got Bearer ak_s/ecret and ak_s%2Fecret and ak_other"
    assert redact(text, ["ak_s/ecret", ""]) == "got Bearer <redacted> and <redacted> and ak_other"


def test_a_redirect_says_it_was_not_followed() -> None:
    error = error_for_status(302, None, method="GET", path="/v2/people", headers={"Location": "/x"})
    assert isinstance(error, RedirectError)
    assert "to /x" in str(error) and "never followed" in str(error)
