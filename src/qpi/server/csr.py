"""Signing a driver's certificate signing request (``api.md`` §2.5, ``driver-protocol.md`` P-2.4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from qpi.errors import BadRequestError, InvalidInputError
from qpi.protocol.certs import MAX_CN_LENGTH
from qpi.server.certificates import PublicKey, check_aware, issue_certificate, to_pem

if TYPE_CHECKING:
    from qpi.server.tls import TlsMaterial

__all__ = ["sign_client_csr"]


def _csr_error(detail: str) -> BadRequestError:
    return BadRequestError(detail, code="invalid_csr", field="csr")


def _csr_public_key(csr_pem: str | bytes) -> PublicKey:
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
    check_aware(now)
    if not cn or len(cn) > MAX_CN_LENGTH:
        raise InvalidInputError(f"a client certificate CN must be 1..{MAX_CN_LENGTH} characters, got {len(cn)}")
    if ttl_s <= 0:
        raise InvalidInputError("the client certificate validity must be positive")
    cert = issue_certificate(
        cn,
        _csr_public_key(csr_pem),
        issuer=material.ca_cert,
        signer=material.ca_key,
        now=now,
        not_after=now + timedelta(seconds=ttl_s),
        eku=ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    return to_pem(cert), f"{cert.serial_number:x}", cert.not_valid_after_utc
