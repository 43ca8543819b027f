"""Pure helpers of ``qpi.protocol.transport``."""

from __future__ import annotations

import pytest

from qpi.errors import ConfigError, MessageTooLarge
from qpi.protocol.transport import LinkListener, check_size, link_url


def test_link_url_brackets_ipv6() -> None:
    assert link_url("::1", 6000) == "tls+tcp://[::1]:6000"
    assert link_url("127.0.0.1", 6001) == "tls+tcp://127.0.0.1:6001"
    assert link_url("[::1]", 6002) == "tls+tcp://[::1]:6002"


def test_check_size() -> None:
    check_size(b"x" * 10, 10)
    check_size(b"x" * 11, None)
    with pytest.raises(MessageTooLarge, match="11 bytes exceeds the link limit of 10 bytes"):
        check_size(b"x" * 11, 10)


def test_recv_max_size_is_required() -> None:
    with pytest.raises(ConfigError):
        LinkListener("127.0.0.1", 0, cert_pem="", key_pem="", ca_pem="", recv_max_size=0, accept_cn=bool)
