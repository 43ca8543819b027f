"""The server's TLS material: root CA, server certificate and client-certificate signing.

``config.md`` §2.1 (the four TLS options), ``driver-protocol.md`` P-1.3–P-1.6 and P-2.4.

* The **CA** (``--tls-ca-cert-file`` / ``--tls-ca-key-file``) is an ECDSA P-256 key with a self-signed
  certificate valid 10 years. P-256 rather than RSA-3072: the same strength as the drivers' keys, small
  certificates, fast handshakes, supported by nng's Mbed TLS. It is created on first start when *both* files
  are absent and never replaced automatically (that would change the fingerprint every driver pins);
  :func:`ca_expiry_warning` says when it is about to expire. An existing RSA or EC CA is used as it is.
* The **server certificate** (``--tls-cert-file`` / ``--tls-key-file``) is reissued with a fresh P-256 key
  when it is missing, unreadable, expired or within 2 days of expiry, not signed by the CA, missing a
  required SAN, or not matching its key. It is never a reason to refuse to start.
* :func:`sign_client_csr` (in :mod:`qpi.server.csr`, re-exported here) turns a driver's CSR into its client
  certificate (CN ``<driver_id>/<session>``, EKU clientAuth only).

Certificates are built and checked with the helpers of :mod:`qpi.server.certificates`.

Writes are atomic (temporary file + rename); key files get mode 0600, certificates 0644. Every function
takes ``now`` (timezone-aware), so the lifecycle is tested with plain values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from qpi.errors import ConfigError
from qpi.protocol.certs import MAX_CN_LENGTH, ca_fingerprint, write_file_atomic
from qpi.server.certificates import (
    CAKey,
    cert_sans,
    check_aware,
    issue_certificate,
    public_der,
    san_value,
    signed_by,
    to_pem,
)
from qpi.server.csr import sign_client_csr

__all__ = [
    "CA_VALIDITY",
    "CA_WARNING_BEFORE",
    "DEFAULT_SANS",
    "SERVER_CERT_RENEW_BEFORE",
    "SERVER_CERT_VALIDITY",
    "TlsMaterial",
    "TlsPaths",
    "ca_expiry_warning",
    "ensure_tls",
    "needs_reissue",
    "sign_client_csr",
]

logger = logging.getLogger(__name__)

CA_VALIDITY = timedelta(days=3650)
CA_WARNING_BEFORE = timedelta(days=30)
SERVER_CERT_VALIDITY = timedelta(days=7)
SERVER_CERT_RENEW_BEFORE = timedelta(days=2)
#: SANs every server certificate carries (``config.md`` §2.1), besides ``--ip-addr`` and ``--domain``.
DEFAULT_SANS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsPaths:
    """The four TLS files: ``--tls-ca-cert-file``, ``--tls-ca-key-file``, ``--tls-cert-file``, ``--tls-key-file``."""

    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class TlsMaterial:
    """The loaded CA and the current server certificate.

    ``cert_pem``/``key_pem`` serve the NNG listeners and ``--https``; ``ca_cert_pem`` is served at
    ``GET /api/pub/root-ca.pem`` with ``X-CA-Fingerprint: fingerprint``.
    """

    paths: TlsPaths
    ca_cert_pem: str
    fingerprint: str
    ca_not_after: datetime
    cert_pem: str
    key_pem: str
    cert_not_after: datetime
    sans: tuple[str, ...]
    common_name: str
    ca_cert: x509.Certificate = field(repr=False, compare=False)
    ca_key: CAKey = field(repr=False, compare=False)

    @property
    def cert_path(self) -> Path:
        return self.paths.cert

    @property
    def key_path(self) -> Path:
        return self.paths.key


# ------------------------------------------------------------------------------------------------------ CA


def _required_sans(sans: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    values = dict.fromkeys(san_value(s) for s in (*DEFAULT_SANS, *sans) if s and s.strip())
    return tuple(str(v) for v in values)


def _load_ca(paths: TlsPaths) -> tuple[x509.Certificate, CAKey] | None:
    cert_exists, key_exists = paths.ca_cert.exists(), paths.ca_key.exists()
    if cert_exists != key_exists:
        present, missing = (paths.ca_cert, paths.ca_key) if cert_exists else (paths.ca_key, paths.ca_cert)
        raise ConfigError(
            f"the CA file {present} exists but {missing} does not: restore the missing file, or remove both to "
            "create a new CA (every driver must then be given the new fingerprint)"
        )
    if not cert_exists:
        return None
    try:
        ca_cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the CA certificate {paths.ca_cert}: {exc}") from exc
    try:
        key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigError(f"cannot read the CA key {paths.ca_key} (unencrypted PEM expected): {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError(f"the CA key {paths.ca_key} must be an EC or RSA key")
    if public_der(key.public_key()) != public_der(ca_cert.public_key()):
        raise ConfigError(f"the CA key {paths.ca_key} does not belong to the CA certificate {paths.ca_cert}")
    return ca_cert, key


def _create_ca(paths: TlsPaths, now: datetime) -> tuple[x509.Certificate, CAKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    # A unique CN, so two servers' CAs never share a subject (chain building stays unambiguous).
    unique = f"QPI root CA {x509.random_serial_number():x}"[:MAX_CN_LENGTH]
    name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "QPI"), x509.NameAttribute(NameOID.COMMON_NAME, unique)]
    )
    cert = issue_certificate(
        unique, key.public_key(), issuer=None, signer=key, now=now, not_after=now + CA_VALIDITY, eku=None, subject=name
    )
    # Key first: a crash in between leaves "key without certificate", which is refused loudly, never a
    # certificate whose key is lost.
    write_file_atomic(paths.ca_key, to_pem(key).encode("ascii"), mode=0o600)
    write_file_atomic(paths.ca_cert, to_pem(cert).encode("ascii"), mode=0o644)
    logger.info("created a new root CA in %s (fingerprint %s)", paths.ca_cert, ca_fingerprint(to_pem(cert)))
    return cert, key


# -------------------------------------------------------------------------------------- server certificate


def _server_cert_problem(
    found: tuple[x509.Certificate, str, str, bytes] | str,
    ca: x509.Certificate,
    required: tuple[str, ...],
    now: datetime,
) -> str | None:
    """Why the server certificate must be reissued, or ``None`` when it is fine."""
    if isinstance(found, str):
        return found
    cert, _, _, keypublic_der = found
    if now >= cert.not_valid_after_utc:
        return "expired"
    if now >= cert.not_valid_after_utc - SERVER_CERT_RENEW_BEFORE:
        return "within 2 days of expiry"
    if not signed_by(cert, ca):
        return "not signed by the CA"
    missing = {san_value(s) for s in required} - cert_sans(cert)
    if missing:
        return "missing SAN " + ", ".join(sorted(str(m) for m in missing))
    if public_der(cert.public_key()) != keypublic_der:
        return "not matching its key"
    return None


def _read_server_cert(paths: TlsPaths) -> tuple[x509.Certificate, str, str, bytes] | str:
    """The certificate, both PEMs and the key's public DER; or why they cannot be used."""
    try:
        cert_pem, key_pem = paths.cert.read_bytes(), paths.key.read_bytes()
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return "unreadable"
    return cert, cert_pem.decode("ascii"), key_pem.decode("ascii"), public_der(key.public_key())


# -------------------------------------------------------------------------------------------- public API


def ensure_tls(paths: TlsPaths, *, sans: list[str], now: datetime, common_name: str | None = None) -> TlsMaterial:
    """Load (or create) the CA, make sure a valid server certificate exists, and return both.

    ``sans`` holds ``--ip-addr`` and ``--domain`` (empty strings are ignored); ``localhost``, ``127.0.0.1``
    and ``::1`` are always added. ``common_name`` defaults to the first of ``sans`` (give ``--domain`` first
    when it is set), else ``localhost``. Raises :class:`ConfigError` when only one of the two CA files
    exists or the CA cannot be read; the server certificate never raises: a new one replaces a bad one.
    """
    check_aware(now)
    ca_cert, ca_key = _load_ca(paths) or _create_ca(paths, now)
    required = _required_sans(sans)
    cn = common_name or next((s.strip() for s in sans if s and s.strip()), "localhost")

    found = _read_server_cert(paths)
    problem = _server_cert_problem(found, ca_cert, required, now)
    if problem is None and not isinstance(found, str):
        cert, cert_pem, key_pem, _ = found
    else:
        logger.info("issuing a new server certificate in %s: the current one is %s", paths.cert, problem)
        key = ec.generate_private_key(ec.SECP256R1())
        # Not capped at the CA's expiry: a capped certificate would be "near expiry" at every check in the
        # CA's last days (a reload loop). Peers refuse an expired CA anyway (see ca_expiry_warning).
        cert = issue_certificate(
            cn,
            key.public_key(),
            issuer=ca_cert,
            signer=ca_key,
            now=now,
            not_after=now + SERVER_CERT_VALIDITY,
            eku=ExtendedKeyUsageOID.SERVER_AUTH,
            sans=required,
        )
        cert_pem, key_pem = to_pem(cert), to_pem(key)
        try:
            write_file_atomic(paths.key, key_pem.encode("ascii"), mode=0o600)
            write_file_atomic(paths.cert, cert_pem.encode("ascii"), mode=0o644)
        except OSError as exc:  # never a reason to refuse to start: the certificate lives on in memory
            logger.error("cannot write the server certificate to %s: %s; using it from memory", paths.cert, exc)
    ca_pem = to_pem(ca_cert)
    return TlsMaterial(
        paths=paths,
        ca_cert_pem=ca_pem,
        fingerprint=ca_fingerprint(ca_pem),
        ca_not_after=ca_cert.not_valid_after_utc,
        cert_pem=cert_pem,
        key_pem=key_pem,
        cert_not_after=cert.not_valid_after_utc,
        sans=tuple(sorted({str(v) for v in cert_sans(cert)})),
        common_name=cn,
        ca_cert=ca_cert,
        ca_key=ca_key,
    )


def needs_reissue(material: TlsMaterial, now: datetime) -> bool:
    """True when the server certificate in ``material`` is expired or within 2 days of expiry.

    The running server checks this periodically (hourly is plenty); when True it calls :func:`ensure_tls`
    again and reloads its listeners with the new certificate (P-1.6).
    """
    return now >= material.cert_not_after - SERVER_CERT_RENEW_BEFORE


def ca_expiry_warning(material: TlsMaterial, now: datetime) -> str | None:
    """A warning text from 30 days before the CA expires (the server logs it daily), else ``None``."""
    left = material.ca_not_after - now
    if left > CA_WARNING_BEFORE:
        return None
    where, day = material.paths.ca_cert, f"{material.ca_not_after:%Y-%m-%d}"
    if left <= timedelta(0):
        return (
            f"the root CA {where} expired on {day}: drivers cannot connect. Create a new CA (remove both CA "
            "files and restart) and give every driver the new fingerprint."
        )
    return (
        f"the root CA {where} expires on {day} ({left.days} days left). QPI never replaces it on its own: "
        "plan a new CA and give every driver the new fingerprint."
    )
