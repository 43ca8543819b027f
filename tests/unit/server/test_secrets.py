"""Credential material (``qpi.server.auth.secrets``): formats, hashes, verification."""

from __future__ import annotations

import hashlib
import re

from argon2 import PasswordHasher

from qpi.server.auth.secrets import (
    TOKEN_RE,
    hash_password,
    new_api_token,
    new_csrf_token,
    new_session_token,
    random_password,
    sha256_hex,
    token_prefix,
    verify_password,
)


def test_token_formats() -> None:
    api, session = new_api_token(), new_session_token()
    assert re.fullmatch(r"qpi_[0-9a-f]{64}", api) and re.fullmatch(r"qps_[0-9a-f]{64}", session)
    assert TOKEN_RE.match(api) and TOKEN_RE.match(session)
    assert len({new_api_token() for _ in range(50)}) == 50
    assert token_prefix(api) == api[:12] and token_prefix(api).startswith("qpi_")
    csrf = new_csrf_token()
    assert len(csrf) >= 40 and re.fullmatch(r"[A-Za-z0-9_-]+", csrf) and csrf != new_csrf_token()


def test_token_pattern_rejects_near_misses() -> None:
    good = "qpi_" + "a" * 64
    for bad in ("qpi_" + "a" * 63, "qpi_" + "a" * 65, "qpi_" + "A" * 64, "qpx_" + "a" * 64, " " + good, good + "\n"):
        assert not TOKEN_RE.match(bad), bad


def test_sha256_hex() -> None:
    assert sha256_hex("qpi_x") == hashlib.sha256(b"qpi_x").hexdigest()
    assert len(sha256_hex(new_api_token())) == 64


def test_random_password() -> None:
    passwords = {random_password() for _ in range(20)}
    assert len(passwords) == 20 and all(len(p) == 20 for p in passwords)
    assert len(random_password(32)) == 32


def test_password_hashing() -> None:
    hashed = hash_password("s3cret-pass")
    assert hashed.startswith("$argon2id$") and "s3cret-pass" not in hashed
    assert verify_password(hashed, "s3cret-pass")
    assert not verify_password(hashed, "s3cret-pasS")
    assert not verify_password(None, "s3cret-pass")  # unknown account: always false (timing kept)
    assert not verify_password("not a hash", "s3cret-pass")
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("other")
    assert verify_password(cheap, "other")  # parameters are read from the stored hash
