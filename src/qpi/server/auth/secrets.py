"""Credential material: argon2id password hashes and ``qpi_``/``qps_`` tokens stored as SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "TOKEN_RE",
    "hash_password",
    "new_api_token",
    "new_csrf_token",
    "new_session_token",
    "random_password",
    "sha256_hex",
    "token_prefix",
    "verify_password",
]

TOKEN_RE = re.compile(r"^qp[is]_[0-9a-f]{64}\Z")  # \Z: no trailing newline

_hasher = PasswordHasher()  # argon2id with the library's (OWASP-aligned) defaults
# A real hash of a random password: verifying against it when the e-mail is unknown keeps
# login timing the same for unknown users and wrong passwords.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def sha256_hex(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_api_token() -> str:
    return "qpi_" + secrets.token_hex(32)


def new_session_token() -> str:
    return "qps_" + secrets.token_hex(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def token_prefix(raw: str) -> str:
    return raw[:12]


def random_password(length: int = 20) -> str:
    return secrets.token_urlsafe(length)[:length]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
