"""Field-level encryption for parcelbot: a passphrase-protected keyring and sealed envelopes.

If this database leaks, the people named in it can be imprisoned. Every sensitive field is
therefore stored only *sealed* (encrypted and authenticated), and every lookup column only as a
keyed hash (a *blind index*). This module is the only place that touches key material; all
primitives come from ``cryptography``, nothing is hand-rolled.

Key hierarchy
=============

::

    passphrase (typed by the operator at start-up, never stored)
        │  NFC-normalise, UTF-8, scrypt(salt = 16 random bytes, KdfParams)   -> derive_kek()
        ▼
    KEK — 32-byte key-encryption key (held only while unlocking / rotating)
        │  AES-256-GCM wrap, one WrappedKey row per data key                  -> Keyring
        ▼
    data keys — random 32 bytes each, numbered per purpose (1, 2, …)
        ├── purpose "seal"  (several after rotation; the highest id is current)
        │      │  HKDF-SHA256, info = b"parcelbot|seal|v1|" + table + b"|" + column
        │      ▼
        │   per-column AES-256-GCM subkey                                     -> Keyring.seal/open
        └── purpose "index" (exactly one)
               │  HKDF-SHA256, info = b"parcelbot|blind-index|v1|" + purpose
               ▼
            per-purpose HMAC-SHA256 subkey                                    -> Keyring.blind_index

The salt and the JSON of the :class:`KdfParams` are stored next to the wrapped keys; they are not
secret. Changing the passphrase (:meth:`Keyring.rewrap`) only re-wraps the data keys, so no field
has to be re-encrypted. Rotating the seal key (:meth:`Keyring.add_seal_key`) makes new seals use
a new data key while old envelopes stay readable; :meth:`Keyring.key_id_of` finds the rows that
still need re-sealing. The index key is separate so blind indexes survive seal-key rotation.

A wrong passphrase is detected because the wrapped keys fail to authenticate (AES-GCM tag) in
:meth:`Keyring.unlock`, before anything is read or written — no separate "key check" value.
Tampering with the stored KDF parameters or salt has the same effect (a different KEK), so they
cannot be silently downgraded.

Wrapped key format (``WrappedKey.blob``, 61 bytes)
==================================================

::

    0x01 | nonce (12) | AES-256-GCM(KEK, data key (32)) ‖ tag (16)
    aad = b"parcelbot|keyring|v1|" + purpose + b"|" + str(key_id)   (key_id as ASCII decimal)

The AAD binds each blob to its purpose and id, so rows cannot be swapped between slots.

Sealed envelope format (at least 34 bytes)
==========================================

::

    0x01 (version) | key_id (4, big-endian) | nonce (12) | AES-256-GCM ciphertext ‖ tag (16)
    aad       = b"parcelbot|v1|" + table + b"|" + column + b"|" + str(row_id)
    plaintext = type tag (1 byte: 0x00 bytes, 0x01 UTF-8 text) + value

The type tag sits *inside* the ciphertext: it is authenticated, and a database reader cannot even
tell text columns from binary ones. ``open`` returns bytes and ``open_text`` returns str, and each
refuses a value sealed as the other type, so a value comes back exactly as it went in.

The AAD binds a ciphertext to its table, column and row, so an attacker with write access cannot
move a sealed value to another row or column (e.g. swap two volunteers' addresses). The key id
is not in the AAD but is authenticated implicitly: it selects the key, and any other key fails the
tag. Table, column and purpose names are restricted to ``[A-Za-z0-9_.-]`` (no ``|``) so the
``|``-joined strings above cannot be made ambiguous; the row id comes last, so it may be any text.

Nonces are 12 random bytes from ``os.urandom`` for every seal. With random 96-bit nonces NIST
SP 800-38D allows 2**32 encryptions per key; since each (data key, column) pair has its own
subkey, that bound applies per column and per key, far beyond what this bot will ever write.

Limits worth knowing: Python cannot reliably wipe memory, so key bytes live until garbage
collected; :class:`SecretKey` only keeps them out of reprs, logs, exception messages and pickles.
Sealing hides content but not length (envelope = value length + 34 bytes).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from hmac import compare_digest
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = [
    "DEFAULT_KDF",
    "PURPOSE_INDEX",
    "PURPOSE_SEAL",
    "TEST_KDF",
    "CryptoError",
    "KdfParams",
    "Keyring",
    "OpenFailed",
    "SecretKey",
    "WrappedKey",
    "WrongPassphrase",
    "derive_kek",
    "new_salt",
]

KEY_LEN = 32  # AES-256 / HMAC-SHA256 key size
SALT_LEN = 16
NONCE_LEN = 12  # the AES-GCM standard nonce size; other sizes go through GHASH and are weaker
TAG_LEN = 16

PURPOSE_SEAL = "seal"
PURPOSE_INDEX = "index"
_PURPOSES = (PURPOSE_SEAL, PURPOSE_INDEX)

_WRAP_VERSION = 1
_WRAP_LEN = 1 + NONCE_LEN + KEY_LEN + TAG_LEN
_WRAP_AAD_PREFIX = b"parcelbot|keyring|v1|"

_ENVELOPE_VERSION = 1
_KEY_ID_LEN = 4
_MAX_KEY_ID = 2**32 - 1  # must fit the 4-byte key id field of the envelope
_HEADER_LEN = 1 + _KEY_ID_LEN + NONCE_LEN
_MIN_ENVELOPE_LEN = _HEADER_LEN + 1 + TAG_LEN  # an empty value still carries its type tag
_SEAL_AAD_PREFIX = b"parcelbot|v1|"
_SEAL_INFO_PREFIX = b"parcelbot|seal|v1|"
_INDEX_INFO_PREFIX = b"parcelbot|blind-index|v1|"

_TYPE_BYTES = 0x00
_TYPE_TEXT = 0x01

# Names that end up inside HKDF info / AAD strings. No "|" so the joined strings stay unambiguous.
_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


# --------------------------------------------------------------------------------------------
# Exceptions. Messages are fixed strings plus, at most, table/column/purpose names: never key
# bytes, plaintext, row ids or passphrases, because exceptions end up in logs and bug reports.
# Library exceptions are re-raised "from None" so their context does not get printed either.
# --------------------------------------------------------------------------------------------


class CryptoError(Exception):
    """Base class for everything this module raises on purpose."""


class WrongPassphrase(CryptoError):
    """The KEK could not authenticate a wrapped key: wrong passphrase or damaged keyring."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "wrong passphrase: the stored keyring does not open with it "
            "(if the passphrase is certainly right, the stored keyring is damaged)"
        )


class OpenFailed(CryptoError):
    """A sealed value could not be opened (damaged, tampered with, or moved to another place)."""

    def __init__(self, table: str, column: str, message: str | None = None) -> None:
        self.table = table
        self.column = column
        super().__init__(
            message
            or f"could not open sealed value in {table}.{column}: it is damaged, was tampered with, "
            "belongs to a different row, or was sealed with a key this keyring does not have"
        )


# --------------------------------------------------------------------------------------------
# Key derivation
# --------------------------------------------------------------------------------------------

# Bounds for KdfParams. The floor is TEST_KDF; the ceilings stop a corrupted or hostile database
# row from making start-up allocate gigabytes or spin for hours.
_MIN_N = 2**10
_MAX_N = 2**22
_MAX_R = 32
_MAX_P = 16
_MAX_SCRYPT_MEMORY = 2**30  # bytes; scrypt needs about 128 * n * r


@dataclass(frozen=True, slots=True)
class KdfParams:
    """scrypt cost parameters; stored as JSON next to the salt (they are not secret)."""

    n: int
    r: int
    p: int

    def __post_init__(self) -> None:
        for name in ("n", "r", "p"):
            value = getattr(self, name)
            # bool is an int subclass; True as a cost parameter is certainly a bug.
            if type(value) is not int:
                raise CryptoError(f"scrypt parameter {name} must be an int")
        if self.n < 2 or self.n & (self.n - 1):
            raise CryptoError("scrypt parameter n must be a power of two")
        if not _MIN_N <= self.n <= _MAX_N:
            raise CryptoError(f"scrypt parameter n must be between 2**10 and 2**22, got {self.n}")
        if not 1 <= self.r <= _MAX_R:
            raise CryptoError(f"scrypt parameter r must be between 1 and {_MAX_R}, got {self.r}")
        if not 1 <= self.p <= _MAX_P:
            raise CryptoError(f"scrypt parameter p must be between 1 and {_MAX_P}, got {self.p}")
        if self.memory_bytes > _MAX_SCRYPT_MEMORY:
            raise CryptoError("scrypt parameters would need more than 1 GiB of memory")

    @property
    def memory_bytes(self) -> int:
        """Approximate memory scrypt needs with these parameters (128 * n * r bytes)."""
        return 128 * self.n * self.r

    def to_json(self) -> str:
        return json.dumps({"kdf": "scrypt", "n": self.n, "r": self.r, "p": self.p}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> KdfParams:
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            raise CryptoError("stored KDF parameters are not valid JSON") from None
        if not isinstance(data, dict) or set(data) != {"kdf", "n", "r", "p"} or data["kdf"] != "scrypt":
            raise CryptoError('stored KDF parameters must be {"kdf": "scrypt", "n": …, "r": …, "p": …}')
        return cls(n=data["n"], r=data["r"], p=data["p"])


# About 128 MiB and ~0.5 s per derivation: memory-hard enough that guessing passphrases against
# a stolen database is expensive. Run derive_kek in a thread (asyncio.to_thread) from async code.
DEFAULT_KDF = KdfParams(n=2**17, r=8, p=1)
# For tests only: same algorithm, cheap enough to run hundreds of times.
TEST_KDF = KdfParams(n=2**10, r=8, p=1)


class SecretKey:
    """32 bytes of key material that stay out of reprs, str(), logs and pickles.

    Equality is constant-time and instances are unhashable (a hash would be derived from the
    key bytes). Python cannot wipe the bytes from memory; this class only prevents accidents.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray | memoryview):
            raise TypeError("SecretKey needs bytes")
        key = bytes(key)
        if len(key) != KEY_LEN:
            raise CryptoError(f"a key must be exactly {KEY_LEN} bytes")
        self._key = key

    @classmethod
    def generate(cls) -> SecretKey:
        return cls(os.urandom(KEY_LEN))

    def __repr__(self) -> str:
        return "SecretKey([secure])"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretKey):
            return NotImplemented
        return compare_digest(self._key, other._key)

    __hash__ = None  # type: ignore[assignment]

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Pickling (or copy/deepcopy) would write the key somewhere it was never meant to go.
        raise TypeError("SecretKey cannot be pickled or copied")


def new_salt() -> bytes:
    """A fresh random scrypt salt; store it (not secret) next to the KDF parameters."""
    return os.urandom(SALT_LEN)


def derive_kek(passphrase: str, salt: bytes, params: KdfParams) -> SecretKey:
    """Derive the key-encryption key from the operator's passphrase with scrypt.

    The passphrase is NFC-normalised first so that the same passphrase typed on different
    keyboards / operating systems (composed "й" vs "и" + combining breve) gives the same key.
    This is CPU- and memory-heavy by design; call it via ``asyncio.to_thread`` from async code.
    """
    if not isinstance(passphrase, str):
        raise TypeError("passphrase must be str")
    if not isinstance(params, KdfParams):
        raise TypeError("params must be KdfParams")
    if not isinstance(salt, bytes | bytearray | memoryview) or len(salt) < SALT_LEN:
        raise CryptoError(f"salt must be at least {SALT_LEN} bytes (use new_salt())")
    normalized = unicodedata.normalize("NFC", passphrase)
    if not normalized:
        raise CryptoError("the passphrase must not be empty")
    try:
        secret = normalized.encode("utf-8")
    except UnicodeEncodeError:
        # The codec's own message would quote the offending character of the passphrase.
        raise CryptoError("the passphrase is not valid Unicode text") from None
    kdf = Scrypt(salt=bytes(salt), length=KEY_LEN, n=params.n, r=params.r, p=params.p)
    return SecretKey(kdf.derive(secret))


def _hkdf(key: SecretKey, info: bytes) -> bytes:
    # No salt: the input is already a uniformly random 32-byte key, so HKDF-Extract has nothing
    # to extract (RFC 5869 §3.1 makes the salt optional for exactly this case). Separation between
    # subkeys comes entirely from `info`, which names the purpose, format version and column.
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LEN, salt=None, info=info).derive(key._key)


_CHECKED_NAMES: dict[str, bytes] = {}  # table and column names seen valid: a few dozen, checked on every seal


def _check_name(value: object, what: str) -> bytes:
    checked = _CHECKED_NAMES.get(value) if isinstance(value, str) else None
    if checked is not None:
        return checked
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise CryptoError(f"invalid {what}: use 1-64 characters from A-Z a-z 0-9 _ . -")
    if len(_CHECKED_NAMES) < 1024:  # names come from code, not from people; the cap is a safety net
        _CHECKED_NAMES[value] = value.encode("ascii")
    return value.encode("ascii")


def _row_id_bytes(row_id: object) -> bytes:
    # int 5 and str "5" deliberately bind the same way (SQLite may hand back either).
    if isinstance(row_id, bool) or not isinstance(row_id, int | str):
        raise CryptoError("row_id must be an int or a str")
    try:
        return str(row_id).encode("utf-8")
    except UnicodeEncodeError:
        raise CryptoError("row_id is not valid Unicode text") from None


# --------------------------------------------------------------------------------------------
# Wrapped keys
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """One data key encrypted under the KEK, as stored in the database."""

    key_id: int
    purpose: str
    blob: bytes

    def __post_init__(self) -> None:
        if isinstance(self.key_id, bool) or not isinstance(self.key_id, int):
            raise CryptoError("key_id must be an int")
        if not 1 <= self.key_id <= _MAX_KEY_ID:
            raise CryptoError("key_id out of range")
        if self.purpose not in _PURPOSES:
            raise CryptoError("unknown key purpose")
        if not isinstance(self.blob, bytes | bytearray | memoryview):
            raise CryptoError("wrapped key blob must be bytes")
        object.__setattr__(self, "blob", bytes(self.blob))

    def __repr__(self) -> str:
        return f"WrappedKey(key_id={self.key_id}, purpose={self.purpose!r}, blob=<{len(self.blob)} bytes>)"


def _wrap_aad(purpose: str, key_id: int) -> bytes:
    return _WRAP_AAD_PREFIX + purpose.encode("ascii") + b"|" + str(key_id).encode("ascii")


def _wrap(kek: SecretKey, purpose: str, key_id: int, key: SecretKey) -> WrappedKey:
    nonce = os.urandom(NONCE_LEN)
    ct = AESGCM(kek._key).encrypt(nonce, key._key, _wrap_aad(purpose, key_id))
    return WrappedKey(key_id=key_id, purpose=purpose, blob=bytes([_WRAP_VERSION]) + nonce + ct)


def _unwrap(kek: SecretKey, wrapped: WrappedKey) -> SecretKey:
    blob = wrapped.blob
    # Malformed blobs are reported like a failed tag: from the outside, "this keyring does not
    # open with this KEK" is the one thing we know, and it must stop start-up either way.
    if len(blob) != _WRAP_LEN or blob[0] != _WRAP_VERSION:
        raise WrongPassphrase()
    nonce, ct = blob[1 : 1 + NONCE_LEN], blob[1 + NONCE_LEN :]
    try:
        key = AESGCM(kek._key).decrypt(nonce, ct, _wrap_aad(wrapped.purpose, wrapped.key_id))
    except InvalidTag:
        raise WrongPassphrase() from None
    return SecretKey(key)


# --------------------------------------------------------------------------------------------
# Keyring
# --------------------------------------------------------------------------------------------


class Keyring:
    """The unlocked data keys. Seals/opens fields and computes blind indexes.

    Build it with :meth:`create` (first start) or :meth:`unlock` (every later start); never
    construct it directly. It does not keep the KEK.
    """

    __slots__ = ("_seal_keys", "_index_keys", "_current", "_wrapped", "_aead_cache", "_index_cache")

    def __init__(
        self,
        seal_keys: dict[int, SecretKey],
        index_keys: dict[int, SecretKey],
        current: int,
        wrapped: dict[tuple[str, int], WrappedKey],
    ) -> None:
        self._seal_keys = seal_keys
        self._index_keys = index_keys
        self._current = current
        # The wrapped forms are kept to verify the KEK passed to add_seal_key (see there).
        self._wrapped = wrapped
        # Subkeys are derived once per (key, column) / purpose, not on every call.
        self._aead_cache: dict[tuple[int, str, str], AESGCM] = {}
        self._index_cache: dict[str, bytes] = {}

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def create(cls, kek: SecretKey) -> tuple[Keyring, list[WrappedKey]]:
        """A brand-new keyring: seal key 1 and index key 1. Store the returned wrapped keys."""
        _check_kek(kek)
        seal, index = SecretKey.generate(), SecretKey.generate()
        wrapped = [_wrap(kek, PURPOSE_SEAL, 1, seal), _wrap(kek, PURPOSE_INDEX, 1, index)]
        keyring = cls({1: seal}, {1: index}, 1, {(w.purpose, w.key_id): w for w in wrapped})
        return keyring, wrapped

    @classmethod
    def unlock(
        cls, kek: SecretKey, wrapped: Iterable[WrappedKey], *, current_key_id: int | None = None
    ) -> Keyring:
        """Unwrap every stored key. Raises :class:`WrongPassphrase` if any fails to authenticate.

        The current seal key is the highest seal key id unless ``current_key_id`` says otherwise.
        """
        _check_kek(kek)
        by_slot: dict[tuple[str, int], WrappedKey] = {}
        for item in wrapped:
            if not isinstance(item, WrappedKey):
                raise TypeError("unlock needs WrappedKey objects")
            slot = (item.purpose, item.key_id)
            if slot in by_slot:
                raise CryptoError(f"the stored keyring has two {item.purpose} keys with the same id")
            by_slot[slot] = item
        # Without at least one wrapped key nothing would check the passphrase at all.
        if not by_slot:
            raise CryptoError("the stored keyring is empty; create one with Keyring.create")

        # Unwrap everything before checking the structure, so a wrong passphrase is reported as
        # such even on an odd-looking keyring.
        seal_keys: dict[int, SecretKey] = {}
        index_keys: dict[int, SecretKey] = {}
        for (purpose, key_id), item in sorted(by_slot.items()):
            key = _unwrap(kek, item)
            (seal_keys if purpose == PURPOSE_SEAL else index_keys)[key_id] = key

        if not seal_keys:
            raise CryptoError("the stored keyring has no seal key")
        # One index key, always: a second one would silently break every existing lookup.
        if len(index_keys) != 1:
            raise CryptoError("the stored keyring must have exactly one index key")
        if current_key_id is None:
            current = max(seal_keys)
        elif current_key_id in seal_keys and not isinstance(current_key_id, bool):
            current = current_key_id
        else:
            raise CryptoError("current_key_id is not a seal key in this keyring")
        return cls(seal_keys, index_keys, current, by_slot)

    # -- rotation -------------------------------------------------------------------------------

    @property
    def current_key_id(self) -> int:
        """The seal key id new envelopes are sealed with."""
        return self._current

    @property
    def seal_key_ids(self) -> list[int]:
        return sorted(self._seal_keys)

    def add_seal_key(self, kek: SecretKey) -> WrappedKey:
        """Add a new seal key (next id) and make it current; returns its wrapped form.

        Persist the returned key *before* sealing anything with it (ideally in the same
        transaction as the first write), or those values become unreadable after a restart.
        ``kek`` must be the KEK this keyring is stored under: it is checked against an existing
        wrapped key, because a key wrapped under any other KEK would make the next unlock fail.
        """
        self._verify_kek(kek)
        key_id = max(self._seal_keys) + 1
        if key_id > _MAX_KEY_ID:
            raise CryptoError("no seal key ids left")
        key = SecretKey.generate()
        wrapped = _wrap(kek, PURPOSE_SEAL, key_id, key)
        self._seal_keys[key_id] = key
        self._wrapped[(PURPOSE_SEAL, key_id)] = wrapped
        self._current = key_id
        return wrapped

    def with_new_index_key(self, kek: SecretKey) -> tuple[Keyring, WrappedKey]:
        """A copy of this keyring with a new index key (next id) in place of the old one.

        For after a seizure: the old index key lets whoever holds it test a guessed Telegram id or
        name against any later copy of the database. Every keyed hash has to be recomputed with
        the new key in the same transaction that stores it and deletes the old one; until then this
        keyring keeps working with the old key. ``kek`` is checked as for :meth:`add_seal_key`.
        """
        self._verify_kek(kek)
        (old_id,) = self._index_keys
        key_id = old_id + 1
        if key_id > _MAX_KEY_ID:
            raise CryptoError("no index key ids left")
        key = SecretKey.generate()
        wrapped = _wrap(kek, PURPOSE_INDEX, key_id, key)
        slots = {slot: item for slot, item in self._wrapped.items() if slot[0] != PURPOSE_INDEX}
        slots[(PURPOSE_INDEX, key_id)] = wrapped
        return Keyring(dict(self._seal_keys), {key_id: key}, self._current, slots), wrapped

    @property
    def index_key_id(self) -> int:
        (key_id,) = self._index_keys
        return key_id

    def rewrap(self, new_kek: SecretKey) -> list[WrappedKey]:
        """Wrap the same data keys under a new KEK (passphrase change); nothing is re-sealed.

        Replace *all* stored wrapped keys, the salt and the KDF parameters with the new ones in a
        single transaction. From now on :meth:`add_seal_key` expects ``new_kek``.
        """
        _check_kek(new_kek)
        wrapped = [_wrap(new_kek, PURPOSE_SEAL, i, k) for i, k in sorted(self._seal_keys.items())]
        wrapped += [_wrap(new_kek, PURPOSE_INDEX, i, k) for i, k in sorted(self._index_keys.items())]
        self._wrapped = {(w.purpose, w.key_id): w for w in wrapped}
        return wrapped

    def _verify_kek(self, kek: SecretKey) -> None:
        _check_kek(kek)
        (index_id,) = self._index_keys
        if _unwrap(kek, self._wrapped[(PURPOSE_INDEX, index_id)]) != self._index_keys[index_id]:
            raise WrongPassphrase()

    @staticmethod
    def key_id_of(envelope: bytes) -> int:
        """The seal key id an envelope was sealed with (no decryption; for rotation scans)."""
        data = _envelope_bytes(envelope)
        if data is None or len(data) < _MIN_ENVELOPE_LEN or data[0] != _ENVELOPE_VERSION:
            raise CryptoError("not a sealed envelope (too short or unknown version)")
        return int.from_bytes(data[1 : 1 + _KEY_ID_LEN], "big")

    # -- sealing --------------------------------------------------------------------------------

    def _aead(self, key_id: int, table: str, column: str, table_b: bytes, column_b: bytes) -> AESGCM:
        cache_key = (key_id, table, column)
        aead = self._aead_cache.get(cache_key)
        if aead is None:
            subkey = _hkdf(self._seal_keys[key_id], _SEAL_INFO_PREFIX + table_b + b"|" + column_b)
            aead = self._aead_cache[cache_key] = AESGCM(subkey)
        return aead

    def seal(self, plaintext: str | bytes, *, table: str, column: str, row_id: int | str) -> bytes:
        """Encrypt ``plaintext`` for exactly this table, column and row. Returns the envelope."""
        table_b = _check_name(table, "table name")
        column_b = _check_name(column, "column name")
        aad = _SEAL_AAD_PREFIX + table_b + b"|" + column_b + b"|" + _row_id_bytes(row_id)
        if isinstance(plaintext, str):
            try:
                body = bytes([_TYPE_TEXT]) + plaintext.encode("utf-8")
            except UnicodeEncodeError:
                raise CryptoError(f"text for {table}.{column} is not valid Unicode") from None
        elif isinstance(plaintext, bytes | bytearray | memoryview):
            body = bytes([_TYPE_BYTES]) + bytes(plaintext)
        else:
            raise TypeError(f"can only seal str or bytes, not {type(plaintext).__name__}")
        key_id = self._current
        nonce = os.urandom(NONCE_LEN)
        ct = self._aead(key_id, table, column, table_b, column_b).encrypt(nonce, body, aad)
        return bytes([_ENVELOPE_VERSION]) + key_id.to_bytes(_KEY_ID_LEN, "big") + nonce + ct

    def _open_tagged(self, envelope: bytes, table: str, column: str, row_id: int | str) -> tuple[int, bytes]:
        table_b = _check_name(table, "table name")
        column_b = _check_name(column, "column name")
        aad = _SEAL_AAD_PREFIX + table_b + b"|" + column_b + b"|" + _row_id_bytes(row_id)
        data = _envelope_bytes(envelope)
        # Every failure below gets the same message: the reason is of no use to a reader of the
        # logs, and the value's contents must not reach them.
        if data is None or len(data) < _MIN_ENVELOPE_LEN or data[0] != _ENVELOPE_VERSION:
            raise OpenFailed(table, column)
        key_id = int.from_bytes(data[1 : 1 + _KEY_ID_LEN], "big")
        if key_id not in self._seal_keys:
            raise OpenFailed(table, column)
        nonce, ct = data[1 + _KEY_ID_LEN : _HEADER_LEN], data[_HEADER_LEN:]
        try:
            body = self._aead(key_id, table, column, table_b, column_b).decrypt(nonce, ct, aad)
        except InvalidTag:
            raise OpenFailed(table, column) from None
        if not body or body[0] not in (_TYPE_BYTES, _TYPE_TEXT):
            raise OpenFailed(table, column)
        return body[0], body[1:]

    def open(self, envelope: bytes, *, table: str, column: str, row_id: int | str) -> bytes:
        """Decrypt an envelope sealed from bytes. Raises :class:`OpenFailed` on any problem."""
        kind, value = self._open_tagged(envelope, table, column, row_id)
        if kind != _TYPE_BYTES:
            raise OpenFailed(table, column, f"{table}.{column} holds text; use open_text()")
        return value

    def open_text(self, envelope: bytes, *, table: str, column: str, row_id: int | str) -> str:
        """Decrypt an envelope sealed from str. Raises :class:`OpenFailed` on any problem."""
        kind, value = self._open_tagged(envelope, table, column, row_id)
        if kind != _TYPE_TEXT:
            raise OpenFailed(table, column, f"{table}.{column} holds bytes; use open()")
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise OpenFailed(table, column) from None

    def seal_optional(
        self, plaintext: str | bytes | None, *, table: str, column: str, row_id: int | str
    ) -> bytes | None:
        """:meth:`seal`, except that None (SQL NULL) stays None."""
        if plaintext is None:
            return None
        return self.seal(plaintext, table=table, column=column, row_id=row_id)

    def open_optional(
        self, envelope: bytes | None, *, table: str, column: str, row_id: int | str
    ) -> bytes | None:
        """:meth:`open`, except that None (SQL NULL) stays None."""
        if envelope is None:
            return None
        return self.open(envelope, table=table, column=column, row_id=row_id)

    def open_text_optional(
        self, envelope: bytes | None, *, table: str, column: str, row_id: int | str
    ) -> str | None:
        """:meth:`open_text`, except that None (SQL NULL) stays None."""
        if envelope is None:
            return None
        return self.open_text(envelope, table=table, column=column, row_id=row_id)

    # -- blind indexes --------------------------------------------------------------------------

    def blind_index(self, purpose: str, value: str | bytes) -> bytes:
        """Keyed, deterministic 32-byte digest of ``value`` for equality lookups.

        HMAC-SHA256 under a subkey of the index key that depends on ``purpose``, so indexes of
        different purposes cannot be correlated. Without the index key an attacker cannot test
        guesses, even for low-entropy values. Text is hashed as UTF-8 exactly as given: canonicalise
        it first (strip, casefold, NFC, …) if lookups should ignore such differences.
        """
        purpose_b = _check_name(purpose, "blind index purpose")
        if isinstance(value, str):
            try:
                data = value.encode("utf-8")
            except UnicodeEncodeError:
                raise CryptoError(f"value for blind index {purpose!r} is not valid Unicode") from None
        elif isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
        else:
            raise TypeError(f"can only index str or bytes, not {type(value).__name__}")
        subkey = self._index_cache.get(purpose)
        if subkey is None:
            (index_key,) = self._index_keys.values()
            subkey = self._index_cache[purpose] = _hkdf(index_key, _INDEX_INFO_PREFIX + purpose_b)
        mac = crypto_hmac.HMAC(subkey, hashes.SHA256())
        mac.update(data)
        return mac.finalize()

    def hash_secret(self, purpose: str, value: str | bytes) -> bytes:
        """Hash a secret that is only ever compared, never read back (e.g. invite codes).

        Same construction as :meth:`blind_index`; a keyed hash, so short codes cannot be brute-
        forced from a stolen database without the keyring. Use a purpose of its own.
        """
        return self.blind_index(purpose, value)

    # -- hygiene --------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"Keyring(seal={sorted(self._seal_keys)}, index={sorted(self._index_keys)}, "
            f"current={self._current})"
        )

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("Keyring cannot be pickled or copied")


def _check_kek(kek: object) -> None:
    if not isinstance(kek, SecretKey):
        raise TypeError("kek must be a SecretKey (see derive_kek)")


def _envelope_bytes(envelope: object) -> bytes | None:
    if isinstance(envelope, bytes):
        return envelope
    if isinstance(envelope, bytearray | memoryview):
        return bytes(envelope)
    return None


# Backups ---------------------------------------------------------------------------------------------
# A backup is the whole database file sealed in one piece under a key derived from the passphrase with
# a fresh salt, so it opens with the passphrase alone, on a new machine, after the server is gone:
#   b"PBBACKUP" | version 1 | 2-byte length + KDF params JSON | 16-byte salt | 12-byte nonce | AES-GCM
# The header is authenticated as associated data, so no field of it can be changed unnoticed.

_BACKUP_MAGIC = b"PBBACKUP"
_BACKUP_VERSION = 1


def seal_backup(data: bytes, passphrase: str, params: KdfParams = DEFAULT_KDF) -> bytes:
    salt = new_salt()
    key = derive_kek(passphrase, salt, params)
    params_json = params.to_json().encode()
    header = _BACKUP_MAGIC + bytes([_BACKUP_VERSION]) + len(params_json).to_bytes(2, "big") + params_json + salt
    nonce = os.urandom(NONCE_LEN)
    return header + nonce + AESGCM(key._key).encrypt(nonce, data, header)


def open_backup(blob: bytes, passphrase: str) -> bytes:
    """The database bytes; WrongPassphrase if the passphrase or any byte of the file is wrong."""
    if not blob.startswith(_BACKUP_MAGIC) or len(blob) < len(_BACKUP_MAGIC) + 3:
        raise CryptoError("not a parcelbot backup file")
    offset = len(_BACKUP_MAGIC)
    if blob[offset] != _BACKUP_VERSION:
        raise CryptoError("unknown backup version")
    length = int.from_bytes(blob[offset + 1:offset + 3], "big")
    start = offset + 3
    params = KdfParams.from_json(blob[start:start + length])
    salt_end = start + length + SALT_LEN
    if len(blob) < salt_end + NONCE_LEN + 16:  # cut off before its tag: damaged, whatever the passphrase
        raise WrongPassphrase("the backup does not open with this passphrase, or it is damaged")
    header, nonce = blob[:salt_end], blob[salt_end:salt_end + NONCE_LEN]
    key = derive_kek(passphrase, blob[start + length:salt_end], params)
    try:
        return AESGCM(key._key).decrypt(nonce, blob[salt_end + NONCE_LEN:], header)
    except InvalidTag:
        raise WrongPassphrase("the backup does not open with this passphrase, or it is damaged") from None
