#!/usr/bin/env python3
"""One process of bench/reads' hashing ceiling: argon2id verifies (PyPI argon2-cffi, the
reference C implementation) with the given parameters, back to back, from --start (a wall-clock
time, so that the processes of a run start together) for --seconds. Prints one JSON line:
{"verifies": n, "seconds": s}. bench/reads/bench.py starts as many as the server has hashing
threads."""

from __future__ import annotations

import argparse
import json
import time

from argon2 import PasswordHasher, Type


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--memory-kib", type=int, required=True)
    ap.add_argument("--iterations", type=int, required=True)
    ap.add_argument("--parallelism", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--start", type=float, default=0.0, help="time.time() to begin at")
    a = ap.parse_args()
    hasher = PasswordHasher(time_cost=a.iterations, memory_cost=a.memory_kib,
                            parallelism=a.parallelism, hash_len=32, salt_len=16, type=Type.ID)
    password = "login-password-0"
    encoded = hasher.hash(password)
    wait = a.start - time.time()
    if wait > 0:
        time.sleep(wait)
    n = 0
    t0 = time.perf_counter()
    end = t0 + a.seconds
    while time.perf_counter() < end:
        hasher.verify(encoded, password)
        n += 1
    print(json.dumps({"verifies": n, "seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
