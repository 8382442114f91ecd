#!/usr/bin/env python3
"""Every numeric option of `atoll run` refuses a bad value with exit status 125
and a message naming the option (and its range where it has one), and a good
value still boots. Pins issue 12's `--max-restarts abc` (an uncaught
std::invalid_argument) and `--max-restarts -1` (taken as 4294967295).

    bad_numbers.py ATOLL IMAGE
"""
import subprocess
import sys

# (arguments before IMAGE, a piece the error message must contain)
BAD = [
    (["--max-restarts", "abc"], "--max-restarts takes a whole number from 0 to 1000000, not `abc`"),
    (["--max-restarts", "-1"], "--max-restarts takes a whole number from 0 to 1000000, not `-1`"),
    (["--max-restarts", ""], "--max-restarts takes a whole number"),
    (["--max-restarts", "1000001"], "--max-restarts takes a whole number from 0 to 1000000"),
    (["--max-restarts", "99999999999999999999999"], "--max-restarts takes a whole number"),
    (["--max-restarts", " 3"], "--max-restarts takes a whole number"),
    (["--busy-poll", "10001"], "--busy-poll takes a whole number from 0 to 10000, not `10001`"),
    (["--busy-poll", "-5"], "--busy-poll takes a whole number from 0 to 10000"),
    (["--busy-poll", "1e3"], "--busy-poll takes a whole number from 0 to 10000"),
    (["-m", "abc"], "-m takes a size from 1M to 3840M"),
    (["--memory", "-16M"], "--memory takes a size from 1M to 3840M"),
    (["--memory", "0"], "--memory takes a size from 1M to 3840M"),
    (["--memory", "1.5M"], "--memory takes a size from 1M to 3840M"),
    (["--memory", "16T"], "--memory takes a size from 1M to 3840M"),
    (["--memory", "4G"], "--memory takes a size from 1M to 3840M"),
    (["--memory", "18446744073709551615G"], "--memory takes a size from 1M to 3840M"),
    (["--memory", "4097K"], "--memory takes a size from 1M to 3840M in whole 4K pages"),
    (["-p", "99999:80"], "cannot read --publish 99999:80 (try 8080:80 or 127.0.0.1:5353:53/udp; ports are 1 to 65535)"),
    (["-p", "8080:0"], "cannot read --publish 8080:0"),
    (["-p", "8080:-80"], "cannot read --publish 8080:-80"),
    (["-p", "8080:80x"], "cannot read --publish 8080:80x"),
    (["--net", "user,hostfwd=tcp::70000-:80"], "cannot read hostfwd=tcp::70000-:80 (try tcp:127.0.0.1:8080-:80; ports are 1 to 65535)"),
    (["--net", "user,rate=0x10MB/s"], "cannot read rate=0x10MB/s"),
    (["--net", "user,rate=1e3Mb/s"], "cannot read rate=1e3Mb/s"),
    (["--net", "user,rate= 5Mb/s"], "cannot read rate= 5Mb/s"),
    (["--net", "user,rate=5Mb/s@1e1ms"], "cannot read rate=5Mb/s@1e1ms"),
    (["--net", "tap=t0,ip=10.0.0.2/33"], "cannot read ip=10.0.0.2/33 (try 10.0.0.2/24; the prefix is 1 to 32)"),
    (["--net", "tap=t0,ip=10.0.0.2/+8"], "cannot read ip=10.0.0.2/+8"),
    (["--disk", "d.img,queues=17"], "queues=N with N from 1 to 16"),
    (["--disk", "d.img,queues=-1"], "queues=N with N from 1 to 16"),
    (["--disk", "d.img,queues=4294967300"], "queues=N with N from 1 to 16"),
]


def run(atoll, args, image):
    return subprocess.run([atoll, "run"] + args + [image], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30)


def main() -> int:
    atoll, image = sys.argv[1], sys.argv[2]
    failures = []
    for args, message in BAD:
        try:
            r = run(atoll, args, image)
        except subprocess.TimeoutExpired:
            failures.append(f"{args}: still running after 30 s (the value was taken)")
            continue
        if r.returncode != 125 or message not in r.stderr:
            failures.append(f"{args}: exit status {r.returncode}, stderr {r.stderr.strip()!r}; "
                            f"expected 125 and {message!r}")
        elif "Try `atoll run --help`" not in r.stderr:
            failures.append(f"{args}: no pointer to --help in {r.stderr.strip()!r}")
    # The readers still take good values, at the ends of their ranges.
    good = ["-m", "16384K", "--max-restarts", "0", "--busy-poll", "10000"]
    r = run(atoll, good, image)
    if r.returncode != 0:
        failures.append(f"{good}: exit status {r.returncode}, stderr {r.stderr.strip()!r}; expected 0")
    for f in failures:
        print("FAILED: " + f)
    print(f"{len(BAD) + 1 - len(failures)} of {len(BAD) + 1} cases as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
