"""CA and server-certificate lifecycle of ``qpi.server.tls`` (``config.md`` §2.1), with an injected clock."""

from __future__ import annotations

import hashlib
import ipaddress
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from qpi.errors import ConfigError
from qpi.protocol.certs import ca_fingerprint
from qpi.server.tls import (
    TlsMaterial,
    TlsPaths,
    ca_expiry_warning,
    ensure_tls,
    needs_reissue,
)

from .conftest import tls_paths


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def _sans(pem: str) -> set[str]:
    ext = _cert(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {*ext.get_values_for_type(x509.DNSName), *(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))}


def test_first_start_creates_ca_and_server_certificate(paths: TlsPaths, now: datetime) -> None:
    material = ensure_tls(paths, sans=["192.168.1.10"], now=now)

    for path in (paths.ca_cert, paths.ca_key, paths.cert, paths.key):
        assert path.is_file()
    assert _mode(paths.ca_key) == 0o600
    assert _mode(paths.key) == 0o600
    assert _mode(paths.ca_cert) == 0o644
    assert _mode(paths.ca_cert.parent) == 0o700
    assert b"BEGIN PRIVATE KEY" in paths.ca_key.read_bytes()  # PKCS#8

    ca = _cert(material.ca_cert_pem)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.not_valid_after_utc - now == timedelta(days=3650)
    assert material.ca_cert_pem == paths.ca_cert.read_text()

    der = ca.public_bytes(serialization.Encoding.DER)
    assert material.fingerprint == hashlib.sha256(der).hexdigest()
    assert len(material.fingerprint) == 64 and material.fingerprint == material.fingerprint.lower()
    assert ca_fingerprint(paths.ca_cert.read_bytes()) == material.fingerprint

    server = _cert(material.cert_pem)
    server.verify_directly_issued_by(ca)
    assert server.not_valid_after_utc - now == timedelta(days=7)
    assert material.cert_not_after == server.not_valid_after_utc
    assert _sans(material.cert_pem) == {"localhost", "127.0.0.1", "::1", "192.168.1.10"}
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert material.cert_path == paths.cert and material.key_path == paths.key


def test_restart_reuses_ca_and_valid_server_certificate(paths: TlsPaths, now: datetime) -> None:
    first = ensure_tls(paths, sans=["127.0.0.1"], now=now)
    again = ensure_tls(paths, sans=["127.0.0.1"], now=now + timedelta(days=1))
    assert again.fingerprint == first.fingerprint
    assert again.ca_cert_pem == first.ca_cert_pem
    assert again.cert_pem == first.cert_pem  # still valid: not reissued
    assert again.key_pem == first.key_pem


@pytest.mark.parametrize("keep", ["ca_cert", "ca_key"])
def test_one_ca_file_without_the_other_is_refused(paths: TlsPaths, now: datetime, keep: str) -> None:
    ensure_tls(paths, sans=[], now=now)
    missing = paths.ca_key if keep == "ca_cert" else paths.ca_cert
    missing.unlink()
    with pytest.raises(ConfigError) as info:
        ensure_tls(paths, sans=[], now=now)
    assert str(missing) in str(info.value)


def test_ca_key_that_does_not_match_the_ca_is_refused(tmp_path: Path, now: datetime) -> None:
    a, b = tls_paths(tmp_path / "a"), tls_paths(tmp_path / "b")
    ensure_tls(a, sans=[], now=now)
    ensure_tls(b, sans=[], now=now)
    a.ca_key.write_bytes(b.ca_key.read_bytes())
    with pytest.raises(ConfigError, match="does not belong"):
        ensure_tls(a, sans=[], now=now)


@pytest.mark.parametrize(
    ("later", "reissued"),
    [
        (timedelta(days=4), False),  # 3 days left
        (timedelta(days=5, hours=1), True),  # within 2 days of expiry
        (timedelta(days=8), True),  # expired
    ],
)
def test_server_certificate_renewal_by_age(paths: TlsPaths, now: datetime, later: timedelta, reissued: bool) -> None:
    first = ensure_tls(paths, sans=[], now=now)
    assert needs_reissue(first, now + later) is reissued
    again = ensure_tls(paths, sans=[], now=now + later)
    assert (again.cert_pem != first.cert_pem) is reissued
    assert again.fingerprint == first.fingerprint  # the CA is never replaced
    if reissued:
        assert again.cert_not_after == now + later + timedelta(days=7)
        assert paths.cert.read_text() == again.cert_pem
        assert not needs_reissue(again, now + later)


def test_server_certificate_of_another_ca_is_reissued(tmp_path: Path, now: datetime) -> None:
    ours, other = tls_paths(tmp_path / "ours"), tls_paths(tmp_path / "other")
    ensure_tls(ours, sans=[], now=now)
    ensure_tls(other, sans=[], now=now)
    ours.cert.write_bytes(other.cert.read_bytes())
    ours.key.write_bytes(other.key.read_bytes())

    material = ensure_tls(ours, sans=[], now=now)
    assert material.cert_pem != other.cert.read_text()
    _cert(material.cert_pem).verify_directly_issued_by(_cert(material.ca_cert_pem))


def test_missing_san_is_reissued_with_ip_and_domain(paths: TlsPaths, now: datetime) -> None:
    first = ensure_tls(paths, sans=["127.0.0.1"], now=now)
    material = ensure_tls(paths, sans=["qpi.lab.example", "10.0.0.5"], now=now)
    assert material.cert_pem != first.cert_pem
    assert _sans(material.cert_pem) == {"localhost", "127.0.0.1", "::1", "10.0.0.5", "qpi.lab.example"}
    assert _cert(material.cert_pem).subject.rfc4514_string() == "CN=qpi.lab.example"
    # Same SANs in another spelling: nothing to do.
    assert ensure_tls(paths, sans=["QPI.lab.example.", "10.0.0.5"], now=now).cert_pem == material.cert_pem


def test_ipv6_san(paths: TlsPaths, now: datetime) -> None:
    material = ensure_tls(paths, sans=["fd00::5"], now=now)
    ext = _cert(material.cert_pem).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("fd00::5") in ext.get_values_for_type(x509.IPAddress)


@pytest.mark.parametrize("damage", ["garbage_cert", "missing_key", "mismatched_key"])
def test_unreadable_or_inconsistent_server_certificate_is_reissued(tmp_path: Path, now: datetime, damage: str) -> None:
    paths = tls_paths(tmp_path / "data")
    first = ensure_tls(paths, sans=[], now=now)
    if damage == "garbage_cert":
        paths.cert.write_text("not a certificate")
    elif damage == "missing_key":
        paths.key.unlink()
    else:
        other = tls_paths(tmp_path / "other")
        ensure_tls(other, sans=[], now=now)
        paths.key.write_bytes(other.key.read_bytes())

    material = ensure_tls(paths, sans=[], now=now)
    assert material.cert_pem != first.cert_pem
    cert = _cert(material.cert_pem)
    key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    assert _mode(paths.key) == 0o600


def test_unwritable_server_certificate_does_not_stop_the_server(tmp_path: Path, now: datetime) -> None:
    ok = tls_paths(tmp_path / "data")
    ensure_tls(ok, sans=[], now=now)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    paths = TlsPaths(ok.ca_cert, ok.ca_key, blocker / "cert.pem", blocker / "key.pem")

    material = ensure_tls(paths, sans=[], now=now)  # no exception
    _cert(material.cert_pem).verify_directly_issued_by(_cert(material.ca_cert_pem))
    assert "BEGIN PRIVATE KEY" in material.key_pem


def test_ca_expiry_warning(paths: TlsPaths, now: datetime) -> None:
    material: TlsMaterial = ensure_tls(paths, sans=[], now=now)
    expiry = material.ca_not_after
    assert ca_expiry_warning(material, now) is None
    assert ca_expiry_warning(material, expiry - timedelta(days=31)) is None
    soon = ca_expiry_warning(material, expiry - timedelta(days=29))
    assert soon is not None and "29 days left" in soon and str(paths.ca_cert) in soon
    gone = ca_expiry_warning(material, expiry + timedelta(seconds=1))
    assert gone is not None and "expired" in gone
    # Even an expired CA is kept: the fingerprint drivers pin never changes on its own.
    assert ensure_tls(paths, sans=[], now=expiry + timedelta(days=1)).fingerprint == material.fingerprint
