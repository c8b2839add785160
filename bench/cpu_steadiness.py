"""Does this machine give a process a steady CPU? A plain loop's rate per 10 ms window.

One process counts how many small pieces of pure Python work it gets through in each 10 ms
window for a while (no I/O, no allocation to speak of) and prints the windows below half the
median rate. On a steady machine there are none. On a VM whose host takes cores away without
reporting steal time, they come in stretches of 100-300 ms: every request running then takes
several times its CPU time, which shows as p99 latency no code change can remove.

Usage::

    python bench/cpu_steadiness.py [--seconds 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

WINDOW = 0.01


def rates(seconds: float) -> dict[int, int]:
    """Pieces of work done per 10 ms window."""
    done: dict[int, int] = {}
    start = time.perf_counter()
    while (now := time.perf_counter()) - start < seconds:
        window = int((now - start) / WINDOW)
        total = 0
        for i in range(200):
            total += i
        done[window] = done.get(window, 0) + 1
    return done


def slow_share(seconds: float = 3.0) -> float:
    """The share of 10 ms windows in which a plain loop ran below half its median rate."""
    done = rates(seconds)
    median = statistics.median(done.values())
    return sum(1 for n in done.values() if n < median / 2) / len(done)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    done = rates(args.seconds)
    median = statistics.median(done.values())
    slow = [(window * WINDOW, n / median) for window, n in sorted(done.items()) if n < median / 2]
    print(f"{len(done)} windows of 10 ms; median {median:.0f} pieces of work per window")
    print(f"{len(slow)} windows below half of it ({len(slow) / len(done):.1%} of the time)")
    for at, share in slow[:30]:
        print(f"  at {at:7.2f} s: {share:4.0%} of the median rate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
