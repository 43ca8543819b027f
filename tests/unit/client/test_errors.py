"""One function maps an HTTP error answer to its class; the server's detail is always in ``str(exc)``."""

from __future__ import annotations

import json

import pytest

from qpi.client.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientBalanceError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QPIError,
    RateLimitedError,
    ServerError,
    UnavailableError,
    error_from_response,
    parse_retry_after,
)


def body(status: int, code: str, detail: str, **extra: object) -> bytes:
    return json.dumps({"status": status, "error": code, "detail": detail, **extra}).encode()


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "invalid_request", BadRequestError),
        (422, "idempotency_key_reused", BadRequestError),
        (401, "invalid_token", AuthenticationError),
        (403, "forbidden", PermissionDeniedError),
        (403, "insufficient_balance", InsufficientBalanceError),
        (404, "not_found", NotFoundError),
        (400, "qpu_not_found", NotFoundError),
        (409, "job_finished", ConflictError),
        (413, "payload_too_large", PayloadTooLargeError),
        (429, "rate_limited", RateLimitedError),
        (500, "internal_error", ServerError),
        (502, "bad_gateway", ServerError),
        (503, "unavailable", UnavailableError),
        (418, "teapot", APIError),
    ],
)
def test_status_and_code_map_to_class(status: int, code: str, cls: type[APIError]) -> None:
    detail = f"the server says {code}"
    error = error_from_response(status, body(status, code, detail, field="shots"), {"X-Request-ID": "r1"})
    assert type(error) is cls
    assert isinstance(error, QPIError)
    assert (error.status, error.status_code, error.code, error.detail) == (status, status, code, detail)
    assert detail in str(error)
    assert error.request_id == "r1"
    assert error.field == "shots"


def test_second_bases_help_callers() -> None:
    not_found = error_from_response(404, body(404, "not_found", "x"), {})
    assert isinstance(not_found, LookupError)
    bad = error_from_response(400, body(400, "invalid_circuit", "line 3"), {})
    assert isinstance(bad, InvalidInputError) and isinstance(bad, ValueError)


def test_non_json_body_gives_its_first_500_characters() -> None:
    error = error_from_response(502, b"<html>" + b"x" * 2000, {}, method="GET", url="http://h/api/jobs")
    assert isinstance(error, ServerError)
    assert error.status == 502
    assert "GET http://h/api/jobs" in str(error)
    assert str(error).count("x") == 494  # 500 characters in all, "<html>" included


def test_retry_after_is_parsed() -> None:
    error = error_from_response(429, body(429, "rate_limited", "slow down"), {"Retry-After": "7"})
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 7.0
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
