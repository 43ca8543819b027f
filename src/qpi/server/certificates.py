"""Building and checking X.509 certificates for the server's CA: issue, PEM, SANs, keys, signatures.

The lifecycle of the CA and the server certificate is :mod:`qpi.server.tls`; driver certificates are
signed by :mod:`qpi.server.csr`. Both issue through :func:`issue_certificate`.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from qpi.errors import InvalidInputError
from qpi.protocol.certs import MAX_CN_LENGTH

__all__ = [
    "CLOCK_SKEW",
    "CAKey",
    "PublicKey",
    "SanValue",
    "cert_sans",
    "check_aware",
    "issue_certificate",
    "public_der",
    "san_value",
    "signed_by",
    "to_pem",
]

#: Certificates start this long before ``now``, so a peer whose clock is a little behind accepts them.
CLOCK_SKEW = timedelta(minutes=5)

CAKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
SanValue: TypeAlias = str | ipaddress.IPv4Address | ipaddress.IPv6Address
_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_KEY_USAGES = (
    *("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement"),
    *("key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
)


def check_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInputError("now must be a timezone-aware datetime (use datetime.now(UTC))")


def san_value(text: str) -> SanValue:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return text.strip().lower().rstrip(".")


def cert_sans(cert: x509.Certificate) -> set[SanValue]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    found: set[SanValue] = {name.lower().rstrip(".") for name in ext.get_values_for_type(x509.DNSName)}
    found.update(ip for ip in ext.get_values_for_type(x509.IPAddress) if isinstance(ip, _IP_TYPES))
    return found


def to_pem(obj: x509.Certificate | CAKey) -> str:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode("ascii")
    pkcs8 = serialization.PrivateFormat.PKCS8
    return obj.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()).decode("ascii")


def public_der(key: object) -> bytes:
    if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b""


def signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return cert.issuer == ca.subject


def issue_certificate(
    cn: str,
    public_key: PublicKey,
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
        names = [x509.DNSName(v) if isinstance(v, str) else x509.IPAddress(v) for v in map(san_value, sans)]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signer, hashes.SHA256())
