#!/usr/bin/env python3
"""Times two newsdedup binaries at -j1 and -j2 in alternating rounds.

    bench/alternate.py ROUNDS OLD NEW ARGS...

Each round runs OLD and NEW at -j1, then at -j2 (ARGS, then -jN, are passed
to both), and flips which binary goes first from one round to the next: on
this project's VM the second run of a pair is often the slower one, so a
fixed order favours the binary that runs first. Prints each round's four
wall times (old -j1, new -j1, old -j2, new -j2, in seconds), then the
medians, the medians of the per-round ratios (scaling: -j1 time / -j2 time
of one binary; speed-up: old time / new time) and the scaling by the
medians and by the fastest runs.
"""
import statistics
import subprocess
import sys
import time


def run(binary, args, threads):
    start = time.perf_counter()
    subprocess.run([binary, *args, f"-j{threads}"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, old, new, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    rows = []
    for r in range(rounds):
        order = (old, new) if r % 2 == 0 else (new, old)
        t = {}
        for threads in (1, 2):
            for binary in order:
                t[binary, threads] = run(binary, args, threads)
        row = (t[old, 1], t[new, 1], t[old, 2], t[new, 2])
        rows.append(row)
        print(" ".join(f"{x:.3f}" for x in row), flush=True)

    def median(f):
        return statistics.median(f(row) for row in rows)

    def fastest(k):
        return min(row[k] for row in rows)

    print(f"rounds {rounds}; medians: old -j1 {median(lambda r: r[0]):.3f} "
          f"-j2 {median(lambda r: r[2]):.3f} | new -j1 {median(lambda r: r[1]):.3f} "
          f"-j2 {median(lambda r: r[3]):.3f}")
    print(f"scaling (median of rounds): old {median(lambda r: r[0] / r[2]):.3f} "
          f"new {median(lambda r: r[1] / r[3]):.3f}; by medians: old "
          f"{median(lambda r: r[0]) / median(lambda r: r[2]):.3f} new "
          f"{median(lambda r: r[1]) / median(lambda r: r[3]):.3f}; by fastest runs: "
          f"old {fastest(0) / fastest(2):.3f} new {fastest(1) / fastest(3):.3f}")
    print(f"speed-up new/old (median of rounds): -j1 "
          f"{median(lambda r: r[0] / r[1]):.3f} -j2 {median(lambda r: r[2] / r[3]):.3f}")


if __name__ == "__main__":
    main()
