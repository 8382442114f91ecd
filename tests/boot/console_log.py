#!/usr/bin/env python3
"""--console-log FILE gets a copy of everything the guest prints, appended."""
import os
import subprocess
import sys
import tempfile

atoll, image = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    log = os.path.join(tmp, "console.log")
    for _ in range(2):
        r = subprocess.run([atoll, "run", "--console-log", log, image], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=30)
        if r.returncode != 0 or "Hello from Atoll!" not in r.stdout:
            print(f"FAILED: run exited {r.returncode}: {r.stdout}{r.stderr}")
            sys.exit(1)
    text = open(log).read()
    print(text)
    if text.count("Hello from Atoll!") != 2:
        print("FAILED: the log should hold both runs' output")
        sys.exit(1)
    bad = subprocess.run([atoll, "run", "--console-log", "/nonexistent/dir/log", image], capture_output=True, text=True)
    if bad.returncode != 125 or "console log" not in bad.stderr:
        print(f"FAILED: an unwritable log should be a clear error, got {bad.returncode}: {bad.stderr}")
        sys.exit(1)
print("ok")
