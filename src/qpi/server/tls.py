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
* :func:`sign_client_csr` turns a driver's CSR into its client certificate (CN ``<driver_id>/<session>``,
  EKU clientAuth only).

Writes are atomic (temporary file + rename); key files get mode 0600, certificates 0644. Every function
takes ``now`` (timezone-aware), so the lifecycle is tested with plain values.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from qpi.errors import BadRequestError, ConfigError, InvalidInputError
from qpi.protocol.certs import MAX_CN_LENGTH, ca_fingerprint, write_file_atomic

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
#: Certificates start this long before ``now``, so a peer whose clock is a little behind accepts them.
CLOCK_SKEW = timedelta(minutes=5)
#: SANs every server certificate carries (``config.md`` §2.1), besides ``--ip-addr`` and ``--domain``.
DEFAULT_SANS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")

CAKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
_SanValue: TypeAlias = str | ipaddress.IPv4Address | ipaddress.IPv6Address
_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_KEY_USAGES = (
    *("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement"),
    *("key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
)


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


# ------------------------------------------------------------------------------------------------- helpers


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInputError("now must be a timezone-aware datetime (use datetime.now(UTC))")


def _san_value(text: str) -> _SanValue:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return text.strip().lower().rstrip(".")


def _required_sans(sans: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    values = dict.fromkeys(_san_value(s) for s in (*DEFAULT_SANS, *sans) if s and s.strip())
    return tuple(str(v) for v in values)


def _cert_sans(cert: x509.Certificate) -> set[_SanValue]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    found: set[_SanValue] = {name.lower().rstrip(".") for name in ext.get_values_for_type(x509.DNSName)}
    found.update(ip for ip in ext.get_values_for_type(x509.IPAddress) if isinstance(ip, _IP_TYPES))
    return found


def _pem(obj: x509.Certificate | CAKey) -> str:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode("ascii")
    pkcs8 = serialization.PrivateFormat.PKCS8
    return obj.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()).decode("ascii")


def _public_der(key: object) -> bytes:
    if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b""


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return cert.issuer == ca.subject


def _issue(
    cn: str,
    public_key: _PublicKey,
    *,
    issuer: x509.Certificate | None,
    signer: CAKey,
    now: datetime,
    not_after: datetime,
    eku: x509.ObjectIdentifier | None,
    sans: tuple[str, ...] = (),
    subject: x509.Name | None = None,
) -> x509.Certificate:
    """One certificate: a CA when ``issuer`` is None (self-signed), else a leaf with ``eku``."""
    subject = subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn[:MAX_CN_LENGTH])])
    is_ca = issuer is None
    usage = dict.fromkeys(_KEY_USAGES, False) | {"digital_signature": True, "key_cert_sign": is_ca, "crl_sign": is_ca}
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        try:
            ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        except x509.ExtensionNotFound:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key())
        builder = builder.add_extension(aki, critical=False)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    if sans:
        names = [x509.DNSName(v) if isinstance(v, str) else x509.IPAddress(v) for v in map(_san_value, sans)]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signer, hashes.SHA256())


# ------------------------------------------------------------------------------------------------------ CA


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
    if _public_der(key.public_key()) != _public_der(ca_cert.public_key()):
        raise ConfigError(f"the CA key {paths.ca_key} does not belong to the CA certificate {paths.ca_cert}")
    return ca_cert, key


def _create_ca(paths: TlsPaths, now: datetime) -> tuple[x509.Certificate, CAKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    # A unique CN, so two servers' CAs never share a subject (chain building stays unambiguous).
    unique = f"QPI root CA {x509.random_serial_number():x}"[:MAX_CN_LENGTH]
    name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "QPI"), x509.NameAttribute(NameOID.COMMON_NAME, unique)]
    )
    cert = _issue(
        unique, key.public_key(), issuer=None, signer=key, now=now, not_after=now + CA_VALIDITY, eku=None, subject=name
    )
    # Key first: a crash in between leaves "key without certificate", which is refused loudly, never a
    # certificate whose key is lost.
    write_file_atomic(paths.ca_key, _pem(key).encode("ascii"), mode=0o600)
    write_file_atomic(paths.ca_cert, _pem(cert).encode("ascii"), mode=0o644)
    logger.info("created a new root CA in %s (fingerprint %s)", paths.ca_cert, ca_fingerprint(_pem(cert)))
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
    cert, _, _, key_public_der = found
    if now >= cert.not_valid_after_utc:
        return "expired"
    if now >= cert.not_valid_after_utc - SERVER_CERT_RENEW_BEFORE:
        return "within 2 days of expiry"
    if not _signed_by(cert, ca):
        return "not signed by the CA"
    missing = {_san_value(s) for s in required} - _cert_sans(cert)
    if missing:
        return "missing SAN " + ", ".join(sorted(str(m) for m in missing))
    if _public_der(cert.public_key()) != key_public_der:
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
    return cert, cert_pem.decode("ascii"), key_pem.decode("ascii"), _public_der(key.public_key())


# -------------------------------------------------------------------------------------------- public API


def ensure_tls(paths: TlsPaths, *, sans: list[str], now: datetime, common_name: str | None = None) -> TlsMaterial:
    """Load (or create) the CA, make sure a valid server certificate exists, and return both.

    ``sans`` holds ``--ip-addr`` and ``--domain`` (empty strings are ignored); ``localhost``, ``127.0.0.1``
    and ``::1`` are always added. ``common_name`` defaults to the first of ``sans`` (give ``--domain`` first
    when it is set), else ``localhost``. Raises :class:`ConfigError` when only one of the two CA files
    exists or the CA cannot be read; the server certificate never raises: a new one replaces a bad one.
    """
    _check_aware(now)
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
        cert = _issue(
            cn,
            key.public_key(),
            issuer=ca_cert,
            signer=ca_key,
            now=now,
            not_after=now + SERVER_CERT_VALIDITY,
            eku=ExtendedKeyUsageOID.SERVER_AUTH,
            sans=required,
        )
        cert_pem, key_pem = _pem(cert), _pem(key)
        try:
            write_file_atomic(paths.key, key_pem.encode("ascii"), mode=0o600)
            write_file_atomic(paths.cert, cert_pem.encode("ascii"), mode=0o644)
        except OSError as exc:  # never a reason to refuse to start: the certificate lives on in memory
            logger.error("cannot write the server certificate to %s: %s; using it from memory", paths.cert, exc)
    ca_pem = _pem(ca_cert)
    return TlsMaterial(
        paths=paths,
        ca_cert_pem=ca_pem,
        fingerprint=ca_fingerprint(ca_pem),
        ca_not_after=ca_cert.not_valid_after_utc,
        cert_pem=cert_pem,
        key_pem=key_pem,
        cert_not_after=cert.not_valid_after_utc,
        sans=tuple(sorted({str(v) for v in _cert_sans(cert)})),
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


def _csr_error(detail: str) -> BadRequestError:
    return BadRequestError(detail, code="invalid_csr", field="csr")


def _csr_public_key(csr_pem: str | bytes) -> _PublicKey:
    """The CSR's public key after every check of ``api.md`` §2.5, else :class:`BadRequestError` invalid_csr."""
    data = csr_pem.encode("utf-8", "replace") if isinstance(csr_pem, str) else csr_pem
    try:
        csr = x509.load_pem_x509_csr(data)
        public_key = csr.public_key()
        signature_ok = csr.is_signature_valid
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise _csr_error("csr is not a PEM PKCS#10 certificate signing request") from exc
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise _csr_error(f"csr uses the EC curve {public_key.curve.name}; only P-256 (secp256r1) is accepted")
    elif isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < 2048:
            raise _csr_error(f"csr has an RSA-{public_key.key_size} key; RSA keys need at least 2048 bits")
    else:
        raise _csr_error("csr key type is not accepted; use ECDSA P-256 or RSA ≥ 2048")
    if not signature_ok:
        raise _csr_error("csr signature is invalid")
    return public_key


def sign_client_csr(
    material: TlsMaterial, csr_pem: str | bytes, *, cn: str, ttl_s: float, now: datetime
) -> tuple[str, str, datetime]:
    """Sign a driver's CSR: ``(certificate PEM, serial in hex, not_after)``.

    Accepts ECDSA P-256 and RSA ≥ 2048 keys only; an unparsable PEM, a bad CSR signature or another key
    type raises :class:`BadRequestError` with code ``invalid_csr``. The CSR's subject and extensions are
    ignored: the certificate gets ``CN = cn`` (``<driver_id>/<session>``), EKU clientAuth only, a new random
    serial, and is valid ``ttl_s`` seconds from ``now``.
    """
    _check_aware(now)
    if not cn or len(cn) > MAX_CN_LENGTH:
        raise InvalidInputError(f"a client certificate CN must be 1..{MAX_CN_LENGTH} characters, got {len(cn)}")
    if ttl_s <= 0:
        raise InvalidInputError("the client certificate validity must be positive")
    cert = _issue(
        cn,
        _csr_public_key(csr_pem),
        issuer=material.ca_cert,
        signer=material.ca_key,
        now=now,
        not_after=now + timedelta(seconds=ttl_s),
        eku=ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    return _pem(cert), f"{cert.serial_number:x}", cert.not_valid_after_utc
