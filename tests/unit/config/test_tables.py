"""The option tables as data, and the click glue that turns them into options."""

from __future__ import annotations

import dataclasses

import click
import pytest
from click.testing import CliRunner

from qpi.cli.options import config_options, given_options, help_text
from qpi.config import (
    CLIENT_OPTIONS,
    DB_COMMAND_KEYS,
    DRIVER_OPTIONS,
    SERVE_OPTIONS,
    ClientConfig,
    DriverConfig,
    OptionSpec,
    ServeConfig,
)

TABLES = {"serve": SERVE_OPTIONS, "driver": DRIVER_OPTIONS, "client": CLIENT_OPTIONS}

# config.md §2.1 and §2.2: the options the upstream server had (and so their camelCase aliases)
UPSTREAM_ALIASES = {
    "server_port": "serverPort",
    "tls_ca_cert_file": "tlsCaCertFile",
    "tls_ca_key_file": "tlsCaKeyFile",
    "tls_cert_file": "tlsCertFile",
    "tls_key_file": "tlsKeyFile",
    "qpus_collection": "qpusCollection",
    "timeslots_collection": "timeslotsCollection",
    "jobs_collection": "jobsCollection",
    "api_tokens_collection": "apiTokensCollection",
    "notifications_collection": "notificationsCollection",
    "qpu_time_requests_collection": "qpuTimeRequestsCollection",
    "idle_threshold": "idleThreshold",
    "recovery_interval": "recoveryInterval",
    "job_timeout": "jobTimeout",
    "dispatch_poll_interval": "dispatchPollInterval",
    "port_range_start": "portRangeStart",
    "port_range_end": "portRangeEnd",
    "disable_email_password_auth": "disableEmailPasswordAuth",
    "oauth2_providers": "oauth2Providers",
    "ip_addr": "ipAddr",
    "events_retention": "eventsRetention",
    "events_prune_interval": "eventsPruneInterval",
    "event_rate_limit": "eventRateLimit",
    "drivers_collection": "driversCollection",
    "events_collection": "eventsCollection",
    "themes_collection": "themesCollection",
}


@pytest.mark.parametrize("mode", TABLES)
def test_table_is_well_formed(mode: str) -> None:
    seen: set[str] = set()
    for spec in TABLES[mode]:
        names = [spec.key, *spec.flags, *([spec.alias] if spec.alias else [])]
        assert not seen & set(names), names
        seen.update(names)
        assert spec.key.isidentifier()
        assert all(flag.startswith("-") for flag in spec.flags)
        assert spec.help.endswith((".", ")")), spec.key


def test_tables_match_the_config_objects() -> None:
    assert [s.key for s in SERVE_OPTIONS] == [f.name for f in dataclasses.fields(ServeConfig)]
    assert [s.key for s in DRIVER_OPTIONS] == [f.name for f in dataclasses.fields(DriverConfig)]
    client_fields = [f.name for f in dataclasses.fields(ClientConfig)]
    assert {s.key for s in CLIENT_OPTIONS} == set(client_fields) - {"config_dir"}


def test_upstream_aliases() -> None:
    aliases = {s.key: s.alias for s in SERVE_OPTIONS if s.alias}
    assert aliases == UPSTREAM_ALIASES
    assert all(s.alias is None for s in (*DRIVER_OPTIONS, *CLIENT_OPTIONS))


def test_serve_variables_follow_the_naming_rule() -> None:
    for spec in SERVE_OPTIONS:
        assert spec.env == ("QPI_" + spec.key.upper(),)
        assert spec.flags == ("--" + spec.key.replace("_", "-"),)


def test_driver_flags_and_variables() -> None:
    specs = {s.key: s for s in DRIVER_OPTIONS}
    assert specs["name"].env == ("QPU_NAME", "QPI_DRIVER_NAME")
    assert specs["executor"].flags == ("-e", "--executor", "--device")
    assert specs["executor"].env == ("DRIVER_BACKEND", "QPI_DEVICE")
    assert specs["qpi_addr"].flags == ("-a", "--qpi-addr")
    assert specs["token"].env == ("QPI_ACCESS_TOKEN",)
    assert specs["options"].flags == ("-o", "--option") and specs["options"].env == ()
    assert specs["config_file"].env == ("QPI_DRIVER_CONFIG_FILE",)
    client = {s.key: s for s in CLIENT_OPTIONS}
    assert client["ca_file"].env == ("QPI_CLIENT_CA_FILE",)
    assert client["api_token"].flags == ("--token",)


def test_secret_and_not_yet_flags() -> None:
    secret = {s.key for table in TABLES.values() for s in table if s.secret}
    assert secret == {"oauth2_providers", "database_url", "metrics_token", "token", "api_token"}
    assert {s.key for s in SERVE_OPTIONS if s.not_yet} == {"https", "oauth2_providers"}


@pytest.mark.parametrize("mode", TABLES)
def test_typed_defaults_parse_as_themselves(mode: str) -> None:
    for spec in TABLES[mode]:
        if spec.default is not None and spec.default != ():
            assert spec.parse(spec.default) == spec.default, spec.key


def test_help_text_shows_variables_and_defaults() -> None:
    specs = {s.key: s for s in (*DRIVER_OPTIONS, *SERVE_OPTIONS)}  # serve wins for shared keys
    driver = {s.key: s for s in DRIVER_OPTIONS}
    assert help_text(specs["server_port"]) == (
        "Port of the HTTP server (API, dashboard, event streams, /metrics). [env: QPI_SERVER_PORT; default: 8090]"
    )
    assert help_text(specs["idle_threshold"]).endswith("[env: QPI_IDLE_THRESHOLD; default: 5s]")
    assert help_text(specs["events_retention"]).endswith("default: 30d]")
    assert help_text(specs["max_body_size"]).endswith("default: 64MiB]")
    assert help_text(specs["data_dir"]).endswith("default: ./qpi-data]")
    assert help_text(driver["data_dir"]).endswith("default: ./bin/data]")
    assert help_text(driver["job_timeout"]).endswith("default: the server's value]")
    assert help_text(specs["token"]).endswith("[env: QPI_ACCESS_TOKEN; required]")
    assert help_text(specs["name"]).endswith("[env: QPU_NAME, QPI_DRIVER_NAME; default: qpu_sim_01]")
    assert "Not supported yet" in help_text(specs["https"])


def _probe(table: tuple[OptionSpec, ...], **kwargs: object) -> click.Command:
    @click.command()
    @config_options(table, **kwargs)  # type: ignore[arg-type]
    def probe(cli_options: dict[str, object]) -> None:
        click.echo(repr(sorted(cli_options.items())))

    return probe


def test_click_glue_collects_only_given_options() -> None:
    result = CliRunner().invoke(
        _probe(SERVE_OPTIONS),
        ["--server-port", "9", "--https", "--no-metrics", "--cors-origins", "a", "--cors-origins", "b"],
        env={"QPI_LOG_LEVEL": "debug", "QPI_SERVER_PORT": "1"},
    )
    assert result.exit_code == 0, result.output
    expected = [("cors_origins", ("a", "b")), ("https", True), ("metrics", False), ("server_port", "9")]
    assert result.stdout.strip() == repr(expected)


def test_click_glue_passes_bad_values_to_the_loader() -> None:
    result = CliRunner().invoke(_probe(DRIVER_OPTIONS), ["-w", "many", "-o", "a=1", "-o", "b=2", "-e", "x"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == repr([("executor", "x"), ("options", ("a=1", "b=2")), ("workers", "many")])


def test_click_glue_subset_and_help() -> None:
    probe = _probe(SERVE_OPTIONS, only=DB_COMMAND_KEYS)
    result = CliRunner().invoke(probe, ["--help"])
    assert "--database-url" in result.stdout and "--jobs-collection" in result.stdout
    assert "--server-port" not in result.stdout
    assert "[env: QPI_DATA_DIR; default: ./qpi-data]" in " ".join(result.stdout.split())
    result = CliRunner().invoke(probe, ["--server-port", "1"])
    assert result.exit_code == 2


def test_given_options_for_hand_built_commands() -> None:
    @click.command()
    @click.option("--server-port", "server_port", default=None)
    @click.option("--domain", "domain", default=None)
    @click.pass_context
    def probe(ctx: click.Context, server_port: str | None, domain: str | None) -> None:
        click.echo(repr(given_options(ctx, SERVE_OPTIONS)))

    result = CliRunner().invoke(probe, ["--domain", "x.org"])
    assert result.stdout.strip() == repr({"domain": "x.org"})


def test_json_shortcut_for_client_commands() -> None:
    probe = _probe(CLIENT_OPTIONS, json_shortcut=True)
    result = CliRunner().invoke(probe, ["--json", "--qpu", "q1"])
    assert result.stdout.strip() == repr([("output", "json"), ("qpu", "q1")])
    result = CliRunner().invoke(probe, ["--json", "--output", "table"])
    assert result.exit_code == 2
    assert "--json contradicts --output" in result.stderr
    result = CliRunner().invoke(probe, [])
    assert result.stdout.strip() == "[]"
