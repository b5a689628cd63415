# code_driver.py — runs untrusted solutions for zeval's code grader.
#
# Runs only inside the sandbox (graders/sandbox.c), as /sbx/driver.py next
# to /sbx/prog.py (the program text, prelude included).  The source of
# truth is this file; graders/code_driver.c embeds it byte for byte
# (tests/test_code_grade.c checks they agree).
#
#   driver.py one MODE [FUNC]     cold: one test; stdin per MODE
#   driver.py serve MODE [FUNC] [--no-ns]
#                                 warm: one request per test on stdin,
#                                 one reply per test on stdout; every test
#                                 runs in a fresh fork in an emptied cwd
#
# MODE stdin:  the program reads the test input on stdin, writes stdout.
# MODE func:   stdin = token line + one JSON value per line (arguments of
#              Solution().FUNC); the JSON of the result is written to the
#              original stdout (the program's own prints go to /dev/null).
# MODE assert: stdin = token line + test code run after the program; the
#              token is written to the original stdout when it finishes.
# Exit codes: 97 compile error, 98 MemoryError, 96 result not JSON
# serialisable, 1 other exception.
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXIT_COMPILE, EXIT_MEMORY, EXIT_UNSERIALISABLE = 97, 98, 96


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_fd(fd):
    chunks = []
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def compile_program():
    with open(os.path.join(HERE, "prog.py"), "rb") as f:
        src = f.read()
    try:
        return compile(src, "<solution>", "exec"), None
    except (SyntaxError, ValueError) as e:
        return None, "compile error: %s: %s" % (type(e).__name__, e)


def run(mode, func, code, payload):
    """Runs one test in this process; returns an exit status or raises."""
    import builtins
    if mode != "stdin":
        nl = payload.find(b"\n")
        token, rest = payload[:nl + 1], payload[nl + 1:]
        del payload
        res_fd = os.dup(1)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.close(null)
    sys.argv = ["solution.py"]
    g = {"__name__": "__main__", "__builtins__": builtins}
    if mode == "stdin":
        exec(code, g)
        return 0
    try:
        if mode == "func":
            import json
            args = [json.loads(ln) for ln in rest.decode("utf-8").split("\n") if ln.strip()]
            exec(code, g)
            if "Solution" in g:
                method = getattr(g["Solution"](), func)
            else:
                method = g[func]
            result = method(*args)
            if isinstance(result, tuple):
                result = list(result)
            try:
                text = json.dumps(result)
            except (TypeError, ValueError) as e:
                print("result is not JSON serialisable: %r" % (e,), file=sys.stderr)
                return EXIT_UNSERIALISABLE
            write_all(res_fd, text.encode() + b"\n")
        else:
            test = compile(rest, "<test>", "exec")
            exec(code, g)
            exec(test, g)
            write_all(res_fd, token)
    except SystemExit as e:
        print("the program exited (SystemExit %r) before the test finished" % (e.code,),
              file=sys.stderr)
        return 1
    return 0


def run_guarded(mode, func, code, err, payload):
    if err is not None:
        print(err, file=sys.stderr)
        return EXIT_COMPILE
    try:
        return run(mode, func, code, payload)
    except MemoryError:
        print("MemoryError", file=sys.stderr)
        return EXIT_MEMORY
    except SystemExit:
        raise
    except BaseException:
        import traceback
        traceback.print_exc()
        return 1


def exit_status(e):
    """The status Python gives an uncaught SystemExit e."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xFF
    try:
        print(e.code, file=sys.stderr)
    except Exception:
        pass
    return 1


def finish(mode, func, code, err, payload):
    """Runs the test and exits the process quickly: waits for the program's
    threads and flushes stdio like a normal exit, but skips interpreter
    teardown (os._exit)."""
    try:
        status = run_guarded(mode, func, code, err, payload)
    except SystemExit as e:
        status = exit_status(e)
    try:
        import threading
        threading._shutdown()
    except BaseException:
        pass
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except BaseException:
            pass
    os._exit(status)


def one(mode, func):
    code, err = compile_program()
    payload = b"" if mode == "stdin" else read_fd(0)
    finish(mode, func, code, err, payload)


PRELUDE_MODULES = ("string re datetime collections heapq bisect copy math random statistics "
                   "itertools functools operator io sys json builtins typing").split()


def serve(mode, func, no_ns):
    import resource
    import select
    import signal
    import time
    import shutil
    import threading  # noqa: F401 (finish() needs it; import once, not per test)
    import traceback  # noqa: F401
    if mode != "assert":
        for m in PRELUDE_MODULES:
            __import__(m)
    try:
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: children cannot read us
    except Exception:
        pass
    code, err = compile_program()
    work = os.getcwd()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    signal.set_wakeup_fd(wake_w)
    inbuf = bytearray()

    def read_exact(n):
        while len(inbuf) < n:
            b = os.read(0, max(1 << 16, n - len(inbuf)))
            if not b:
                return None
            inbuf.extend(b)
        out = bytes(inbuf[:n])
        del inbuf[:n]
        return out

    def read_line():
        while True:
            i = inbuf.find(b"\n")
            if i >= 0:
                out = bytes(inbuf[:i])
                del inbuf[:i + 1]
                return out
            b = os.read(0, 1 << 16)
            if not b:
                return None
            inbuf.extend(b)

    def kill_all(pid):
        try:
            if no_ns:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(-1, signal.SIGKILL)  # all but us; init ignores it
        except OSError:
            pass

    def wipe():
        for name in os.listdir(work):
            p = os.path.join(work, name)
            try:
                if os.path.isdir(p) and not os.path.islink(p):
                    for root, dirs, _ in os.walk(p):
                        for d in dirs:
                            try:
                                os.chmod(os.path.join(root, d), 0o700)
                            except OSError:
                                pass
                    os.chmod(p, 0o700)
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    os.unlink(p)
            except OSError:
                pass

    while True:
        line = read_line()
        if line is None:
            return
        timeout_ms, cpu_s, cap, n = (int(x) for x in line.split())
        payload = read_exact(n)
        if payload is None:
            return
        if err is not None:
            reply = (b"exit", EXIT_COMPILE, b"", err.encode())
            write_all(1, b"R %s %d %d %d\n" % (reply[0], reply[1], 0, len(reply[3])) + reply[3])
            continue
        if mode == "stdin":
            in_fd = os.memfd_create("stdin")
            write_all(in_fd, payload)
            os.lseek(in_fd, 0, 0)
        else:
            in_fd = os.open(os.devnull, os.O_RDONLY)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            # the test child: never returns into the server loop
            os.dup2(in_fd, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (in_fd, out_r, out_w, err_r, err_w, wake_r, wake_w):
                os.close(fd)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            if no_ns:
                os.setpgid(0, 0)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
            os.chdir(work)
            finish(mode, func, code, None, payload)
        os.close(in_fd)
        os.close(out_w)
        os.close(err_w)
        out, errb = bytearray(), bytearray()
        outcome, status = b"exit", None
        deadline = time.monotonic() + timeout_ms / 1000.0
        open_fds = [out_r, err_r]
        while True:
            if status is None:
                p, st = os.waitpid(pid, os.WNOHANG)
                if p:
                    status = st
                    kill_all(pid)
            if status is not None and not open_fds:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                outcome = b"timeout"
                kill_all(pid)
                break
            r, _, _ = select.select(open_fds + [wake_r], [], [], left)
            for fd in r:
                if fd == wake_r:
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                    continue
                b = os.read(fd, 1 << 16)
                if not b:
                    open_fds.remove(fd)
                    os.close(fd)
                elif fd == out_r:
                    out += b
                    if len(out) > cap:
                        outcome = b"output_limit"
                else:
                    errb += b
                    if len(errb) > 16384:
                        del errb[:len(errb) - 8192]
            if outcome == b"output_limit":
                kill_all(pid)
                break
        for fd in open_fds:
            os.close(fd)
        if status is None:
            _, status = os.waitpid(pid, 0)
        if no_ns:
            kill_all(pid)
        wipe()
        code_out = 0
        if outcome == b"exit":
            if os.WIFSIGNALED(status):
                outcome, code_out = b"signal", os.WTERMSIG(status)
            else:
                code_out = os.waitstatus_to_exitcode(status)
        if outcome != b"exit":
            out = out[:cap]
        errb = errb[-8192:]
        write_all(1, b"R %s %d %d %d\n" % (outcome, code_out, len(out), len(errb)) + bytes(out) +
                  bytes(errb))


def main():
    what, mode = sys.argv[1], sys.argv[2]
    func = sys.argv[3] if len(sys.argv) > 3 and not sys.argv[3].startswith("--") else None
    if what == "serve":
        serve(mode, func, "--no-ns" in sys.argv)
    else:
        one(mode, func)


main()
