"""Settings: defaults, overrides, and one clear line naming the key when something is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"


def test_defaults_without_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, {})
    assert config.data_dir == tmp_path / "data"
    assert config.timezone == "Europe/Minsk"
    assert config.api_base_url == "https://api.telegram.org/bot"
    assert config.token is None and config.passphrase is None


def test_environment_overrides_the_file(tmp_path):
    file = tmp_path / "bot.toml"
    file.write_text('[general]\ntimezone = "Europe/Warsaw"\n[storage]\ndata_dir = "state"\n')
    config = load_config(file, {"PARCELBOT_TIMEZONE": "Europe/Vilnius", "PARCELBOT_TOKEN": TOKEN,
                                "PARCELBOT_API_BASE_URL": "http://127.0.0.1:9/bot"})
    assert config.timezone == "Europe/Vilnius"
    assert config.data_dir == tmp_path / "state"  # relative to the file
    assert config.api_base_url == "http://127.0.0.1:9/bot"
    assert config.token.value == TOKEN


def test_config_file_from_environment_variable(tmp_path):
    file = tmp_path / "bot.toml"
    file.write_text("[members]\ninvite_hours = 24\n")
    assert load_config(None, {"PARCELBOT_CONFIG": str(file)}).invite_hours == 24


@pytest.mark.parametrize(
    ("text", "env", "key"),
    [
        ('[general]\ntimezone = "Mars/Olympus"\n', {}, "general.timezone"),
        ("[members]\ninvite_hours = 0\n", {}, "members.invite_hours"),
        ('[members]\ninvite_hours = "soon"\n', {}, "members.invite_hours"),
        ("[general]\ncolour = 1\n", {}, "general.colour: unknown setting"),
        ('[telegram]\napi_base_url = "ftp://x"\n', {}, "telegram.api_base_url"),
        ("", {"PARCELBOT_TOKEN": "not-a-token"}, "PARCELBOT_TOKEN"),
        ("", {"PARCELBOT_KDF_COST": "40"}, "PARCELBOT_KDF_COST"),
        ('[storage]\npassphrase_file = "missing.txt"\n', {}, "storage.passphrase_file"),
        ("[general\n", {}, "not valid TOML"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, env, key):
    file = tmp_path / "bot.toml"
    file.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(file, env)
    assert key in str(raised.value)
    assert "\n" not in str(raised.value)


def test_secrets_never_print(tmp_path):
    (tmp_path / "pass").write_text("очень секретная фраза\n")
    file = tmp_path / "bot.toml"
    file.write_text('[storage]\npassphrase_file = "pass"\n')
    config = load_config(file, {"PARCELBOT_TOKEN": TOKEN})
    assert config.passphrase.value == "очень секретная фраза"
    assert TOKEN not in repr(config) and "секретная" not in repr(config)
    assert "TEST-token" not in str(config.token)


def test_bad_token_error_does_not_echo_it():
    with pytest.raises(ConfigError) as raised:
        load_config(None, {"PARCELBOT_TOKEN": "12:short-secret-value"})
    assert "short-secret-value" not in str(raised.value)


def test_example_config_documents_every_setting_and_loads():
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    config = load_config(example, {})
    assert config.timezone == "Europe/Minsk"
    text = example.read_text()
    from bot.config import _SETTINGS

    for section, key in _SETTINGS:
        assert f"{key} =" in text or f"# {key} =" in text, f"{section}.{key} is not documented"
