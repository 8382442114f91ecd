#!/usr/bin/env python3
"""The installed SDK builds appliances outside the tree (issue 14, docs/sdk.md).

Installs this build with `meson install --destdir` into a temporary
directory, copies the examples the SDK installs (share/atoll/examples) to
another, and builds each one twice there, with meson (the installed cross
file, found by name, and atoll-guest.pc) and with make (atoll-cc, atoll-c++),
with PATH holding the SDK's bin/ and nothing of this tree. Then:

  * no path into this tree (source, build, toolchain cache) appears in the
    generated build files, and every header a compile read and every file a
    link took came from the SDK, the example's own directory, gcc's own
    headers or the Xen headers: nothing from glibc or the tree;
  * the library OS's installed headers compile with atoll-c++ alone;
  * each image boots with the installed atoll and prints what it should;
    hello is also signed and booted with --require-signed; the HTTP
    appliance answers a request through a published port;
  * hello built in two directories of different names gives the same bytes.

    sdk_test.py BUILD_ROOT SOURCE_ROOT TOOLCHAIN_SYSROOT
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

failures = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
    return ok


def run(cmd, env, cwd=None, timeout=300):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        print(f"$ {' '.join(cmd)}  (in {cwd}) exited {r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def install(build_root, stage):
    # meson install rewrites the build's install log, which `meson uninstall`
    # reads: the user's own install must stay the one it undoes.
    log = os.path.join(build_root, "meson-logs", "install-log.txt")
    kept = open(log, "rb").read() if os.path.exists(log) else None
    try:
        r = subprocess.run(["meson", "install", "-C", build_root, "--no-rebuild", "--quiet", "--destdir", stage],
                           capture_output=True, text=True)
    finally:
        if kept is None:
            if os.path.exists(log):
                os.remove(log)
        else:
            with open(log, "wb") as f:
                f.write(kept)
    if r.returncode != 0:
        raise SystemExit(f"meson install failed:\n{r.stdout}\n{r.stderr}")
    inis = glob.glob(os.path.join(stage, "**", "share", "meson", "cross", "atoll-guest.ini"), recursive=True)
    if len(inis) != 1:
        raise SystemExit(f"meson install put no single atoll-guest.ini under {stage}: {inis}")
    prefix = re.search(r"^atoll_prefix = '(.*)'$", open(inis[0]).read(), re.M).group(1)
    return stage + prefix


def sdk_env(sdk, tmp):
    """PATH with the SDK's bin/ and the system's, nothing of the tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATOLL_", "MESON", "PKG_CONFIG", "NINJA"))}
    env["PATH"] = os.path.join(sdk, "bin") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env["XDG_DATA_DIRS"] = os.path.join(sdk, "share")  # so meson finds atoll-guest.ini by name
    env["HOME"] = tmp
    return env


def forbidden_in(text, forbidden):
    return [f for f in forbidden if f in text]


def allowed_input(path, sdk, project):
    path = os.path.normpath(path if os.path.isabs(path) else os.path.join(project, path))
    real = os.path.realpath(path)
    return (path.startswith(sdk + "/") or path.startswith(project + "/")
            or real.startswith("/usr/include/xen/") or real.startswith("/usr/lib/gcc/x86_64-linux-gnu/"))


def check_inputs(name, files, sdk, project):
    bad = sorted({f for f in files if not allowed_input(f, sdk, project)})
    check(not bad and files, f"{name}: all {len(files)} compile and link inputs come from the SDK or the project"
          + (f"; not: {bad[:8]}" if bad else ""))


def build_meson(example, project, env, forbidden, sdk):
    r = run(["meson", "setup", "build", "--cross-file", "atoll-guest.ini",
             "--cross-file", os.path.join(env["HOME"], "relocate.ini")], env, cwd=project)
    if not check(r.returncode == 0, f"{example} (meson): meson setup with the installed cross file"):
        return None
    r = run(["ninja", "-C", "build"], env, cwd=project)
    if not check(r.returncode == 0, f"{example} (meson): ninja builds it"):
        return None
    generated = "".join(open(os.path.join(project, "build", f)).read()
                        for f in ("build.ninja", "compile_commands.json", "meson-info/intro-buildoptions.json"))
    bad = forbidden_in(generated, forbidden)
    check(not bad, f"{example} (meson): the generated build files name no path into the tree" + (f": {bad}" if bad else ""))
    deps = run(["ninja", "-C", "build", "-t", "deps"], env, cwd=project).stdout
    inputs = [l.strip() for l in deps.splitlines() if l.startswith("    ")]
    inputs = [os.path.join(project, "build", p) if not os.path.isabs(p) else p for p in inputs]
    link = [l for l in open(os.path.join(project, "build", "build.ninja")).read().splitlines()
            if l.strip().startswith("LINK_ARGS")]
    inputs += [t for l in link for t in re.split(r"[ ,=]", l) if t.endswith((".a", ".ld", ".o"))]
    check_inputs(f"{example} (meson)", inputs, sdk, project)
    return os.path.join(project, "build")


def build_make(example, project, env, forbidden, sdk):
    # -MD records each compile's headers; -Wl,-t prints each file the link takes.
    r = run(["make", "CFLAGS=-O2 -g -MD", "CXXFLAGS=-std=c++20 -O2 -g -MD", "LDFLAGS=-Wl,-t"], env, cwd=project)
    if not check(r.returncode == 0, f"{example} (make): make builds it with atoll-cc/atoll-c++"):
        return None
    inputs = []
    for d in glob.glob(os.path.join(project, "*.d")):
        inputs += [p for p in open(d).read().replace("\\\n", " ").split()[1:] if p != "\\"]
    linked = [l.strip() for l in r.stdout.splitlines() if l.strip().startswith("/") or l.strip().endswith(".o")]
    linked = [re.sub(r"^\((.*)\).*$", r"\1", re.sub(r"^(/.*\.a)\(.*\)$", r"\1", l)) for l in linked]
    check(any(l.endswith("libatoll_kernel.a") for l in linked), f"{example} (make): the link took the installed library OS")
    bad = forbidden_in(r.stdout + r.stderr + "".join(open(d).read() for d in glob.glob(os.path.join(project, "*.d"))), forbidden)
    check(not bad, f"{example} (make): no path into the tree in its commands or depfiles" + (f": {bad}" if bad else ""))
    check_inputs(f"{example} (make)", inputs + linked, sdk, project)
    return project


def check_headers(sdk, env, tmp):
    """Every header the SDK installs for the library OS compiles, all in one
    C++ translation unit, with atoll-c++ alone."""
    inc = os.path.join(sdk, "lib", "atoll", "guest", "include")
    headers = sorted(os.path.relpath(h, inc) for pattern in ("*.h", "*/*.h")
                     for h in glob.glob(os.path.join(inc, pattern)) if not h.startswith(os.path.join(inc, "arch")))
    tu = os.path.join(tmp, "all_headers.cpp")
    with open(tu, "w") as f:
        f.writelines(f"#include <{h}>\n" for h in headers)
    r = run(["atoll-c++", "-std=c++20", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", tu], env, cwd=tmp)
    check(r.returncode == 0 and len(headers) > 30, f"the {len(headers)} installed library OS headers compile with atoll-c++")


def boot_hello(image, env, variant):
    r = run(["atoll", "run", image], env, timeout=60)
    out = r.stdout
    check(r.returncode == 0 and "Hello from an appliance built outside the Atoll tree!" in out
          and "arg 1: from" in out and "arg 3: manifest" in out,
          f"hello ({variant}): boots with the installed atoll, exit {r.returncode}, arguments from its manifest")
    r = run(["atoll", "inspect", "--json", image], env)
    name = json.loads(r.stdout).get("manifest", {}).get("name") if r.returncode == 0 else None
    check(name == "hello", f"hello ({variant}): atoll inspect --json reads its manifest (name {name})")


def sign_and_boot(image, env, tmp):
    keys = os.path.join(tmp, "keys")
    os.makedirs(os.path.join(keys, "trusted"))
    ok = run(["atoll", "keygen", "-o", os.path.join(keys, "me")], env).returncode == 0
    shutil.copy(os.path.join(keys, "me.pub"), os.path.join(keys, "trusted"))
    unsigned = run(["atoll", "run", "--require-signed", "--trusted-keys", os.path.join(keys, "trusted"), image], env)
    check(unsigned.returncode == 125 and "not signed" in unsigned.stderr,
          f"hello: unsigned, refused under --require-signed (exit {unsigned.returncode})")
    ok = ok and run(["atoll", "sign", "--key", os.path.join(keys, "me.key"), image], env).returncode == 0
    r = run(["atoll", "run", "--require-signed", "--trusted-keys", os.path.join(keys, "trusted"), image], env)
    check(ok and r.returncode == 0 and "Hello from an appliance" in r.stdout,
          f"hello: signed with a new key, boots under --require-signed (exit {r.returncode})")


def free_port():
    for port in range(32500, 33000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit("no free port in 32500-32999")


def boot_server(image, env, variant):
    port = free_port()
    p = subprocess.Popen(["atoll", "run", "-p", f"{port}:80", image], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    body, error = "", ""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and p.poll() is None:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/sdk", timeout=5).read().decode()
                break
            except OSError as e:
                error = str(e)
                time.sleep(0.2)
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
    ok = "you asked for /sdk (request 1)" in body
    if not ok:
        print(f"server ({variant}): body {body!r}, last error {error}\nstdout: {out[-2000:]}\nstderr: {err[-2000:]}")
    check(ok, f"server ({variant}): answers GET /sdk through a published port")


def main():
    build_root, source_root, toolchain = (os.path.realpath(a) for a in sys.argv[1:4])
    forbidden = [source_root, build_root, toolchain]
    with tempfile.TemporaryDirectory(prefix="atoll-sdk-") as tmp:
        t0 = time.monotonic()
        sdk = install(build_root, os.path.join(tmp, "stage"))
        env = sdk_env(sdk, tmp)
        with open(os.path.join(tmp, "relocate.ini"), "w") as f:
            f.write(f"[constants]\natoll_prefix = '{sdk}'\n")
        print(f"installed the SDK under {sdk} in {time.monotonic() - t0:.1f} s")
        atoll = os.path.join(sdk, "bin", "atoll")
        check(os.path.islink(atoll) and not os.path.isabs(os.readlink(atoll)),
              "bin/atoll is a relative link to the CLI beside its helpers")
        check(shutil.which("atoll", path=env["PATH"]) == atoll and shutil.which("atoll-cc", path=env["PATH"]),
              "atoll and atoll-cc come from the SDK's bin/")
        check_headers(sdk, env, tmp)
        examples = os.path.join(sdk, "share", "atoll", "examples")
        work = os.path.join(tmp, "work")
        for variant, build in (("meson", build_meson), ("make", build_make)):
            for example in ("hello-appliance", "http-appliance"):
                project = os.path.join(work, variant, example)
                shutil.copytree(os.path.join(examples, example), project)
                out = build(example, project, env, forbidden, sdk)
                if not out:
                    continue
                if example == "hello-appliance":
                    boot_hello(os.path.join(out, "hello"), env, variant)
                else:
                    boot_server(os.path.join(out, "server"), env, variant)
        hello = os.path.join(work, "meson", "hello-appliance", "build", "hello")
        if os.path.exists(hello):
            # Two directories whose paths differ in name and length.
            other = os.path.join(tmp, "a-second-and-longer-directory", "hello")
            shutil.copytree(os.path.join(examples, "hello-appliance"), other)
            if build_meson("hello-appliance, again elsewhere", other, env, forbidden, sdk):
                same = open(hello, "rb").read() == open(os.path.join(other, "build", "hello"), "rb").read()
                check(same, "hello (meson): built in two directories, the sealed images are identical")
            make_hello = os.path.join(work, "make", "hello-appliance", "hello")
            other = os.path.join(tmp, "make-elsewhere", "hello")
            shutil.copytree(os.path.join(examples, "hello-appliance"), other)
            if os.path.exists(make_hello) and build_make("hello-appliance, again elsewhere", other, env, forbidden, sdk):
                same = open(make_hello, "rb").read() == open(os.path.join(other, "hello"), "rb").read()
                check(same, "hello (make): built in two directories, the sealed images are identical")
            sign_and_boot(hello, env, tmp)
        print(f"done in {time.monotonic() - t0:.1f} s")
    if failures:
        print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
