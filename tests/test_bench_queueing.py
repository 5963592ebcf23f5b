"""bench/queueing.py's model agrees with queueing theory where theory has a closed form.

With exponential service (cv 1) the M/G/1 queue is M/M/1, whose time in the system is exponential
with rate mu - lambda: p50 = ln 2 / (mu - lambda), p99 = ln 100 / (mu - lambda). The README's claim
about the p99 floor on one core rests on this simulation, so it is checked against that.
"""

from __future__ import annotations

import math

from bench.queueing import sojourn_percentiles


def test_exponential_service_matches_the_m_m_1_formula():
    rate, mean_s = 200.0, 0.002  # 200 updates/s at 2 ms each: mu - lambda = 300/s
    p50, p99 = sojourn_percentiles(rate, mean_s, cv=1.0)
    assert math.isclose(p50, math.log(2) / 300, rel_tol=0.05)
    assert math.isclose(p99, math.log(100) / 300, rel_tol=0.05)


def test_steadier_service_queues_less_and_light_load_barely_queues():
    _, steady = sojourn_percentiles(200.0, 0.002, cv=0.5)
    _, bursty = sojourn_percentiles(200.0, 0.002, cv=1.0)
    assert steady < bursty
    _, light = sojourn_percentiles(1.0, 0.002, cv=0.5, updates=20_000)
    assert light < 0.002 * 3  # hardly any waiting: about the service time's own p99 (2.5 x its mean)
