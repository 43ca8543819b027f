"""Shared certificate helpers of ``qpi.protocol.certs`` (``driver-protocol.md`` §2 steps 3–5)."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qpi.errors import ConfigError, InvalidInputError
from qpi.protocol.certs import (
    build_csr,
    ca_fingerprint,
    client_cn,
    fingerprints_match,
    load_or_create_key,
    normalise_fingerprint,
    write_file_atomic,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def ca_pem() -> bytes:
    return trustme.CA().cert_pem.bytes()


def test_fingerprint_is_sha256_of_der_in_lowercase_hex(ca_pem: bytes) -> None:
    der = x509.load_pem_x509_certificate(ca_pem).public_bytes(serialization.Encoding.DER)
    expected = hashlib.sha256(der).hexdigest()
    assert ca_fingerprint(ca_pem) == expected
    assert ca_fingerprint(ca_pem.decode()) == expected
    assert len(expected) == 64


def test_fingerprint_uses_the_first_certificate_block(ca_pem: bytes) -> None:
    other = trustme.CA().cert_pem.bytes()
    bundle = b"leading text\n" + ca_pem + other
    assert ca_fingerprint(bundle) == ca_fingerprint(ca_pem) != ca_fingerprint(other)


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "hello",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    ],
    ids=["empty", "text", "bad-base64", "not-a-certificate"],
)
def test_fingerprint_of_garbage_is_refused(pem: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        ca_fingerprint(pem)
    assert info.value.code == "invalid_certificate"


def test_normalise_fingerprint_ignores_case_colons_and_blanks() -> None:
    plain = "0123456789abcdef" * 4
    colons = ":".join(plain[i : i + 2] for i in range(0, 64, 2)).upper()
    assert normalise_fingerprint(colons) == plain
    assert normalise_fingerprint(f"  {plain.upper()}\n") == plain


@pytest.mark.parametrize("text", ["", "   ", "::", "ab" * 31, "ab" * 33, "zz" * 32, "sha256:" + "ab" * 32])
def test_malformed_fingerprint_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        normalise_fingerprint(text)


def test_fingerprints_match() -> None:
    plain = "ab12" * 16
    assert fingerprints_match(plain, ":".join(plain[i : i + 2] for i in range(0, 64, 2)).upper())
    assert not fingerprints_match(plain, "ab13" * 16)
    assert not fingerprints_match("abc", "abc")  # not a fingerprint at all
    assert not fingerprints_match("", "")


def test_key_is_created_with_mode_0600_in_a_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "nested" / "driver.key"
    key = load_or_create_key(path)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert b"BEGIN PRIVATE KEY" in path.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == ["driver.key"]  # no temporary file left

    again = load_or_create_key(path)
    assert again.public_key().public_numbers() == key.public_key().public_numbers()


def test_existing_rsa_2048_key_is_used(tmp_path: Path) -> None:
    path = tmp_path / "driver.key"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_file_atomic(
        path,
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        mode=0o600,
    )
    assert isinstance(load_or_create_key(path), rsa.RSAPrivateKey)


@pytest.mark.parametrize("content", ["garbage", "weak-rsa"])
def test_unusable_key_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "driver.key"
    if content == "garbage":
        path.write_text("not a key")
    else:
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        path.write_bytes(
            weak.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    with pytest.raises(ConfigError, match=str(path)):
        load_or_create_key(path)


def test_build_csr(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "driver.key")
    csr = x509.load_pem_x509_csr(build_csr(key, "qpu_sim_01").encode())
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "CN=qpu_sim_01"
    assert csr.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


def test_client_cn() -> None:
    assert client_cn("drv_abc", 3) == "drv_abc/3"
    with pytest.raises(InvalidInputError):
        client_cn("a/b", 1)
    with pytest.raises(InvalidInputError):
        client_cn("x" * 63, 10)
    with pytest.raises(InvalidInputError):
        client_cn("", 1)


def test_write_file_atomic_replaces_content_with_the_given_mode(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    write_file_atomic(path, b"one", mode=0o644)
    write_file_atomic(path, b"two", mode=0o644)
    assert path.read_bytes() == b"two"
    assert _mode(path) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["ca.pem"]
