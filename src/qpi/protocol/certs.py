"""Certificate helpers shared by the server and the driver (``driver-protocol.md`` §2 steps 3–5).

* :func:`ca_fingerprint` — SHA-256 over the DER of the first PEM ``CERTIFICATE`` block, 64 lowercase hex.
  The server shows it at driver registration and in ``X-CA-Fingerprint``; the driver pins it.
* :func:`normalise_fingerprint` / :func:`fingerprints_match` — a configured fingerprint with case and
  ``:`` separators ignored, compared in constant time.
* :func:`load_or_create_key` / :func:`build_csr` — the driver's key pair (ECDSA P-256, file mode 0600)
  and the CSR it posts at connect. The server ignores the CSR subject and sets the CN itself.
* :func:`client_cn` — the client certificate CN ``<driver_id>/<session>`` (P-1.4).
* :func:`write_file_atomic` — temporary file + rename, with the final mode set before the rename.

This module imports only the standard library and ``cryptography``; never ``qpi.server`` (the driver
imports it).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
from pathlib import Path
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from qpi.errors import ConfigError, InvalidInputError

__all__ = [
    "MAX_CN_LENGTH",
    "DriverKey",
    "build_csr",
    "ca_fingerprint",
    "client_cn",
    "fingerprints_match",
    "load_or_create_key",
    "normalise_fingerprint",
    "write_file_atomic",
]

logger = logging.getLogger(__name__)

#: Largest CommonName X.509 allows (ub-common-name).
MAX_CN_LENGTH = 64

#: Key types a driver may hold (the server accepts CSRs of these, ``api.md`` §2.5).
DriverKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(?P<body>[A-Za-z0-9+/=\s]*?)\s*-----END CERTIFICATE-----")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def ca_fingerprint(pem: bytes | str) -> str:
    """SHA-256 of the DER of the first PEM ``CERTIFICATE`` block, as 64 lowercase hex digits.

    Raises :class:`InvalidInputError` (code ``invalid_certificate``) when no certificate block can be
    decoded, so garbage never yields a fingerprint that could be compared.
    """
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    match = _PEM_CERT.search(data)
    if match is None:
        raise InvalidInputError("no PEM CERTIFICATE block found", code="invalid_certificate")
    body = b"".join(match.group("body").split())
    try:
        der = base64.b64decode(body, validate=True)
        x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(
            f"the PEM CERTIFICATE block is not a valid certificate: {exc}", code="invalid_certificate"
        ) from exc
    return hashlib.sha256(der).hexdigest()


def _canonical(text: str) -> str:
    return "".join(text.split()).replace(":", "").lower()


def normalise_fingerprint(text: str) -> str:
    """A configured CA fingerprint as 64 lowercase hex digits (case, ``:`` and blanks ignored).

    Raises :class:`ConfigError` for an empty or malformed value (``driver-protocol.md`` §2 step 3).
    """
    value = _canonical(text)
    if not value:
        raise ConfigError("the CA fingerprint is empty: give the 64 hex digits shown at driver registration")
    if _HEX64.fullmatch(value) is None:
        raise ConfigError(
            "the CA fingerprint must be a SHA-256 in hex (64 hex digits, ':' separators and case ignored); "
            f"got {len(value)} characters after removing separators"
        )
    return value


def fingerprints_match(a: str, b: str) -> bool:
    """Constant-time comparison of two fingerprints (case and ``:`` ignored).

    A value that is not 64 hex digits never matches.
    """
    ca, cb = _canonical(a), _canonical(b)
    same = hmac.compare_digest(ca.encode("ascii", "replace"), cb.encode("ascii", "replace"))
    return same and _HEX64.fullmatch(ca) is not None


def client_cn(driver_id: str, session: int) -> str:
    """The client certificate CommonName of one driver session: ``<driver_id>/<session>``."""
    cn = f"{driver_id}/{session}"
    if not driver_id or "/" in driver_id or len(cn) > MAX_CN_LENGTH:
        raise InvalidInputError(
            f"cannot build a certificate CN from driver id {driver_id!r} and session {session}: "
            f"the driver id must be non-empty, contain no '/', and the CN must be ≤ {MAX_CN_LENGTH} characters"
        )
    return cn


def write_file_atomic(path: Path, data: bytes, *, mode: int) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same directory, fsync, rename.

    The temporary file is created with ``mode`` (never wider), so a key is never readable by others,
    not even for a moment. Missing parent directories are created with mode 0700.
    """
    _ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it; never widen beyond ``mode``
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _ensure_dir(directory: Path) -> None:
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def _key_pem(key: DriverKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _check_driver_key(key: object, path: Path) -> DriverKey:
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return key
    raise ConfigError(f"the key in {path} must be an ECDSA P-256 or RSA ≥ 2048 private key")


def load_or_create_key(path: Path) -> DriverKey:
    """Load the driver's private key from ``path``, or create an ECDSA P-256 key there.

    A new key is written as unencrypted PKCS#8 PEM with mode 0600; its parent directory is created
    with mode 0700 when missing. Creation is race-free: when two processes create the key at once,
    both end up using the one that reached the disk first. An unreadable, encrypted or unsupported
    key raises :class:`ConfigError` (``driver-protocol.md`` §2 step 5: exit 2).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _create_key(path)
    except OSError as exc:
        raise ConfigError(f"cannot read the key file {path}: {exc.strerror or exc}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the key file {path} does not hold an unencrypted PEM private key") from exc
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        logger.warning("key file %s has mode %o; it should be 0600", path, mode)
    return _check_driver_key(key, path)


def _create_key(path: Path) -> DriverKey:
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        _ensure_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_key_pem(key))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)  # fails if another process created the key meanwhile
            except FileExistsError:
                logger.info("key file %s appeared while creating it; using the existing one", path)
                return load_or_create_key(path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot create the key file {path}: {exc.strerror or exc}") from exc
    logger.info("created a new ECDSA P-256 key in %s", path)
    return key


def build_csr(key: DriverKey, common_name: str) -> str:
    """A PEM PKCS#10 certificate signing request for ``key``.

    The subject only carries ``common_name`` for the log; the server ignores it and sets the CN.
    """
    if not common_name or len(common_name) > MAX_CN_LENGTH:
        raise InvalidInputError(f"the CSR common name must be 1..{MAX_CN_LENGTH} characters")
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")
