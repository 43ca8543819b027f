"""Developer sessions: ``nox -s tests`` (SQLite and PostgreSQL), ``lint``, ``types``.

The sessions use the interpreter nox runs with, so ``.ci/run`` chooses it once.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

INSTALL = ["-e", ".[test,aer,quantify,qblox]", "-c", "ci/constraints.txt"]


@nox.session
def tests(session: nox.Session) -> None:
    """Every test on a temporary SQLite file and on a throwaway PostgreSQL database."""
    session.install(*INSTALL)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def tests_sqlite(session: nox.Session) -> None:
    session.install(*INSTALL)
    session.run("python", "-m", "pytest", "--db", "sqlite", *session.posargs)


@nox.session
def tests_postgres(session: nox.Session) -> None:
    session.install(*INSTALL)
    session.run("python", "-m", "pytest", "--db", "postgres", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks")


@nox.session
def types(session: nox.Session) -> None:
    session.install(*INSTALL, "mypy", "types-PyYAML")
    session.run("mypy")
