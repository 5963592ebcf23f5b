"""Tests for storage.crypto: what a leaked or tampered database can and cannot reveal.

Every test uses TEST_KDF; DEFAULT_KDF is deliberately slow and is only inspected, never run.
"""

from __future__ import annotations

import copy
import pickle
import unicodedata

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import example, given, settings
from hypothesis import strategies as st

from storage.crypto import (
    DEFAULT_KDF,
    TEST_KDF,
    CryptoError,
    KdfParams,
    Keyring,
    OpenFailed,
    SecretKey,
    WrappedKey,
    WrongPassphrase,
    derive_kek,
    new_salt,
)

CANARY = "Канарейка-Ёжик-7731"
WHERE = {"table": "volunteers", "column": "address", "row_id": 42}


PASSPHRASE = "correct horse battery staple"


def make_kek(passphrase: str = PASSPHRASE, salt: bytes | None = None) -> SecretKey:
    return derive_kek(passphrase, salt if salt is not None else new_salt(), TEST_KDF)


def all_key_bytes(keyring: Keyring) -> list[bytes]:
    """Every raw data key and derived subkey the keyring holds (reaches into privates on purpose)."""
    keys = [k._key for k in keyring._seal_keys.values()] + [k._key for k in keyring._index_keys.values()]
    return keys + list(keyring._index_cache.values())


def assert_no_key_material(text: str, keys: list[bytes]) -> None:
    for key in keys:
        assert key.hex() not in text
        assert key.hex().upper() not in text
        assert key.decode("latin-1") not in text
        assert repr(key) not in text
        assert str(list(key)) not in text


@pytest.fixture(scope="module")
def kek() -> SecretKey:
    return make_kek()


@pytest.fixture(scope="module")
def ring_and_wrapped(kek: SecretKey) -> tuple[Keyring, list[WrappedKey]]:
    return Keyring.create(kek)


@pytest.fixture(scope="module")
def ring(ring_and_wrapped: tuple[Keyring, list[WrappedKey]]) -> Keyring:
    # Module-scoped and never mutated (rotation tests make their own), so hypothesis can use it.
    return ring_and_wrapped[0]


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


# --- round trips -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text=st.text())
@example(text="")
@example(text="x" * 10_000)
@example(text=CANARY)
@example(text="\x00\U0001f600 e\u0301 \ufeff")
def test_round_trip_any_text_comes_back_as_identical_str(ring: Keyring, text: str) -> None:
    envelope = ring.seal(text, **WHERE)
    opened = ring.open_text(envelope, **WHERE)
    assert type(opened) is str
    assert opened == text


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=20_000))
@example(data=b"")
@example(data=b"\x00")
@example(data=b"\x01" + "текст".encode())
def test_round_trip_any_bytes_comes_back_as_identical_bytes(ring: Keyring, data: bytes) -> None:
    envelope = ring.seal(data, **WHERE)
    opened = ring.open(envelope, **WHERE)
    assert type(opened) is bytes
    assert opened == data


def test_text_and_bytes_are_not_confused_between_open_and_open_text(ring: Keyring) -> None:
    as_text = ring.seal("abc", **WHERE)
    as_bytes = ring.seal(b"abc", **WHERE)
    with pytest.raises(OpenFailed):
        ring.open(as_text, **WHERE)
    with pytest.raises(OpenFailed):
        ring.open_text(as_bytes, **WHERE)


def test_int_and_str_row_ids_bind_identically(ring: Keyring) -> None:
    envelope = ring.seal(CANARY, table="t", column="c", row_id=7)
    assert ring.open_text(envelope, table="t", column="c", row_id="7") == CANARY


def test_optional_helpers_keep_none_as_none(ring: Keyring) -> None:
    assert ring.seal_optional(None, **WHERE) is None
    assert ring.open_optional(None, **WHERE) is None
    assert ring.open_text_optional(None, **WHERE) is None
    assert ring.open_text_optional(ring.seal_optional(CANARY, **WHERE), **WHERE) == CANARY
    assert ring.open_optional(ring.seal_optional(b"\x00\xff", **WHERE), **WHERE) == b"\x00\xff"


def test_envelope_layout_is_version_key_id_nonce_ciphertext_tag(ring: Keyring) -> None:
    envelope = ring.seal(b"abcd", **WHERE)
    assert envelope[0] == 1
    assert int.from_bytes(envelope[1:5], "big") == 1 == Keyring.key_id_of(envelope)
    assert len(envelope) == 1 + 4 + 12 + (1 + 4) + 16  # type tag + value inside the ciphertext


def hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def test_envelope_decrypts_exactly_as_the_module_docstring_documents(ring: Keyring) -> None:
    # Recomputed from the documented format with plain cryptography calls, so the format cannot
    # drift silently (e.g. a subkey that stops depending on the column).
    seal_key = ring._seal_keys[1]._key
    for table, column, row_id in (("volunteers", "address", 42), ("volunteers", "phone", "u-7")):
        envelope = ring.seal(CANARY, table=table, column=column, row_id=row_id)
        subkey = hkdf(seal_key, b"parcelbot|seal|v1|" + table.encode() + b"|" + column.encode())
        aad = b"parcelbot|v1|" + table.encode() + b"|" + column.encode() + b"|" + str(row_id).encode()
        body = AESGCM(subkey).decrypt(envelope[5:17], envelope[17:], aad)
        assert body == b"\x01" + CANARY.encode("utf-8")
    envelope = ring.seal(b"raw", **WHERE)
    subkey = hkdf(seal_key, b"parcelbot|seal|v1|volunteers|address")
    assert AESGCM(subkey).decrypt(envelope[5:17], envelope[17:], b"parcelbot|v1|volunteers|address|42") == (
        b"\x00raw"
    )


def test_wrapped_keys_and_blind_index_match_the_documented_construction(kek: SecretKey) -> None:
    ring, wrapped = Keyring.create(kek)
    for w in wrapped:
        assert w.blob[0] == 1 and len(w.blob) == 61
        aad = b"parcelbot|keyring|v1|" + w.purpose.encode() + b"|" + str(w.key_id).encode()
        key = AESGCM(kek._key).decrypt(w.blob[1:13], w.blob[13:], aad)
        held = ring._seal_keys if w.purpose == "seal" else ring._index_keys
        assert key == held[w.key_id]._key
    subkey = hkdf(ring._index_keys[1]._key, b"parcelbot|blind-index|v1|phone")
    mac = crypto_hmac.HMAC(subkey, hashes.SHA256())
    mac.update(CANARY.encode("utf-8"))
    assert ring.blind_index("phone", CANARY) == mac.finalize()


# --- confidentiality -----------------------------------------------------------------------------


def test_nonces_are_unique_over_10000_seals_of_the_same_value(ring: Keyring) -> None:
    envelopes = [ring.seal("same", **WHERE) for _ in range(10_000)]
    nonces = {e[5:17] for e in envelopes}
    assert len(nonces) == 10_000
    assert len(set(envelopes)) == 10_000


def test_same_plaintext_sealed_twice_gives_different_envelopes(ring: Keyring) -> None:
    assert ring.seal(CANARY, **WHERE) != ring.seal(CANARY, **WHERE)
    assert ring.seal(b"", **WHERE) != ring.seal(b"", **WHERE)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_ciphertext_does_not_contain_the_plaintext_in_any_common_encoding(
    ring: Keyring, as_bytes: bool
) -> None:
    value = CANARY.encode("utf-8") if as_bytes else CANARY
    envelope = ring.seal(value, **WHERE)
    for text in (CANARY, CANARY.split("-")[0], "Ёжик"):
        for encoding in ("utf-8", "utf-16-le", "utf-16-be", "cp1251", "koi8-r"):
            assert text.encode(encoding) not in envelope
    assert b"7731" not in envelope


def test_same_value_in_different_columns_is_sealed_under_different_subkeys(ring: Keyring) -> None:
    ring.seal("x", table="t", column="a", row_id=1)
    ring.seal("x", table="t", column="b", row_id=1)
    a = ring._aead_cache[(1, "t", "a")]
    b = ring._aead_cache[(1, "t", "b")]
    assert a is not b
    # Derived once and cached: a second seal reuses the same AESGCM object.
    ring.seal("y", table="t", column="a", row_id=2)
    assert ring._aead_cache[(1, "t", "a")] is a


# --- refusals ------------------------------------------------------------------------------------


def test_refuses_every_single_flipped_byte_of_a_short_envelope(ring: Keyring) -> None:
    envelope = ring.seal("", **WHERE)
    assert len(envelope) == 34
    for index in range(len(envelope)):
        for mask in (0x01, 0x80, 0xFF):
            with pytest.raises(OpenFailed):
                ring.open_text(flip(envelope, index, mask), **WHERE)


def test_refuses_wrong_row_id(ring: Keyring) -> None:
    envelope = ring.seal(CANARY, **WHERE)
    with pytest.raises(OpenFailed):
        ring.open_text(envelope, table="volunteers", column="address", row_id=43)
    with pytest.raises(OpenFailed):
        ring.open_text(envelope, table="volunteers", column="address", row_id="42 ")


def test_refuses_wrong_column(ring: Keyring) -> None:
    envelope = ring.seal(CANARY, **WHERE)
    with pytest.raises(OpenFailed):
        ring.open_text(envelope, table="volunteers", column="phone", row_id=42)


def test_refuses_wrong_table(ring: Keyring) -> None:
    envelope = ring.seal(CANARY, **WHERE)
    with pytest.raises(OpenFailed):
        ring.open_text(envelope, table="prisoners", column="address", row_id=42)


def test_refuses_unknown_version_byte(ring: Keyring) -> None:
    envelope = ring.seal(CANARY, **WHERE)
    for version in (0, 2, 0xFF):
        with pytest.raises(OpenFailed):
            ring.open_text(bytes([version]) + envelope[1:], **WHERE)


def test_refuses_unknown_key_id(ring: Keyring) -> None:
    envelope = ring.seal(CANARY, **WHERE)
    for key_id in (0, 2, 2**32 - 1):
        with pytest.raises(OpenFailed):
            ring.open_text(envelope[:1] + key_id.to_bytes(4, "big") + envelope[5:], **WHERE)


def test_refuses_truncated_envelope(ring: Keyring) -> None:
    envelope = ring.seal(CANARY, **WHERE)
    for length in range(len(envelope)):
        with pytest.raises(OpenFailed):
            ring.open_text(envelope[:length], **WHERE)
    with pytest.raises(OpenFailed):
        ring.open_text(envelope + b"\x00", **WHERE)


def test_refuses_empty_bytes(ring: Keyring) -> None:
    with pytest.raises(OpenFailed):
        ring.open(b"", **WHERE)
    with pytest.raises(OpenFailed):
        ring.open_text(b"", **WHERE)


def test_refuses_non_bytes_envelope(ring: Keyring) -> None:
    with pytest.raises(OpenFailed):
        ring.open_text("not bytes", **WHERE)  # type: ignore[arg-type]


def test_refuses_envelope_from_another_keyring(ring: Keyring) -> None:
    other, _ = Keyring.create(make_kek())
    with pytest.raises(OpenFailed):
        other.open_text(ring.seal(CANARY, **WHERE), **WHERE)


def test_refuses_names_that_could_make_aad_ambiguous(ring: Keyring) -> None:
    for bad in ("a|b", "", "x" * 65, "таблица", "a b"):
        with pytest.raises(CryptoError):
            ring.seal("v", table=bad, column="c", row_id=1)
        with pytest.raises(CryptoError):
            ring.seal("v", table="t", column=bad, row_id=1)
    with pytest.raises(CryptoError):
        ring.seal("v", table="t", column="c", row_id=True)  # type: ignore[arg-type]


def test_open_failed_message_names_table_and_column_but_not_row_or_content(ring: Keyring) -> None:
    envelope = ring.seal(CANARY, table="volunteers", column="address", row_id=987654321)
    with pytest.raises(OpenFailed) as info:
        ring.open_text(flip(envelope, 20), table="volunteers", column="address", row_id=987654321)
    message = str(info.value)
    assert "volunteers.address" in message
    assert "987654321" not in message
    assert CANARY not in message
    assert envelope.hex() not in message and envelope.hex()[10:40] not in message
    # The library's InvalidTag is not chained into tracebacks.
    assert info.value.__cause__ is None and info.value.__suppress_context__


# --- passphrases and unlocking -------------------------------------------------------------------


def test_unlock_with_right_passphrase_opens_earlier_seals() -> None:
    salt = new_salt()
    ring, wrapped = Keyring.create(make_kek("пароль один", salt))
    envelope = ring.seal(CANARY, **WHERE)
    again = Keyring.unlock(make_kek("пароль один", salt), wrapped)
    assert again.open_text(envelope, **WHERE) == CANARY
    assert again.blind_index("phone", "+7 900") == ring.blind_index("phone", "+7 900")


def test_unlock_with_kek_from_another_passphrase_raises_wrong_passphrase() -> None:
    salt = new_salt()
    _, wrapped = Keyring.create(make_kek("right passphrase", salt))
    with pytest.raises(WrongPassphrase) as info:
        Keyring.unlock(make_kek("wrong passphrase", salt), wrapped)
    assert "passphrase" in str(info.value) and "wrong" in str(info.value)
    # Same passphrase with another salt is just as wrong (the salt is part of the KEK).
    with pytest.raises(WrongPassphrase):
        Keyring.unlock(make_kek("right passphrase"), wrapped)


def test_unlock_refuses_each_tampered_byte_of_a_wrapped_blob(kek: SecretKey) -> None:
    _, wrapped = Keyring.create(kek)
    for victim in range(len(wrapped)):
        blob = wrapped[victim].blob
        for index in range(len(blob)):
            tampered = list(wrapped)
            w = wrapped[victim]
            tampered[victim] = WrappedKey(w.key_id, w.purpose, flip(blob, index))
            with pytest.raises(WrongPassphrase):
                Keyring.unlock(kek, tampered)
    # Truncated or extended blobs too.
    seal = wrapped[0]
    for blob in (seal.blob[:-1], seal.blob + b"\x00", b""):
        with pytest.raises(WrongPassphrase):
            Keyring.unlock(kek, [WrappedKey(seal.key_id, seal.purpose, blob), wrapped[1]])


def test_unlock_refuses_wrapped_keys_moved_to_another_slot(kek: SecretKey) -> None:
    _, wrapped = Keyring.create(kek)
    seal, index = wrapped
    # Swap purposes: the AAD binds purpose and id, so the blobs no longer authenticate.
    with pytest.raises(WrongPassphrase):
        Keyring.unlock(kek, [WrappedKey(1, "index", seal.blob), WrappedKey(1, "seal", index.blob)])
    with pytest.raises(WrongPassphrase):
        Keyring.unlock(kek, [WrappedKey(2, "seal", seal.blob), index])


def test_unlock_refuses_empty_or_incomplete_keyring(kek: SecretKey) -> None:
    _, wrapped = Keyring.create(kek)
    # An empty keyring would accept any passphrase, so it is an error, not an empty Keyring.
    with pytest.raises(CryptoError):
        Keyring.unlock(kek, [])
    with pytest.raises(CryptoError):
        Keyring.unlock(kek, [wrapped[0]])  # no index key
    with pytest.raises(CryptoError):
        Keyring.unlock(kek, [wrapped[1]])  # no seal key
    with pytest.raises(CryptoError):
        Keyring.unlock(kek, [wrapped[0], wrapped[0], wrapped[1]])  # duplicate slot


def test_unlock_chooses_highest_seal_key_unless_told_otherwise(kek: SecretKey) -> None:
    ring, wrapped = Keyring.create(kek)
    wrapped.append(ring.add_seal_key(kek))
    assert Keyring.unlock(kek, wrapped).current_key_id == 2
    assert Keyring.unlock(kek, reversed(wrapped)).current_key_id == 2
    pinned = Keyring.unlock(kek, wrapped, current_key_id=1)
    assert Keyring.key_id_of(pinned.seal("v", **WHERE)) == 1
    with pytest.raises(CryptoError):
        Keyring.unlock(kek, wrapped, current_key_id=3)


def test_derive_kek_is_deterministic_and_depends_on_passphrase_salt_and_params() -> None:
    salt = new_salt()
    assert len(salt) == 16 and salt != new_salt()
    base = derive_kek("pass", salt, TEST_KDF)
    assert base == derive_kek("pass", salt, TEST_KDF)
    assert base != derive_kek("pass ", salt, TEST_KDF)
    assert base != derive_kek("pass", new_salt(), TEST_KDF)
    assert base != derive_kek("pass", salt, KdfParams(n=2**11, r=8, p=1))


def test_derive_kek_normalizes_passphrase_to_nfc() -> None:
    salt = new_salt()
    composed = "Йошкар-Ола café"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert derive_kek(composed, salt, TEST_KDF) == derive_kek(decomposed, salt, TEST_KDF)


def test_derive_kek_refuses_empty_passphrase_and_short_salt() -> None:
    with pytest.raises(CryptoError):
        derive_kek("", new_salt(), TEST_KDF)
    with pytest.raises(CryptoError):
        derive_kek("pass", b"short", TEST_KDF)
    with pytest.raises(CryptoError) as info:
        derive_kek("secret\ud800part", new_salt(), TEST_KDF)
    assert "secret" not in str(info.value)


# --- KDF parameters ------------------------------------------------------------------------------


def test_default_kdf_is_memory_hard_without_running_it() -> None:
    assert DEFAULT_KDF == KdfParams(n=2**17, r=8, p=1)
    assert DEFAULT_KDF.n * DEFAULT_KDF.r * 128 >= 64 * 2**20
    assert TEST_KDF == KdfParams(n=2**10, r=8, p=1)


def test_kdf_params_json_round_trip() -> None:
    for params in (DEFAULT_KDF, TEST_KDF, KdfParams(n=2**14, r=16, p=2)):
        assert KdfParams.from_json(params.to_json()) == params
        assert KdfParams.from_json(params.to_json().encode()) == params


@pytest.mark.parametrize(
    ("n", "r", "p"),
    [
        (1000, 8, 1),
        (2**10 + 2, 8, 1),
        (2**9, 8, 1),
        (2**30, 8, 1),
        (0, 8, 1),
        (-1024, 8, 1),
        (2**10, 0, 1),
        (2**10, 1000, 1),
        (2**10, 8, 0),
        (2**10, 8, 1000),
        (2**22, 32, 1),
        (True, 8, 1),
        (1024.0, 8, 1),
    ],
)
def test_kdf_params_refuse_non_power_of_two_and_absurd_values(n: object, r: object, p: object) -> None:
    with pytest.raises(CryptoError):
        KdfParams(n=n, r=r, p=p)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"n": 1024, "r": 8, "p": 1}',
        '{"kdf": "argon2", "n": 1024, "r": 8, "p": 1}',
        '{"kdf": "scrypt", "n": 1000, "r": 8, "p": 1}',
        '{"kdf": "scrypt", "n": "1024", "r": 8, "p": 1}',
        '{"kdf": "scrypt", "n": 1024, "r": 8, "p": 1, "extra": 1}',
    ],
)
def test_kdf_params_from_json_refuses_malformed_input(text: str) -> None:
    with pytest.raises(CryptoError):
        KdfParams.from_json(text)


# --- blind index ---------------------------------------------------------------------------------


def test_blind_index_is_deterministic_for_same_purpose_and_value(ring: Keyring) -> None:
    assert ring.blind_index("phone", "+79001234567") == ring.blind_index("phone", "+79001234567")
    assert ring.blind_index("phone", "+79001234567") == ring.blind_index("phone", b"+79001234567")
    assert ring.blind_index("phone", "+79001234567") != ring.blind_index("phone", "+79001234568")


def test_blind_index_differs_between_purposes(ring: Keyring) -> None:
    assert ring.blind_index("phone", "12345") != ring.blind_index("telegram_id", "12345")
    assert ring.blind_index("a", "bc") != ring.blind_index("ab", "c")


def test_blind_index_differs_between_keyrings(ring: Keyring) -> None:
    other, _ = Keyring.create(make_kek())
    assert ring.blind_index("phone", "12345") != other.blind_index("phone", "12345")


def test_blind_index_is_32_bytes_and_not_the_value(ring: Keyring) -> None:
    digest = ring.blind_index("name", CANARY)
    assert type(digest) is bytes and len(digest) == 32
    assert len(ring.blind_index("name", "")) == 32
    assert CANARY.encode() not in digest


def test_hash_secret_is_a_keyed_deterministic_hash(ring: Keyring) -> None:
    code = "INV-4821"
    assert ring.hash_secret("invite", code) == ring.hash_secret("invite", code)
    assert ring.hash_secret("invite", code) != ring.hash_secret("invite", "INV-4822")
    assert len(ring.hash_secret("invite", code)) == 32


# --- rotation ------------------------------------------------------------------------------------


def test_after_add_seal_key_new_seals_use_new_key_and_old_envelopes_still_open(kek: SecretKey) -> None:
    ring, wrapped = Keyring.create(kek)
    old = ring.seal(CANARY, **WHERE)
    index_before = ring.blind_index("phone", "1")
    new_wrapped = ring.add_seal_key(kek)
    assert new_wrapped.key_id == 2 and new_wrapped.purpose == "seal"
    assert ring.current_key_id == 2 and ring.seal_key_ids == [1, 2]
    new = ring.seal(CANARY, **WHERE)
    assert Keyring.key_id_of(old) == 1
    assert Keyring.key_id_of(new) == 2
    assert ring.open_text(old, **WHERE) == CANARY
    assert ring.open_text(new, **WHERE) == CANARY
    # Blind indexes survive seal-key rotation.
    assert ring.blind_index("phone", "1") == index_before
    # And after a restart with the stored keys:
    again = Keyring.unlock(kek, [*wrapped, new_wrapped])
    assert again.open_text(old, **WHERE) == again.open_text(new, **WHERE) == CANARY
    assert Keyring.key_id_of(again.seal("v", **WHERE)) == 2


def test_add_seal_key_refuses_a_kek_the_keyring_is_not_stored_under(kek: SecretKey) -> None:
    ring, _ = Keyring.create(kek)
    with pytest.raises(WrongPassphrase):
        ring.add_seal_key(make_kek("some other passphrase"))
    assert ring.seal_key_ids == [1] and ring.current_key_id == 1


def test_rewrap_under_new_kek_opens_everything_and_refuses_old_kek(kek: SecretKey) -> None:
    ring, wrapped = Keyring.create(kek)
    wrapped.append(ring.add_seal_key(kek))
    sealed_old_key = Keyring.unlock(kek, wrapped, current_key_id=1).seal(CANARY, **WHERE)
    sealed_new_key = ring.seal(b"\x00bytes", **WHERE)
    index = ring.blind_index("phone", "1")

    new_kek = make_kek("a brand new passphrase")
    rewrapped = ring.rewrap(new_kek)
    assert sorted((w.purpose, w.key_id) for w in rewrapped) == [("index", 1), ("seal", 1), ("seal", 2)]
    assert {w.blob for w in rewrapped}.isdisjoint(w.blob for w in wrapped)

    again = Keyring.unlock(new_kek, rewrapped)
    assert again.open_text(sealed_old_key, **WHERE) == CANARY
    assert again.open(sealed_new_key, **WHERE) == b"\x00bytes"
    assert again.blind_index("phone", "1") == index
    with pytest.raises(WrongPassphrase):
        Keyring.unlock(kek, rewrapped)
    # The live keyring now expects the new KEK for further rotation.
    with pytest.raises(WrongPassphrase):
        ring.add_seal_key(kek)
    assert ring.add_seal_key(new_kek).key_id == 3


def test_key_id_of_refuses_non_envelopes() -> None:
    for junk in (b"", b"\x01" * 10, b"\x02" + b"\x00" * 40):
        with pytest.raises(CryptoError):
            Keyring.key_id_of(junk)


# --- no key material in reprs, strings and exceptions -------------------------------------------


def test_secret_key_repr_and_str_hide_the_key() -> None:
    key = SecretKey.generate()
    assert repr(key) == str(key) == "SecretKey([secure])"
    assert_no_key_material(repr(key), [key._key])
    assert_no_key_material(f"{key!r} {key} {[key]} {dict(k=key)}", [key._key])


def test_secret_key_cannot_be_pickled_copied_or_hashed() -> None:
    key = SecretKey.generate()
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        copy.deepcopy(key)
    with pytest.raises(TypeError):
        hash(key)
    with pytest.raises(CryptoError):
        SecretKey(b"\x00" * 31)


def test_keyring_repr_shows_only_key_ids(kek: SecretKey) -> None:
    ring, wrapped = Keyring.create(kek)
    ring.blind_index("phone", "1")
    assert repr(ring) == str(ring) == "Keyring(seal=[1], index=[1], current=1)"
    ring.add_seal_key(kek)
    assert repr(ring) == "Keyring(seal=[1, 2], index=[1], current=2)"
    assert_no_key_material(repr(ring) + repr(wrapped) + repr(kek), all_key_bytes(ring) + [kek._key])
    with pytest.raises(TypeError):
        pickle.dumps(ring)


def test_no_exception_message_contains_key_material_or_plaintext() -> None:
    salt = new_salt()
    kek = make_kek("the right one", salt)
    ring, wrapped = Keyring.create(kek)
    envelope = ring.seal(CANARY, **WHERE)
    secrets = all_key_bytes(ring) + [kek._key]
    wrong_kek = make_kek("the wrong one", salt)

    attempts = [
        lambda: Keyring.unlock(wrong_kek, wrapped),
        lambda: Keyring.unlock(kek, [WrappedKey(1, "seal", flip(wrapped[0].blob, 30)), wrapped[1]]),
        lambda: Keyring.unlock(kek, []),
        lambda: ring.add_seal_key(wrong_kek),
        lambda: ring.open_text(flip(envelope, 25), **WHERE),
        lambda: ring.open_text(envelope, table="volunteers", column="address", row_id=43),
        lambda: ring.open_text(envelope[:20], **WHERE),
        lambda: ring.open(envelope, **WHERE),
        lambda: ring.open_text(b"", **WHERE),
        lambda: Keyring.key_id_of(b""),
        lambda: derive_kek("", salt, TEST_KDF),
        lambda: KdfParams(n=1000, r=8, p=1),
        lambda: SecretKey(kek._key[:31]),
    ]
    for attempt in attempts:
        with pytest.raises(CryptoError) as info:
            attempt()
        for text in (str(info.value), repr(info.value)):
            assert_no_key_material(text, secrets)
            assert CANARY not in text
            assert envelope.hex()[34:] not in text
