"""Inbound limits per member: commands per minute, list views per hour, claims per day, bad codes.

Kept in memory on purpose: counters of who did what when are exactly the data we do not want on
disk, and a restart that forgets them only gives a flooder a fresh minute.
"""

from __future__ import annotations

from collections import defaultdict, deque
from enum import Enum

from bot.clock import Clock


class Verdict(Enum):
    OK = "ok"
    SLOW_DOWN = "slow_down"
    ANOMALY = "anomaly"  # far past the limit: tell coordinators once per window


class InboundLimiter:
    ANOMALY_FACTOR = 3

    def __init__(self, clock: Clock, limits: dict[str, tuple[int, float]]) -> None:
        """limits: kind -> (how many, per how many seconds)."""
        self._clock = clock
        self._limits = limits
        self._hits: dict[tuple[object, str], deque[float]] = defaultdict(deque)
        self._alerted: dict[tuple[object, str], float] = {}

    def hit(self, key: object, kind: str) -> Verdict:
        allowed, window = self._limits[kind]
        now = self._clock.now().timestamp()
        hits = self._hits[(key, kind)]
        while hits and hits[0] <= now - window:
            hits.popleft()
        hits.append(now)
        if len(hits) <= allowed:
            return Verdict.OK
        if len(hits) > allowed * self.ANOMALY_FACTOR:
            last = self._alerted.get((key, kind))
            if last is None or last <= now - window:
                self._alerted[(key, kind)] = now
                return Verdict.ANOMALY
        # Keep the deque bounded: a flood must not grow memory without limit.
        while len(hits) > allowed * self.ANOMALY_FACTOR + 1:
            hits.popleft()
        return Verdict.SLOW_DOWN

    def blocked(self, key: object, kind: str) -> bool:
        """True when `kind` is already over its limit, without counting a new hit."""
        allowed, window = self._limits[kind]
        now = self._clock.now().timestamp()
        hits = self._hits.get((key, kind))
        return bool(hits) and sum(1 for at in hits if at > now - window) >= allowed

    def forget(self, key: object) -> None:
        for pair in [pair for pair in self._hits if pair[0] == key]:
            del self._hits[pair]
