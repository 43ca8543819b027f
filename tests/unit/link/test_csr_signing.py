"""Client-certificate signing of ``qpi.server.tls`` (``driver-protocol.md`` P-1.4, P-2.4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from qpi.errors import BadRequestError, InvalidInputError
from qpi.protocol.certs import build_csr, client_cn, load_or_create_key
from qpi.server.tls import TlsMaterial, TlsPaths, ensure_tls, sign_client_csr


@pytest.fixture
def material(paths: TlsPaths, now: datetime) -> TlsMaterial:
    return ensure_tls(paths, sans=[], now=now)


def _csr_for(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "admin/999")])
    )
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM).decode()


def test_signed_certificate_has_cn_eku_serial_and_validity(
    material: TlsMaterial, now: datetime, tmp_path: Path
) -> None:
    key = load_or_create_key(tmp_path / "driver.key")
    csr = build_csr(key, "whatever-the-driver-says")
    cn = client_cn("drv_0123456789abcdef", 7)

    pem, serial_hex, not_after = sign_client_csr(material, csr, cn=cn, ttl_s=86400, now=now)

    cert = x509.load_pem_x509_certificate(pem.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "drv_0123456789abcdef/7"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not_after == now + timedelta(hours=24) == cert.not_valid_after_utc
    assert cert.not_valid_before_utc <= now
    assert serial_hex == f"{cert.serial_number:x}"
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(material.ca_cert_pem.encode()))
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


def test_each_certificate_gets_a_new_serial(material: TlsMaterial, now: datetime) -> None:
    csr = _csr_for(ec.generate_private_key(ec.SECP256R1()))
    serials = {sign_client_csr(material, csr, cn="d/1", ttl_s=60, now=now)[1] for _ in range(5)}
    assert len(serials) == 5


def test_csr_subject_is_ignored(material: TlsMaterial, now: datetime) -> None:
    csr = _csr_for(ec.generate_private_key(ec.SECP256R1()))  # asks for CN admin/999
    pem, _, _ = sign_client_csr(material, csr.encode(), cn="drv_a/2", ttl_s=60, now=now)
    cert = x509.load_pem_x509_certificate(pem.encode())
    assert cert.subject.rfc4514_string() == "CN=drv_a/2"


def test_rsa_2048_is_accepted(material: TlsMaterial, now: datetime) -> None:
    csr = _csr_for(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    pem, _, _ = sign_client_csr(material, csr, cn="d/1", ttl_s=60, now=now)
    assert isinstance(x509.load_pem_x509_certificate(pem.encode()).public_key(), rsa.RSAPublicKey)


@pytest.mark.parametrize(
    ("make_csr", "message"),
    [
        (lambda: _csr_for(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "RSA-1024"),
        (lambda: _csr_for(ec.generate_private_key(ec.SECP384R1())), "P-256"),
        (lambda: _csr_for(ed25519.Ed25519PrivateKey.generate()), "ECDSA P-256 or RSA"),
        (lambda: "-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n-----END CERTIFICATE REQUEST-----\n", "PEM"),
        (lambda: "hello", "PEM"),
        (lambda: "", "PEM"),
    ],
    ids=["rsa1024", "p384", "ed25519", "bad-base64", "garbage", "empty"],
)
def test_refused_csrs(material: TlsMaterial, now: datetime, make_csr: object, message: str) -> None:
    csr = make_csr()  # type: ignore[operator]
    with pytest.raises(BadRequestError) as info:
        sign_client_csr(material, csr, cn="d/1", ttl_s=60, now=now)
    assert info.value.code == "invalid_csr"
    assert info.value.status_code == 400
    assert info.value.field == "csr"
    assert message in info.value.detail


def test_csr_with_a_bad_signature_is_refused(material: TlsMaterial, now: datetime) -> None:
    csr = x509.load_pem_x509_csr(_csr_for(ec.generate_private_key(ec.SECP256R1())).encode())
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature's last integer
    import base64

    body = base64.encodebytes(bytes(der)).decode()
    tampered = f"-----BEGIN CERTIFICATE REQUEST-----\n{body}-----END CERTIFICATE REQUEST-----\n"
    with pytest.raises(BadRequestError, match="signature") as info:
        sign_client_csr(material, tampered, cn="d/1", ttl_s=60, now=now)
    assert info.value.code == "invalid_csr"


def test_cn_over_64_characters_is_refused(material: TlsMaterial, now: datetime) -> None:
    csr = _csr_for(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(InvalidInputError):
        sign_client_csr(material, csr, cn="d" * 63 + "/1", ttl_s=60, now=now)


def test_naive_now_is_refused(material: TlsMaterial, now: datetime) -> None:
    csr = _csr_for(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(InvalidInputError, match="timezone"):
        sign_client_csr(material, csr, cn="d/1", ttl_s=60, now=now.replace(tzinfo=None))
