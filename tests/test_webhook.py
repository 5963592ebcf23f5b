"""Webhook mode: the real Application behind the loopback receiver, registered with the fake Bot API.

Only a request carrying the secret given to setWebhook is processed; a wrong or missing one gets 403
and never reaches the Application. The secret never appears in the logs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from pathlib import Path

import httpx
import pytest

from bot import webhook
from bot.app import build_application, make_runtime
from bot.cli import ALLOWED_UPDATES, serve
from bot.config import SECRET_TOKEN_SHAPE, ConfigError, Secret, load_config
from bot.domain import Role
from bot.services import onboarding
from tests.harness import CountingApplication

PUBLIC_URL = "https://bot.example.org/telegram"
STRANGER = 5_550_100_001


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class WebhookBot:
    application: CountingApplication
    api: object
    url: str
    secret: str
    client: httpx.AsyncClient

    async def post(self, update: dict, secret: str | bytes | None) -> httpx.Response:
        headers = {} if secret is None else {webhook.SECRET_HEADER: secret}
        return await self.client.post(self.url, json=update, headers=headers)

    async def processed(self, count: int) -> None:
        app = self.application
        async with app.progress:
            await asyncio.wait_for(app.progress.wait_for(lambda: app.processed >= count), 5)


async def _start(config, store, clock, fake_api, **overrides):
    port = _free_port()
    config = dataclasses.replace(
        config, api_base_url=fake_api.base_url, webhook_port=port, webhook_public_url=PUBLIC_URL, **overrides
    )
    application = build_application(
        make_runtime(config, store, clock), rate_limiter=False, application_class=CountingApplication
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(application, config, stop, webhook=True))
    (call,) = await fake_api.wait_for("setWebhook")  # the receiver listens before setWebhook is sent
    return application, port, call, stop, task


@pytest.fixture
async def hook(config, store, clock, fake_api, log_stream):
    application, port, call, stop, task = await _start(config, store, clock, fake_api)
    async with httpx.AsyncClient(timeout=5) as client:
        yield WebhookBot(application, fake_api, f"http://127.0.0.1:{port}/telegram", call.params["secret_token"],
                         client)
    stop.set()
    await asyncio.wait_for(task, 10)


def _stranger_says(api, text: str = "hello") -> dict:
    """An update as Telegram would post it (the fake server also learns the chat, so replies land)."""
    return api.send_message(STRANGER, text, language_code="en")


async def test_start_registers_the_public_url_and_a_fresh_long_secret_with_telegram(hook):
    (call,) = hook.api.calls_to("setWebhook")
    assert call.params["url"] == PUBLIC_URL
    assert len(hook.secret) >= 43 and SECRET_TOKEN_SHAPE.match(hook.secret)
    assert call.params["allowed_updates"] == ALLOWED_UPDATES
    assert hook.api.calls_to("getUpdates") == []  # no polling in webhook mode


async def test_an_update_with_the_right_secret_is_processed(hook):
    # Given a stranger's message posted with the secret Telegram was given
    response = await hook.post(_stranger_says(hook.api), hook.secret)
    # Then it is accepted and the bot answers through the Bot API
    assert response.status_code == 200
    await hook.processed(1)
    assert hook.api.sent_texts(STRANGER) == ["This is a private bot."]


async def test_a_member_registers_through_the_webhook(hook, store):
    code = (await onboarding.create_invite(store, Role.VOLUNTEER, hours=24, created_by=None)).code
    response = await hook.post(_stranger_says(hook.api, f"/start {code}"), hook.secret)
    assert response.status_code == 200
    await hook.processed(1)
    async with store.read() as uow:
        assert await uow.members.by_telegram(STRANGER) is not None


@pytest.mark.parametrize(
    "header",
    [None, "", "wrong", "x" * 43, "SECRET[:-1]", "SECRET+x", "SECRET.upper", "UTF-8"],
)
async def test_a_wrong_or_missing_secret_gets_403_and_nothing_is_processed(hook, header):
    # Given a request whose secret is missing, empty, guessed, a prefix, longer, or differently cased
    secrets_to_try = {
        "SECRET[:-1]": hook.secret[:-1], "SECRET+x": hook.secret + "x", "SECRET.upper": hook.secret.swapcase(),
        "UTF-8": "кириллица".encode(),
    }
    forged = secrets_to_try.get(header, header)
    # When it is posted, Then it is refused before it reaches the Application
    assert (await hook.post(_stranger_says(hook.api), forged)).status_code == 403
    assert hook.application.processed == 0 and hook.application.update_queue.empty()
    # And the next genuine update is the only one processed and answered
    assert (await hook.post(_stranger_says(hook.api, "again"), hook.secret)).status_code == 200
    await hook.processed(1)
    await asyncio.sleep(0.05)  # room for a wrongly accepted update to be processed too
    assert hook.application.processed == 1
    assert hook.api.sent_texts(STRANGER) == ["This is a private bot."]


async def test_non_update_bodies_and_other_methods_are_refused(hook):
    bad = await hook.client.post(hook.url, content=b"not json", headers={webhook.SECRET_HEADER: hook.secret})
    assert bad.status_code == 400
    no_id = await hook.client.post(hook.url, json={"message": {}}, headers={webhook.SECRET_HEADER: hook.secret})
    assert no_id.status_code == 400
    get = await hook.client.get(hook.url, headers={webhook.SECRET_HEADER: hook.secret})
    assert get.status_code == 405
    elsewhere = await hook.client.post(hook.url.replace("/telegram", "/other"), json={"update_id": 1},
                                       headers={webhook.SECRET_HEADER: hook.secret})
    assert elsewhere.status_code == 404
    assert hook.application.processed == 0


async def test_an_oversized_body_is_not_read_or_processed(hook):
    huge = b"{" + b" " * (webhook.MAX_BODY_BYTES + 1) + b"}"
    try:
        response = await hook.client.post(hook.url, content=huge, headers={webhook.SECRET_HEADER: hook.secret})
    except httpx.TransportError:
        pass  # tornado may close the connection while the body is still being sent
    else:
        assert response.status_code == 400
    assert hook.application.processed == 0


async def test_the_secret_is_compared_in_constant_time(hook, monkeypatch):
    seen = []
    real = webhook.hmac.compare_digest

    def spy(given, expected):
        seen.append((given, expected))
        return real(given, expected)

    monkeypatch.setattr(webhook.hmac, "compare_digest", spy)
    assert (await hook.post(_stranger_says(hook.api), "guess")).status_code == 403
    assert seen == [(b"guess", hook.secret.encode())]


async def test_the_secret_and_the_messages_never_reach_the_logs(hook, log_stream):
    await hook.post(_stranger_says(hook.api, "Алеся Кветка canary"), "wrong-secret-guess")
    await hook.post(_stranger_says(hook.api, "Алеся Кветка canary"), hook.secret)
    await hook.processed(1)
    logs = log_stream.getvalue()
    assert hook.secret not in logs and "wrong-secret-guess" not in logs
    assert "Алеся" not in logs and str(STRANGER) not in logs
    assert "requests refused" in logs  # the refusal itself is an event worth seeing


async def test_a_configured_secret_file_is_used_instead_of_a_random_one(config, store, clock, fake_api):
    fixed = "f" * 20 + "-_" + "0123456789" * 2
    application, port, call, stop, task = await _start(config, store, clock, fake_api,
                                                        webhook_secret=Secret(fixed))
    try:
        assert call.params["secret_token"] == fixed
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_stopping_closes_the_listener(config, store, clock, fake_api):
    application, port, call, stop, task = await _start(config, store, clock, fake_api)
    stop.set()
    await asyncio.wait_for(task, 10)
    async with httpx.AsyncClient(timeout=2) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{port}/telegram", json={"update_id": 1})


def test_each_start_gets_a_new_random_secret_of_at_least_43_characters():
    secrets_seen = {webhook.new_secret() for _ in range(50)}
    assert len(secrets_seen) == 50
    assert all(len(s) >= 43 and SECRET_TOKEN_SHAPE.match(s) for s in secrets_seen)


def test_the_receiver_refuses_a_short_secret():
    async def accept(update):  # pragma: no cover - never called
        pass

    with pytest.raises(ValueError, match="32-256"):
        webhook.WebhookServer(listen="127.0.0.1", port=0, path="/telegram", secret="short", accept=accept)


# Settings -------------------------------------------------------------------------------------------


def test_webhook_defaults_listen_on_loopback_behind_a_proxy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, {})
    assert (config.webhook_listen, config.webhook_port, config.webhook_path) == ("127.0.0.1", 8443, "/telegram")
    assert config.webhook_public_url == "" and config.webhook_secret is None
    with pytest.raises(ConfigError, match="webhook.public_url"):
        config.require_webhook_url()


def test_webhook_settings_load_from_the_file(tmp_path):
    (tmp_path / "hook").write_text("A" * 40 + "\n")
    file = tmp_path / "bot.toml"
    file.write_text('[webhook]\nlisten = "::1"\nport = 9000\npublic_url = "https://x.example:8443/hook"\n'
                    'path = "/hook"\nsecret_token_file = "hook"\n')
    config = load_config(file, {})
    assert (config.webhook_listen, config.webhook_port, config.webhook_path) == ("::1", 9000, "/hook")
    assert config.require_webhook_url() == "https://x.example:8443/hook"
    assert config.webhook_secret.value == "A" * 40 and "AAAA" not in repr(config)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("port = 0", "webhook.port"),
        ("port = 70000", "webhook.port"),
        ('listen = "not an address"', "webhook.listen"),
        ('public_url = "http://bot.example.org/telegram"', "webhook.public_url"),
        ('public_url = "https://bot.example.org:8080/telegram"', "webhook.public_url"),
        ('public_url = "https:///telegram"', "webhook.public_url"),
        ('path = "telegram"', "webhook.path"),
        ('path = "/a b"', "webhook.path"),
        ('secret_token_file = "missing"', "webhook.secret_token_file"),
        ('secret_token_file = "short"', "webhook.secret_token_file"),
        ("colour = 1", "webhook.colour: unknown setting"),
    ],
)
def test_bad_webhook_settings_name_the_key(tmp_path, text, key):
    (tmp_path / "short").write_text("too-short-and-secret")
    file = tmp_path / "bot.toml"
    file.write_text(f"[webhook]\n{text}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(file, {})
    message = str(raised.value)
    assert key in message and "\n" not in message
    assert "too-short-and-secret" not in message


def test_example_config_documents_the_webhook_section():
    text = (Path(__file__).resolve().parents[1] / "config.example.toml").read_text()
    assert "[webhook]" in text and "reverse proxy" in text


async def test_a_port_already_in_use_is_a_configuration_error_naming_the_key(config, store, clock, fake_api):
    from bot.cli import EXIT_CONFIG, CliError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = dataclasses.replace(config, api_base_url=fake_api.base_url, webhook_port=taken.getsockname()[1],
                                     webhook_public_url=PUBLIC_URL)
        application = build_application(make_runtime(config, store, clock), rate_limiter=False)
        with pytest.raises(CliError) as raised:
            await serve(application, config, asyncio.Event(), webhook=True)
    assert raised.value.code == EXIT_CONFIG and "webhook.port" in str(raised.value)
    assert fake_api.calls_to("setWebhook") == []  # Telegram is not pointed at a listener that is not there
    assert not application.running
