"""The ids of the latest messages in each private chat, in memory only, so that a panic or a freeze can
delete what the bot sent and received there in the last 47 hours, not only the details it tracks.

Telegram lets a bot delete any message of a private chat younger than 48 hours, but cannot list a
chat's messages: the bot has to remember their ids. Only ids and times (never text), in memory, at
most `per_chat` per chat and `chats` chats, the least recently used forgotten first. A clean stop
(a deploy, a reboot) keeps them sealed in the database until the next start reads and deletes them
(bot/app.py); a crash loses them, and then only the tracked messages go. The transport notes every message it sees go
by (handlers/transport.py): what the bot sent, and what members and strangers wrote.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import Clock

KEEP = timedelta(hours=47)  # Telegram's limit is 48 h; an hour to spare, as for tracked messages


class RecentMessages:
    def __init__(self, clock: Clock, *, per_chat: int = 300, chats: int = 5000) -> None:
        self._clock = clock
        self._per_chat = per_chat
        self._chats = chats
        self._ids: OrderedDict[int, deque[tuple[int, datetime]]] = OrderedDict()

    def note(self, chat_id: int, message_id: int, written_at: datetime | None = None) -> None:
        """`written_at`: the message's own date. An update that waited at Telegram while the bot was down
        is aged from when it was written, since Telegram's 48 hours count from then."""
        now = self._clock.now()
        at = min(now, written_at) if written_at is not None else now
        ids = self._ids.get(chat_id)
        if ids is None:
            ids = self._ids[chat_id] = deque(maxlen=self._per_chat)
            if len(self._ids) > self._chats:
                self._ids.popitem(last=False)
        else:
            self._ids.move_to_end(chat_id)
        ids.append((message_id, at))

    def forget(self, chat_id: int) -> None:
        """A stranger's chat (or a frozen member's): nothing of it is kept, not even in memory."""
        self._ids.pop(chat_id, None)

    def take(self, chat_id: int) -> list[int]:
        """Every id noted in the chat in the last 47 hours, oldest first; the chat is forgotten."""
        since = self._clock.now() - KEEP
        return sorted({message_id for message_id, at in self._ids.pop(chat_id, ()) if at >= since})

    def export(self) -> dict[str, list[list[int]]]:
        """What a clean stop keeps for the next start: per chat, [message id, Unix time] of the last 47
        hours, least recently used chat first (the caller seals it)."""
        since = self._clock.now() - KEEP
        kept = {str(chat_id): [[message_id, int(at.timestamp())] for message_id, at in ids if at >= since]
                for chat_id, ids in self._ids.items()}
        return {chat_id: ids for chat_id, ids in kept.items() if ids}

    def load(self, saved: dict[str, list[list[int]]]) -> None:
        """An export read back at start-up; what is noted since keeps its place after it."""
        for chat_id, ids in saved.items():
            for message_id, at in ids:
                self.note(int(chat_id), int(message_id), datetime.fromtimestamp(at, UTC))

    def observe(self, result: Any) -> None:
        """A Bot API answer's result: a message the bot sent or edited, or getUpdates' list of updates."""
        if isinstance(result, dict):
            self._message(result)
        elif isinstance(result, list):
            for update in result:
                if isinstance(update, dict):
                    self._message(update.get("message"))
                    self._message(update.get("edited_message"))

    def _message(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        chat, message_id = message.get("chat"), message.get("message_id")
        if isinstance(chat, dict) and chat.get("type") == "private" and isinstance(message_id, int):
            chat_id, date = chat.get("id"), message.get("date")
            if isinstance(chat_id, int):
                self.note(chat_id, message_id, datetime.fromtimestamp(date, UTC) if isinstance(date, int) else None)
