#!/usr/bin/env python3
"""`atoll create CFG [-n] [KEY=VALUE...]` (docs/config.md). With -n a good
config is printed resolved (exit 0) and the resolved text reads back the same;
every bad one exits 125 with one line naming the file, the line and the key, and
starts nothing; overrides from the command line are named as such; the example
config in docs/ stays good. Without -n the domain runs as `atoll run` with the
equivalent flags runs it: the guest sees the same argv and exits the same way.

    create_config.py ATOLL HELLO_IMAGE EXAMPLE_CFG
"""
import os
import subprocess
import sys
import tempfile

GOOD = """# a test domain
name = 'web'
kernel = '{kernel}'
memory = 32; maxmem = 64
vcpus = 1
args = [ 'one', 'two words' ]
vif = [ 'bridge=lan,mac=00:16:3e:00:00:07',
        'user,hostfwd=tcp:127.0.0.1:18080-:80', ]
disk = [ 'data.img,,xvdb,ro', 'vdev=xvda, direct, target=data.img' ]
on_crash = 'restart'
max_restarts = 2
"""

# (config lines after `kernel = ...`, overrides, the error after "atoll: ")
BAD = [
    ("memory = 'lots'", [], "vm.cfg:2: memory: takes a whole number of MiB from 1 to 3840, not 'lots'"),
    ("\n\nvcpus = 2", [], "vm.cfg:4: vcpus: an atoll domain has exactly 1 vCPU: takes 1, not 2"),
    ("colour = 'blue'", [], "vm.cfg:2: colour: unknown key (atoll takes name,"),
    ("memory = 16\nmemory = 32", [], "vm.cfg:3: memory: set twice (first on line 2; += adds to a list)"),
    ("disk = [ 'data.img',\n  'missing.img' ]", [], "vm.cfg:3: disk: cannot use {dir}/missing.img: No such file or directory"),
    ("vif = [ 'user,model=e1000' ]", [], "vm.cfg:2: vif: 'user,model=e1000': unknown vif item `model=e1000`"),
    ("on_crash = 'coredump-destroy'", [], "vm.cfg:2: on_crash: takes destroy, restart or preserve, not 'coredump-destroy'"),
    ("memory = lots", [], "vm.cfg:2: memory: a value is a number, a 'string' or a [ list ], not the bare word `lots`"),
    ("", ["memory=lots"], "command line: memory: takes a whole number of MiB from 1 to 3840, not 'lots'"),
    ("", ["kernel=nothere"], "command line: kernel: cannot use {cwd}/nothere: No such file or directory"),
    ("", ["memory"], "command line: `memory` is not KEY=VALUE"),
]


def check_config(atoll, args, cwd):
    return subprocess.run([atoll, "create", "-n"] + args, capture_output=True, text=True, cwd=cwd,
                          stdin=subprocess.DEVNULL, timeout=30)


def guest_lines(stdout):
    """What the hello appliance says about its arguments (not the time)."""
    return [line for line in stdout.splitlines() if line.startswith(("argc", "argv"))]


def same_as_run(atoll, kernel, d, failures):
    """create and run, with the same domain said two ways, boot the same guest."""
    with open(os.path.join(d, "hello.cfg"), "w") as f:
        f.write(f"kernel = '{kernel}'\nname = 'greeter'\nvif = []\ncmdline = 'one \"two words\" three'\n")
    created = subprocess.run([atoll, "create", "hello.cfg", "memory=8"], capture_output=True, text=True, cwd=d,
                             stdin=subprocess.DEVNULL, timeout=60)
    ran = subprocess.run([atoll, "run", "--name", "greeter", "-m", "8M", "--net", "none", kernel, "--", "one",
                          "two words", "three"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    if created.returncode != 0 or created.returncode != ran.returncode:
        failures.append(f"create: exit {created.returncode} ({created.stderr.strip()!r}), run: exit {ran.returncode}")
    elif guest_lines(created.stdout) != guest_lines(ran.stdout) or len(guest_lines(ran.stdout)) != 5:
        failures.append(f"create said {guest_lines(created.stdout)}, run said {guest_lines(ran.stdout)}")


def main() -> int:
    atoll, kernel, example = (os.path.abspath(a) for a in sys.argv[1:4])
    failures = []
    with tempfile.TemporaryDirectory() as d:
        d = os.path.realpath(d)
        with open(os.path.join(d, "data.img"), "wb") as f:
            f.truncate(1 << 20)
        cfg = os.path.join(d, "vm.cfg")
        with open(cfg, "w") as f:
            f.write(GOOD.format(kernel=kernel))
        r = check_config(atoll, ["vm.cfg", "memory=48"], d)
        if r.returncode != 0:
            failures.append(f"good config: exit {r.returncode}, stderr {r.stderr.strip()!r}")
        else:
            for piece in ["# atoll run --name web --memory 49152K", "name = 'web'", "memory = 48", "maxmem = 64", f"kernel = '{kernel}'",
                          "cmdline = 'one \"two words\"'", "'switch=lan,mac=00:16:3e:00:00:07'",
                          f"'vdev=xvdb,access=ro,queues=4,target={d}/data.img'",
                          f"'vdev=xvda,access=rw,direct,queues=4,target={d}/data.img'", "on_crash = 'restart'",
                          "max_restarts = 2"]:
                if piece not in r.stdout:
                    failures.append(f"good config: {piece!r} not in {r.stdout!r}")
            resolved = os.path.join(d, "resolved.cfg")
            with open(resolved, "w") as f:
                f.write(r.stdout)
            again = check_config(atoll, [resolved], d)
            if again.returncode != 0 or again.stdout != r.stdout:
                failures.append(f"the resolved config reads back as {again.stdout!r} {again.stderr!r}")
        for lines, overrides, message in BAD:
            with open(cfg, "w") as f:
                f.write(f"kernel = '{kernel}'\n{lines}\n")
            expected = "atoll: " + message.format(dir=d, cwd=d)
            r = check_config(atoll, ["vm.cfg"] + overrides, d)
            if r.returncode != 125 or not r.stderr.startswith(expected) or r.stdout:
                failures.append(f"{lines!r} {overrides}: exit {r.returncode}, stderr {r.stderr.strip()!r}; "
                                f"expected 125 and {expected!r}")
        r = check_config(atoll, ["none.cfg"], d)
        if r.returncode != 125 or "none.cfg: cannot read it: No such file or directory" not in r.stderr:
            failures.append(f"missing config: exit {r.returncode}, stderr {r.stderr.strip()!r}")
        r = check_config(atoll, [], d)
        if r.returncode != 125 or "create needs a config file" not in r.stderr:
            failures.append(f"no config: exit {r.returncode}, stderr {r.stderr.strip()!r}")
        same_as_run(atoll, kernel, d, failures)
    for args in (["create", "--help"], ["help", "create"]):
        r = subprocess.run([atoll] + args, capture_output=True, text=True, timeout=30)
        if r.returncode != 0 or "usage: atoll create CFG" not in r.stdout:
            failures.append(f"{args}: exit {r.returncode}, stdout {r.stdout[:80]!r}")
    r = check_config(atoll, [os.path.abspath(example)], None)
    if r.returncode != 0 or "name = 'httpd-demo'" not in r.stdout:
        failures.append(f"{example}: exit {r.returncode}, stderr {r.stderr.strip()!r}")
    for f in failures:
        print("FAILED: " + f)
    total = len(BAD) + 7
    print(f"{total - len(failures)} of {total} checks as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
