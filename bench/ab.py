#!/usr/bin/env python3
"""bench/ab.py: two commands timed in turns, for a ratio that the machine's
drift does not decide.

    bench/ab.py [--pairs N] [--warmup W] [--json FILE] -- A... -- B...

Runs A and B as pairs, N times, each pair in a random order, so a burst of
other work on the machine falls on both alike (hyperfine runs all of one
command, then all of the other, and on a shared VM whose medians move by
+-15 % between minutes that decides the ratio). Each run is a fork+exec+wait
timed with CLOCK_MONOTONIC; its CPU time (user + system of it and every
descendant it waited for) comes from RUSAGE_CHILDREN.

Prints one line of figures and, with --json, writes them: the medians of A
and B, the ratio of the medians with a 95 % bootstrap interval (2,000
resamples of the pairs), the median of the per-pair ratios, and the mean CPU
time of each. A run that exits non-zero stops the measurement.
"""
import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time


def timed(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic_ns()
    rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = (time.monotonic_ns() - t0) / 1e6
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        sys.exit(f"ab.py: {' '.join(cmd)} exited with {rc}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3
    return wall, cpu


def measure(a, b, pairs, warmup, seed=1):
    rng = random.Random(seed)
    for _ in range(warmup):
        timed(a)
        timed(b)
    wa, wb, ca, cb = [], [], [], []
    for _ in range(pairs):
        if rng.random() < 0.5:
            x, y = timed(a), timed(b)
        else:
            y, x = timed(b), timed(a)
        wa.append(x[0]); ca.append(x[1])
        wb.append(y[0]); cb.append(y[1])
    med = statistics.median
    ratios = sorted(med([wb[i] for i in s]) / med([wa[i] for i in s])
                    for s in ([rng.randrange(pairs) for _ in range(pairs)] for _ in range(2000)))
    return {
        "pairs": pairs,
        "a_median_ms": med(wa), "b_median_ms": med(wb),
        "ratio": med(wb) / med(wa),
        "ratio_low": ratios[50], "ratio_high": ratios[1949],
        "median_pair_ratio": med([y / x for x, y in zip(wa, wb)]),
        "a_cpu_ms": statistics.mean(ca), "b_cpu_ms": statistics.mean(cb),
    }


def main():
    argv = sys.argv[1:]
    if argv.count("--") != 2:
        sys.exit(__doc__)
    first = argv.index("--")
    second = argv.index("--", first + 1)
    p = argparse.ArgumentParser(usage="ab.py [--pairs N] [--warmup W] [--json FILE] -- A... -- B...")
    p.add_argument("--pairs", type=int, default=200)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--json")
    opts = p.parse_args(argv[:first])
    a, b = argv[first + 1:second], argv[second + 1:]
    if not a or not b:
        sys.exit("ab.py: give both commands: -- A... -- B...")
    r = measure(a, b, opts.pairs, opts.warmup)
    print(f"A {r['a_median_ms']:.3f} ms, B {r['b_median_ms']:.3f} ms (medians of {r['pairs']} pairs): "
          f"B/A {r['ratio']:.3f} (95 % {r['ratio_low']:.3f}-{r['ratio_high']:.3f}), "
          f"median pair ratio {r['median_pair_ratio']:.3f}; CPU A {r['a_cpu_ms']:.2f} ms, B {r['b_cpu_ms']:.2f} ms")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(r, f)


if __name__ == "__main__":
    main()
