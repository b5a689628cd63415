# code_driver.py — runs untrusted solutions for zeval's code grader.
#
# Runs only inside the sandbox (graders/sandbox.c), as /sbx/driver.py; cold
# runs find the program text (prelude included) in /sbx/prog.py, the warm
# server receives it with each request.  The source of
# truth is this file; graders/code_driver.c embeds it byte for byte
# (tests/test_code_grade.c checks they agree).
#
#   driver.py one MODE [FUNC]     cold: one test; stdin per MODE
#   driver.py serve [--no-ns]     warm: one server per pool worker, reused
#                                 across problems; one self-contained
#                                 request per test (mode, limits, program,
#                                 payload) on stdin, one reply per test on
#                                 stdout; every test runs in a fresh fork
#                                 in the wiped cwd (see serve())
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
        return compile_source(f.read())


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


def compile_source(src):
    try:
        return compile(src, "<solution>", "exec"), None
    except (SyntaxError, ValueError) as e:
        return None, "compile error: %s: %s" % (type(e).__name__, e)


def serve(no_ns):
    """One warm server per pool worker, reused across problems.  Requests
    (stdin), each self-contained:
        T MODE FUNC TIMEOUT_MS CPU_S AS_BYTES CAP PROGLEN PAYLEN\n PROG PAYLOAD
    replies (stdout): R OUTCOME CODE OUTLEN ERRLEN\n OUT ERR.
    The server never runs (or compiles) the program: every test is a fresh
    fork, in its own process group, with its own limits, in the working
    dir, which is wiped completely after the test (with every process of
    the test killed).  The server keeps no per-problem state."""
    import resource
    import select
    import signal
    import time
    import gc
    import threading  # noqa: F401 (finish() needs it; import once, not per test)
    import traceback  # noqa: F401
    # Warm up what every child would otherwise initialise anew (and pay for
    # with copy-on-write faults): the prelude's imports and the compiler.
    limit = sys.getrecursionlimit()
    warm = "".join("from %s import *\nimport %s\n" % (m, m) for m in PRELUDE_MODULES)
    exec(compile_source(warm.encode())[0], {"__name__": "__warmup__"})
    sys.setrecursionlimit(limit)
    del warm
    try:
        import ctypes
        # PR_SET_DUMPABLE 0: a test child (same uid) cannot open /proc/<server>/mem,
        # /proc/<server>/fd/* or ptrace us (ptrace is also denied by seccomp)
        if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")
        del sys.modules["ctypes"]
    except Exception as e:
        print("warm server: %s" % (e,), file=sys.stderr)
        sys.exit(3)
    work = os.getcwd()
    work_mode = os.stat(work).st_mode & 0o7777
    as_hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    signal.set_wakeup_fd(wake_w)
    inbuf = bytearray()
    gc.collect()
    gc.freeze()  # children's collections do not touch (copy) the server's objects

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

    def rm_tree(dirfd):
        # every entry of the open directory dirfd, recursively (0700 first:
        # a test may leave unreadable or unwritable directories)
        for name in os.listdir(dirfd):
            try:
                os.unlink(name, dir_fd=dirfd)
                continue
            except IsADirectoryError:
                pass
            except OSError:
                pass
            try:
                os.chmod(name, 0o700, dir_fd=dirfd, follow_symlinks=False)
            except OSError:
                pass
            try:
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dirfd)
            except OSError:
                continue
            try:
                rm_tree(sub)
            finally:
                os.close(sub)
            try:
                os.rmdir(name, dir_fd=dirfd)
            except OSError:
                pass

    def wipe():
        """Leaves the working dir as the server found it: empty, its mode,
        no extended attributes, fixed times.  False if that failed."""
        try:
            os.chmod(work, work_mode)
            fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return False
        try:
            if os.listdir(fd):
                rm_tree(fd)
            for a in os.listxattr(fd):
                os.removexattr(fd, a)
            os.utime(fd, (0, 0))
            return not os.listdir(fd) and not os.listxattr(fd)
        except Exception:  # OSError; RecursionError for absurdly deep trees
            return False
        finally:
            os.close(fd)

    def standby():
        """Forks the next test's child ahead of its request (the fork then
        overlaps the harness's work).  It is forked after the previous
        test's processes were killed and the working dir wiped, so it is
        the same fresh copy of the server that a fork on arrival would be;
        it waits for its request, forwarded whole on a pipe."""
        ctl_r, ctl_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            # the test child: never returns into the server loop
            try:
                os.setpgid(0, 0)
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                for fd in (ctl_w, out_r, out_w, err_r, err_w, wake_r, wake_w):
                    os.close(fd)
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                del inbuf[:]
                req = read_fd(ctl_r)
                os.close(ctl_r)
                if not req:
                    os._exit(0)  # the server went away
                nl = req.index(b"\n")
                f = req[:nl].split()
                mode, func = f[1].decode(), f[2].decode()
                cpu_s, as_bytes, plen = int(f[4]), int(f[5]), int(f[7])
                prog, payload = req[nl + 1:nl + 1 + plen], req[nl + 1 + plen:]
                del req
                if mode == "stdin":
                    in_fd = os.memfd_create("stdin")
                    write_all(in_fd, payload)
                    os.lseek(in_fd, 0, 0)
                else:
                    in_fd = os.open(os.devnull, os.O_RDONLY)
                os.dup2(in_fd, 0)  # replaces the server's request pipe
                os.close(in_fd)
                resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
                lim = as_bytes if as_hard == resource.RLIM_INFINITY else min(as_bytes, as_hard)
                resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
                os.chdir(work)
                code, err = compile_source(prog)
                del prog
            except BaseException:
                os._exit(3)
            finish(mode, func, code, err, payload)
        try:
            os.setpgid(pid, pid)  # also done by the child: no race with kill_all
        except OSError:
            pass
        for fd in (ctl_r, out_w, err_w):
            os.close(fd)
        return pid, ctl_w, out_r, err_r

    if not wipe():
        print("warm server: cannot clear the working directory", file=sys.stderr)
        sys.exit(3)
    nxt = standby()
    while True:
        line = read_line()
        if line is None:
            return
        f = line.split()
        if len(f) != 9 or f[0] != b"T":
            print("warm server: bad request", file=sys.stderr)
            sys.exit(3)
        timeout_ms, cap, plen, n = int(f[3]), int(f[6]), int(f[7]), int(f[8])
        prog = read_exact(plen)
        payload = read_exact(n)
        if prog is None or payload is None:
            return
        pid, ctl_w, out_r, err_r = nxt
        try:
            write_all(ctl_w, line + b"\n" + prog + payload)
        except OSError:
            pass  # the child is gone: its status says how
        os.close(ctl_w)
        del prog, payload
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
        kill_all(pid)
        if not wipe():
            print("warm server: cannot clear the working directory", file=sys.stderr)
            sys.exit(3)  # the harness starts a fresh server
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
        nxt = standby()


def main():
    if sys.argv[1] == "serve":
        serve("--no-ns" in sys.argv)
    else:
        one(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)


main()
