"""The aiohttp transport (handlers/transport.py) against the fake Bot API server: PTB's calls, uploads,
timeouts and network errors behave as with PTB's own httpx transport, and no error text carries the token."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from handlers.transport import AiohttpRequest, _body
from tests.conftest import TOKEN


async def _bot(base_url: str, **options) -> Bot:
    bot = Bot(TOKEN, base_url=base_url, request=AiohttpRequest(**options),
              get_updates_request=AiohttpRequest(pool_size=1, **options))
    await bot.initialize()
    return bot


async def test_calls_go_through_and_parse(fake_api):
    bot = await _bot(fake_api.base_url)
    try:
        assert bot.username == "parcel_test_bot"  # getMe, at initialize()
        message = await bot.send_message(4242, "Ёлка & ünïcode\u202e — 1+1=2?", protect_content=True)
        assert message.message_id and message.chat_id == 4242 and message.date
        call = fake_api.calls[-1]
        assert call.params["text"] == "Ёлка & ünïcode\u202e — 1+1=2?"
        assert call.method == "sendMessage" and call.params["chat_id"] == 4242
        assert call.params["protect_content"] is True
    finally:
        await bot.shutdown()


def test_a_request_without_files_is_one_json_body():
    """Not form fields holding JSON, percent-encoded again: a keyboard travels as a JSON object."""
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Взяць R-0042", callback_data="c:abc")]])
    data = RequestData([RequestParameter.from_input(name, value) for name, value in
                        {"chat_id": 4242, "text": "Задача — R-0042", "reply_markup": markup}.items()])
    body, headers = _body(data)
    assert headers == {"Content-Type": "application/json"}
    assert json.loads(body) == {"chat_id": 4242, "text": "Задача — R-0042", "reply_markup": {
        "inline_keyboard": [[{"text": "Взяць R-0042", "callback_data": "c:abc"}]]}}
    assert _body(None) == (None, None)


async def test_keyboards_reach_telegram_but_are_not_parsed_back(fake_api):
    """The bot never reads a keyboard back, so the echoed ones are dropped before PTB parses them."""
    bot = await _bot(fake_api.base_url)
    try:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(f"R-{n:04d}", callback_data=f"c:{n}")]
                                       for n in range(10)])
        sent = await bot.send_message(4242, "Открытые задачи", reply_markup=markup)
        assert fake_api.calls[-1].params["reply_markup"]["inline_keyboard"][9][0]["text"] == "R-0009"
        assert sent.message_id and sent.reply_markup is None
        fake_api.press_button(4242, "c:3")
        (update,) = await bot.get_updates(timeout=0)
        assert update.callback_query.data == "c:3"
        assert update.callback_query.message.message_id == sent.message_id
        assert update.callback_query.message.text == "Открытые задачи"
        assert update.callback_query.message.reply_markup is None
    finally:
        await bot.shutdown()


async def test_a_sent_message_comes_back_as_where_it_went_only(fake_api):
    """Not its text, not the member's Telegram name: the bot reads only message_id, date and chat."""
    fake_api.send_message(4242, "/start", first_name="Алеся", username="alesia_v")
    bot = await _bot(fake_api.base_url)
    try:
        sent = await bot.send_message(4242, "Задача R-0042: Калонія №4, Пятрусь Міхалевіч", parse_mode="HTML")
        answered = fake_api.calls[-1].response["result"]
        assert (sent.message_id, sent.chat.id, sent.chat.type) == (answered["message_id"], 4242, "private")
        assert answered["chat"]["username"] == "alesia_v" and answered["text"]  # sent whole, not parsed
        assert sent.date is not None and sent.text is None and sent.from_user is None
        assert sent.chat.first_name is None and sent.chat.username is None
        edited = await bot.edit_message_text("Гатова", chat_id=4242, message_id=sent.message_id)
        assert edited.message_id == sent.message_id and edited.text is None
        assert await bot.delete_message(4242, sent.message_id) is True  # other answers are untouched
    finally:
        await bot.shutdown()


def test_a_broken_answer_is_an_error_that_does_not_log_the_payload(caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TelegramError):
        AiohttpRequest().parse_json_payload('{"ok": true, "result": {"text": "Адрас: вул. Выдуманая'.encode())
    assert "Выдуманая" not in caplog.text


async def test_uploads_are_multipart_with_their_fields(fake_api):
    bot = await _bot(fake_api.base_url)
    try:
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
        await bot.send_photo(4242, InputFile(png, filename="week.png"), caption="Неделя 48")
        upload = fake_api.uploads[-1]
        assert (upload["method"], upload["filename"], upload["content"]) == ("sendPhoto", "week.png", png)
        assert upload["params"]["caption"] == "Неделя 48"
    finally:
        await bot.shutdown()


async def test_a_slow_answer_times_out_with_ptbs_error(fake_api):
    bot = await _bot(fake_api.base_url, read_timeout=0.3)
    try:
        fake_api.inject_fault("sendMessage", "timeout", delay=2.0)
        with pytest.raises(TimedOut):
            await bot.send_message(4242, "hello")
        # The pool is not left broken: the next call goes through.
        assert (await bot.send_message(4242, "again")).message_id and fake_api.calls[-1].ok
    finally:
        await bot.shutdown()


async def test_bot_api_errors_keep_their_meaning(fake_api):
    bot = await _bot(fake_api.base_url)
    try:
        fake_api.inject_fault("sendMessage", "403_blocked")
        with pytest.raises(Exception) as raised:
            await bot.send_message(4242, "hello")
        assert type(raised.value).__name__ == "Forbidden"
    finally:
        await bot.shutdown()


async def test_a_refused_connection_is_a_network_error_without_the_token():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest(connect_timeout=1.0)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
        assert TOKEN not in str(raised.value)
        assert TOKEN.split(":")[1] not in repr(raised.value)
        assert raised.value.__cause__ is None  # aiohttp's own message (it may quote the URL) is dropped
    finally:
        await request.shutdown()


async def test_using_it_before_initialize_or_after_shutdown_fails_loudly():
    request = AiohttpRequest()
    with pytest.raises(RuntimeError):
        await request.do_request("http://127.0.0.1:9/", "POST")
    await request.initialize()
    await request.shutdown()
    with pytest.raises(RuntimeError):
        await request.do_request("http://127.0.0.1:9/", "POST")


async def test_the_running_bot_uses_it(bot):
    assert isinstance(bot.application.bot.request, AiohttpRequest)


async def test_a_server_whose_certificate_no_trusted_authority_signed_is_refused(tmp_path):
    """TLS is verified (certifi's authorities): a look-alike API with a self-made certificate gets nothing."""
    import asyncio
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.telegram.org")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    reached = []

    async def answer(reader, writer):
        reached.append(await reader.read(100))
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    request = AiohttpRequest(connect_timeout=2.0, read_timeout=2.0)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"https://localhost:{port}/bot{TOKEN}/getMe")
        assert "Certificate" in str(raised.value) or "SSL" in str(raised.value)
        assert reached == [] or reached == [b""]  # no request line ever reached the look-alike
    finally:
        await request.shutdown()
        server.close()
        await server.wait_closed()
