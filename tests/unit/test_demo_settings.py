"""Configuration from the environment, the CLI entry point and Unix-socket housekeeping."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from swiftdeploy.cli.demo_service import command
from swiftdeploy.demo.openapi import SPEC
from swiftdeploy.demo.server import remove_stale_socket, serve, settings_env
from swiftdeploy.demo.settings import Settings
from swiftdeploy.errors import UsageError


def test_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_full_environment() -> None:
    env = {
        "MODE": "canary",
        "APP_VERSION": "3.1.4",
        "APP_PORT": "8080",
        "APP_HOST": "127.0.0.1",
        "APP_SOCKET": "/run/app.sock",
        "CHAOS_TOKEN": "tok",
        "METRICS_ENABLED": "0",
    }
    settings = Settings.from_env(env)
    assert settings == Settings(
        mode="canary",
        version="3.1.4",
        host="127.0.0.1",
        port=8080,
        socket=Path("/run/app.sock"),
        chaos_token="tok",
        metrics_enabled=False,
    )
    assert Settings.from_env(settings_env(settings)) == settings


@pytest.mark.parametrize(
    ("env", "word"),
    [
        ({"MODE": "blue"}, "MODE"),
        ({"APP_VERSION": " "}, "APP_VERSION"),
        ({"APP_PORT": "http"}, "APP_PORT"),
        ({"APP_PORT": "0"}, "APP_PORT"),
        ({"APP_PORT": "65536"}, "APP_PORT"),
        ({"METRICS_ENABLED": "maybe"}, "METRICS_ENABLED"),
    ],
)
def test_invalid_environment_is_a_usage_error(env: dict[str, str], word: str) -> None:
    with pytest.raises(UsageError, match=word):
        Settings.from_env(env)


def test_empty_chaos_token_means_no_token() -> None:
    assert Settings.from_env({"CHAOS_TOKEN": ""}).chaos_token is None


def test_cli_prints_openapi() -> None:
    result = CliRunner().invoke(command, ["--openapi"])
    assert result.exit_code == 0
    assert json.loads(result.output) == SPEC


def test_cli_rejects_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODE", "purple")
    result = CliRunner().invoke(command, [])
    assert isinstance(result.exception, UsageError)


def test_unknown_server_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown server"):
        serve(Settings(), server="hypercorn")  # type: ignore[arg-type]


def test_stale_socket_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "app.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
    assert path.exists()
    remove_stale_socket(path)
    assert not path.exists()


def test_live_socket_is_not_stolen(tmp_path: Path) -> None:
    path = tmp_path / "app.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        sock.listen(1)
        with pytest.raises(UsageError, match="already listening"):
            remove_stale_socket(path)
    assert path.exists()


def test_regular_file_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "app.sock"
    path.write_text("precious")
    with pytest.raises(UsageError, match="not a socket"):
        remove_stale_socket(path)
    assert path.read_text() == "precious"


def test_missing_socket_is_fine(tmp_path: Path) -> None:
    remove_stale_socket(tmp_path / "absent.sock")


def test_chaos_token_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "chaos_token"
    secret.write_text("from-file\n")
    assert Settings.from_env({"CHAOS_TOKEN_FILE": str(secret)}).chaos_token == "from-file"
    both = {"CHAOS_TOKEN": "direct", "CHAOS_TOKEN_FILE": str(secret)}
    assert Settings.from_env(both).chaos_token == "direct"
    secret.write_text("\n")
    assert Settings.from_env({"CHAOS_TOKEN_FILE": str(secret)}).chaos_token is None
    with pytest.raises(UsageError, match="CHAOS_TOKEN_FILE"):
        Settings.from_env({"CHAOS_TOKEN_FILE": str(tmp_path / "missing")})
