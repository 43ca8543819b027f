"""docs/configuration-reference.md is generated from the option tables and must match them."""

from __future__ import annotations

from pathlib import Path

from qpi.config.reference import render_reference

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration-reference.md"


def test_the_reference_matches_the_option_tables() -> None:
    assert DOC.read_text() == render_reference(), (
        "run: python -m qpi.config.reference > docs/configuration-reference.md"
    )


def test_every_serve_option_is_documented_with_its_variable() -> None:
    text = DOC.read_text()
    for name in ("--server-port", "QPI_SERVER_PORT", "--local-qpu", "--ca-fingerprint", "QPI_CLIENT_CA_FILE"):
        assert name in text
