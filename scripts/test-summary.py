#!/usr/bin/env python3
"""Prints `N passed, N failed, N skipped` from meson's testlog.json."""
import json
import sys

counts = {"passed": 0, "failed": 0, "skipped": 0}
try:
    with open(sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.json") as f:
        for line in f:
            result = json.loads(line).get("result", "")
            if result in ("OK", "EXPECTEDFAIL"):
                counts["passed"] += 1
            elif result == "SKIP":
                counts["skipped"] += 1
            else:
                counts["failed"] += 1
except FileNotFoundError:
    counts["failed"] = 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
