"""Shared fixtures: a fake clock, a cheap-KDF store, the fake Bot API server and a running bot."""

from __future__ import annotations

import dataclasses
import io
import logging
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Config, Secret
from bot.logs import configure_logging
from storage.crypto import TEST_KDF
from storage.store import Store

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
PASSPHRASE = "test passphrase — тэставы пароль"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(
        data_dir=tmp_path / "data",
        token=Secret(TOKEN),
        passphrase=Secret(PASSPHRASE),
        kdf_cost=10,
        bot_username="parcel_test_bot",
    )


@pytest.fixture
async def store(config: Config, clock: FakeClock):
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.create(config.database_path, PASSPHRASE, kdf=TEST_KDF, clock=clock)
    yield store
    await store.close()


@pytest.fixture
def log_stream():
    """Everything the production logging setup writes during a test, for leak checks."""
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream)
    yield stream
    logging.getLogger().removeHandler(handler)


@pytest.fixture
async def fake_api():
    from tests.fake_bot_api import FakeBotApi

    api = FakeBotApi(token=TOKEN, bot_username="parcel_test_bot")
    await api.start()
    yield api
    await api.stop()
    assert api.violations == [], "requests that break the Bot API spec:\n" + "\n".join(api.violations)


@pytest.fixture
async def bot(config: Config, store: Store, clock: FakeClock, fake_api, log_stream):
    from tests.harness import Harness

    config = dataclasses.replace(config, api_base_url=fake_api.base_url)
    fake_api.now = lambda: clock.now().timestamp()  # messages are dated by the bot's (fake) clock
    harness = Harness(config=config, store=store, clock=clock, api=fake_api, log_stream=log_stream)
    await harness.start()
    yield harness
    await harness.stop()
