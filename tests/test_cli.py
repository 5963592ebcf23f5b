"""The operator's command line, run as a real process (`python -m bot`) the way an operator or a unit does.

Every run also proves that neither the bot token nor the passphrase ever appears in what the CLI prints.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.config import load_config

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"  # the fake Bot API's token; token-shaped, not real
OTHER_TOKEN = "987654321:AAH-cli-never-print-me-abcdefghijklmn"
PASSPHRASE = "cli test passphrase — тэставы пароль"
SECRETS = (TOKEN, OTHER_TOKEN, PASSPHRASE, "never-print-me", "тэставы")


def _env(tmp_path: Path, **extra: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PARCELBOT_")}
    env.update(PARCELBOT_DATA_DIR=str(tmp_path / "data"), PARCELBOT_KDF_COST="10", PARCELBOT_PASSPHRASE=PASSPHRASE,
               PARCELBOT_TOKEN=TOKEN, PARCELBOT_API_BASE_URL="http://127.0.0.1:9/bot")
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _assert_no_secrets(output: str) -> None:
    leaked = [secret for secret in SECRETS if secret in output]
    assert leaked == [], f"secret text in CLI output:\n{output}"


def cli(tmp_path: Path, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=_env(tmp_path, **env), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60, check=False,
    )
    _assert_no_secrets(result.stdout + result.stderr)
    return result


async def acli(tmp_path: Path, *args: str, **env: str | None) -> asyncio.subprocess.Process:
    """Start the CLI without blocking the loop (a fake Bot API server may be serving in it)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=_env(tmp_path, **env), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process, timeout: float = 30) -> tuple[int, str]:  # noqa: ASYNC109
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    output = out.decode() + err.decode()
    _assert_no_secrets(output)
    return process.returncode, output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.fixture
def initialised(tmp_path: Path) -> Path:
    result = cli(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    return tmp_path / "data"


def test_init_creates_a_private_database_in_a_private_directory(tmp_path):
    result = cli(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "parcelbot.db").stat().st_mode) == 0o600
    assert "parcelbot invite --role coordinator" in result.stdout


def test_a_second_init_refuses_and_changes_nothing(initialised, tmp_path):
    before = _files(initialised)
    result = cli(tmp_path, "init")
    assert result.returncode == 5
    assert "already exists" in result.stderr
    assert _files(initialised) == before


def test_check_reports_integrity_ok(initialised, tmp_path):
    result = cli(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert "integrity: ok" in result.stdout


def _damage(data: Path, table: str) -> bytes:
    """Scribble over a table's root page (weekly_counts filled over several pages first); returns the
    damaged file's bytes."""
    import sqlite3

    path = data / "parcelbot.db"
    with sqlite3.connect(path) as connection:
        connection.executemany("INSERT INTO weekly_counts (facility_id, week, outcome, parcels) VALUES (?, ?, ?, ?)",
                               [(n, f"2026-W{n % 50:02d}", "delivered", n) for n in range(3000)])
        connection.commit()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        root = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\x0d\xff\xff\xff\xff" * 40)
    return path.read_bytes()


@pytest.mark.parametrize("table", ["weekly_counts", "schema_migrations"])
def test_a_damaged_database_is_refused_before_anything_writes_to_it(initialised, tmp_path, table):
    damaged = _damage(initialised, table)
    for command in ("check", "run", "invite"):
        result = cli(tmp_path, command, *(["--role", "volunteer"] if command == "invite" else []))
        assert result.returncode == 1, (command, result.stderr)
        assert "Traceback" not in result.stderr and "bot running" not in result.stdout + result.stderr
        assert "integrity check failed" in result.stderr or "cannot be used" in result.stderr, result.stderr
        assert "parcelbot restore" in result.stderr
        assert (initialised / "parcelbot.db").read_bytes() == damaged  # no PRAGMA, no migration wrote to it


def test_a_wrong_passphrase_exits_3_and_leaves_every_file_byte_identical(initialised, tmp_path):
    before = _files(initialised)
    for command in ("check", "invite --role volunteer", "run"):
        result = cli(tmp_path, *command.split(), PARCELBOT_PASSPHRASE="a wrong passphrase entirely")
        assert result.returncode == 3, (command, result.stderr)
        assert "wrong passphrase" in result.stderr
    assert _files(initialised) == before


def test_a_missing_database_exits_4_and_says_to_run_init(tmp_path):
    result = cli(tmp_path, "check")
    assert result.returncode == 4
    assert "parcelbot init" in result.stderr
    assert not (tmp_path / "data" / "parcelbot.db").exists()


@pytest.mark.parametrize(
    ("args", "env", "key"),
    [
        (["check"], {"PARCELBOT_TIMEZONE": "Mars/Olympus"}, "PARCELBOT_TIMEZONE"),
        (["check"], {"PARCELBOT_KDF_COST": "99"}, "PARCELBOT_KDF_COST"),
        (["check"], {"PARCELBOT_TOKEN": "12:never-print-me"}, "PARCELBOT_TOKEN"),
        (["check"], {"PARCELBOT_PASSPHRASE": None, "PARCELBOT_PASSPHRASE_FILE": "/nonexistent/pass"},
         "PARCELBOT_PASSPHRASE_FILE"),
        (["run", "--webhook"], {}, "webhook.public_url"),
        (["run"], {"PARCELBOT_TOKEN": None}, "telegram.token"),
    ],
)
def test_a_bad_setting_exits_2_with_one_line_naming_the_key(tmp_path, args, env, key):
    result = cli(tmp_path, *args, **env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], result.stderr


def test_a_bad_setting_in_the_file_names_the_section_and_key(tmp_path):
    file = tmp_path / "bot.toml"
    file.write_text('[webhook]\nport = 99999\n')
    result = cli(tmp_path, "check", PARCELBOT_CONFIG=str(file))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "webhook.port" in result.stderr


def test_secrets_come_from_files_named_by_the_environment(initialised, tmp_path):
    # Given the passphrase and token only as files (Docker secrets, systemd credentials)
    (tmp_path / "passphrase").write_text(PASSPHRASE + "\n")
    (tmp_path / "token").write_text(OTHER_TOKEN + "\n")
    result = cli(tmp_path, "check", PARCELBOT_PASSPHRASE=None, PARCELBOT_TOKEN=None,
                 PARCELBOT_PASSPHRASE_FILE=str(tmp_path / "passphrase"), PARCELBOT_TOKEN_FILE=str(tmp_path / "token"))
    assert result.returncode == 0, result.stderr
    assert "integrity: ok" in result.stdout


def test_token_file_from_the_environment_beats_the_token_in_the_file(tmp_path):
    (tmp_path / "token").write_text(OTHER_TOKEN)
    file = tmp_path / "bot.toml"
    file.write_text(f'[telegram]\ntoken = "{TOKEN}"\n')
    assert load_config(file, {}).token.value == TOKEN
    assert load_config(file, {"PARCELBOT_TOKEN_FILE": str(tmp_path / "token")}).token.value == OTHER_TOKEN
    assert load_config(file, {"PARCELBOT_TOKEN_FILE": str(tmp_path / "token"),
                              "PARCELBOT_TOKEN": TOKEN}).token.value == TOKEN


def test_help_works_through_python_m_bot(tmp_path):
    result = cli(tmp_path, "--help")
    assert result.returncode == 0
    for command in ("init", "invite", "run", "check"):
        assert command in result.stdout
    run_help = cli(tmp_path, "run", "--help")
    assert run_help.returncode == 0 and "--webhook" in run_help.stdout


async def test_run_polls_answers_and_stops_cleanly_on_sigterm(initialised, tmp_path, fake_api):
    # Given the bot running against the fake Bot API
    process = await acli(tmp_path, "run", PARCELBOT_API_BASE_URL=fake_api.base_url)
    try:
        # When a stranger writes, Then the bot answers with the neutral line
        fake_api.send_message(5_550_200_001, "hello", language_code="en")
        await fake_api.wait_for("sendMessage", chat_id=5_550_200_001, timeout=30)
        assert fake_api.sent_texts(5_550_200_001) == ["This is a private bot."]
    finally:
        process.send_signal(signal.SIGTERM)
        code, output = await finish(process)
    # And SIGTERM ends it cleanly
    assert code == 0, output
    assert "bot running (long polling)" in output and "stopping" in output


async def test_run_webhook_takes_only_updates_with_the_secret(initialised, tmp_path, fake_api):
    port = _free_port()
    file = tmp_path / "bot.toml"
    file.write_text(f'[webhook]\nport = {port}\npublic_url = "https://bot.example.org/telegram"\n')
    process = await acli(tmp_path, "run", "--webhook", PARCELBOT_API_BASE_URL=fake_api.base_url,
                         PARCELBOT_CONFIG=str(file))
    try:
        (call,) = await fake_api.wait_for("setWebhook", timeout=30)
        secret = call.params["secret_token"]
        url = f"http://127.0.0.1:{port}/telegram"
        async with httpx.AsyncClient(timeout=5) as client:
            update = fake_api.send_message(5_550_200_002, "hello", language_code="en")
            wrong = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x" * 43})
            assert wrong.status_code == 403
            right = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
            assert right.status_code == 200
        await fake_api.wait_for("sendMessage", chat_id=5_550_200_002, timeout=10)
        assert fake_api.sent_texts(5_550_200_002) == ["This is a private bot."]
    finally:
        process.send_signal(signal.SIGTERM)
        code, output = await finish(process)
    assert code == 0, output
    assert secret not in output and "bot running (webhook)" in output


async def test_a_rejected_token_gives_one_line_without_the_token(initialised, tmp_path, fake_api):
    # PTB's InvalidToken message quotes the token; the CLI must not pass it on to journald.
    process = await acli(tmp_path, "run", PARCELBOT_API_BASE_URL=fake_api.base_url, PARCELBOT_TOKEN=OTHER_TOKEN)
    code, output = await finish(process)
    assert code == 1
    assert "InvalidToken" in output and "Traceback" not in output
    assert "Unclosed" not in output, "the HTTP sessions are closed even when getMe fails"


async def test_a_second_bot_and_a_key_rotation_wait_for_the_running_bot(initialised, tmp_path, fake_api):
    """The running bot holds its keys in memory: rotate-key and restore under it are refused, and so is a
    second `run` on the same directory. A backup (SQLite's backup API) is fine while it runs."""
    process = await acli(tmp_path, "run", PARCELBOT_API_BASE_URL=fake_api.base_url)
    try:
        await fake_api.wait_for("getUpdates", timeout=30)
        second = await acli(tmp_path, "run", PARCELBOT_API_BASE_URL=fake_api.base_url)
        code, output = await finish(second)
        assert code == 5 and "another parcelbot process is using" in output
        for command in ("rotate-key", "rotate-passphrase"):
            rotate = await acli(tmp_path, command, PARCELBOT_NEW_PASSPHRASE="a brand new passphrase here")
            code, output = await finish(rotate)
            assert code == 5 and f"{command}: another parcelbot process" in output
        backup = await acli(tmp_path, "backup", str(tmp_path / "live.pbbackup"))
        code, output = await finish(backup)
        assert code == 0, output
        # The bot still knows its members: the stranger line comes from a bot that can read its keys.
        fake_api.send_message(5_550_200_003, "hello", language_code="en")
        await fake_api.wait_for("sendMessage", chat_id=5_550_200_003, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        code, output = await finish(process)
    assert code == 0, output
    rotated = cli(tmp_path, "rotate-key")  # the lock went with the process
    assert rotated.returncode == 0, rotated.stderr


def test_operator_mistakes_get_one_line_not_a_traceback(initialised, tmp_path):
    not_a_backup = tmp_path / "notes.pbbackup"
    not_a_backup.write_bytes(b"SQLite format 3\x00" + os.urandom(200))
    restored = cli(tmp_path, "restore", str(not_a_backup), PARCELBOT_DATA_DIR=str(tmp_path / "empty"))
    assert restored.returncode == 1 and "is not a parcelbot backup" in restored.stderr
    nowhere = cli(tmp_path, "backup", str(tmp_path / "no-such-dir" / "b.pbbackup"))
    assert nowhere.returncode == 1 and "cannot write" in nowhere.stderr
    assert not (tmp_path / "no-such-dir").exists()
    zero = cli(tmp_path, "invite", "--role", "volunteer", "--hours", "0")
    assert zero.returncode == 2 and "between 1 and 720" in zero.stderr
    weeks = cli(tmp_path, "stats", "--weeks", "0")
    assert weeks.returncode == 2 and "1 to 104" in weeks.stderr and "52, 53" not in weeks.stderr
    for result in (restored, nowhere, zero, weeks):
        assert "Traceback" not in result.stderr


def test_output_cut_short_by_a_pipe_is_no_error(initialised, tmp_path):
    """`parcelbot check | head -1`, made certain: the reader is gone before the first line is written."""
    for unbuffered in ("1", None):  # stdout written line by line, or all at once at the end
        result = subprocess.run(f"'{sys.executable}' -m bot check | true", shell=True, cwd=ROOT,  # noqa: S602
                                env=_env(tmp_path, PYTHONUNBUFFERED=unbuffered), stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=60, check=False)
        assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_init_makes_an_existing_directory_private(tmp_path):
    (tmp_path / "data").mkdir()
    os.chmod(tmp_path / "data", 0o755)  # noqa: S103 - the loose mode init must tighten
    assert cli(tmp_path, "init").returncode == 0
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700


def test_an_empty_answer_at_the_passphrase_prompt_opens_nothing(monkeypatch, tmp_path):
    import getpass

    import bot.cli

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(getpass, "getpass", lambda prompt: "")
    config = load_config(None, environ={**_env(tmp_path), "PARCELBOT_PASSPHRASE": ""})
    with pytest.raises(bot.cli.CliError) as refused:
        bot.cli._passphrase(config)
    assert refused.value.code == 3 and "nothing was typed" in str(refused.value)


async def test_backup_asks_for_the_passphrase_once_and_seals_with_it(initialised, tmp_path, monkeypatch):
    """Asked twice with nothing comparing the answers, a typo in the second sealed a backup that would
    not restore with the real passphrase."""
    import bot.cli
    from bot.cli_maintenance import cmd_backup
    from storage import maintenance

    asked = []

    def ask(config, *, confirm=False):
        asked.append(confirm)
        return PASSPHRASE

    monkeypatch.setattr(bot.cli, "_passphrase", ask)
    config = load_config(None, environ={**_env(tmp_path), "PARCELBOT_PASSPHRASE": ""})
    backup_file = tmp_path / "once.pbbackup"
    assert await cmd_backup(config, argparse.Namespace(file=str(backup_file))) == 0
    assert asked == [False]
    counts = await maintenance.restore(backup_file, tmp_path / "elsewhere" / "parcelbot.db", PASSPHRASE)
    assert counts
