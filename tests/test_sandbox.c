/*
 * test_sandbox.c — the hostile suite (issue 7, acceptance 2 and 3).
 *
 * Each hostile program is graded as a stdin_stdout answer whose expected
 * output is "PWNED": a program prints it only if its attack worked, so an
 * escape shows up as a pass.  Every case then checks that
 *   - the verdict is the expected one (or at least not pass),
 *   - no process of the sandbox remains (no process in a nested PID
 *     namespace running as the sandbox's outside uid that was not there
 *     before, zombies included),
 *   - the canary files in the test's temp dir and in $HOME are unchanged
 *     and nothing new appeared next to them,
 *   - the harness is unharmed: a sentinel child of the test is alive, no
 *     connection reached a loopback listener of the test, and this process
 *     is still running (else run.sh counts the crash).
 * Acceptance 3: the sandbox must build; a refused isolation feature FAILs.
 */
#include "check.h"
#include "../graders/code_grade.h"
#include "../graders/sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ANY_FAIL (-1)   /* any verdict but pass */

static char g_tmp[512], g_canary[600], g_home_canary[600];
static struct stat g_canary_st, g_home_st;
static pid_t g_sentinel;
static int g_listen = -1, g_port;
static int g_before[4096], g_nbefore;

/* pids of processes in a nested PID namespace with the sandbox's uid */
static int sandbox_pids(int *out, int cap)
{
    unsigned want = geteuid() == 0 ? 65534 : (unsigned)geteuid();
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int pid = atoi(e->d_name);
        if (pid <= 0)
            continue;
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0)
            continue;
        buf[r] = 0;
        const char *u = strstr(buf, "\nUid:");
        const char *ns = strstr(buf, "\nNSpid:");
        if (!u || !ns)
            continue;
        unsigned uid = (unsigned)strtoul(u + 5, NULL, 10);
        const char *eol = strchr(ns + 1, '\n');
        int fields = 0;
        for (const char *q = ns + 7; q < (eol ? eol : ns + strlen(ns)); q++)
            if ((q[0] >= '0' && q[0] <= '9') && (q[-1] == ' ' || q[-1] == '\t'))
                fields++;
        if (uid == want && fields >= 2 && n < cap)
            out[n++] = pid;
    }
    if (d)
        closedir(d);
    return n;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n++;
    if (d)
        closedir(d);
    return n;
}

static int g_tmp_entries;

static void setup(void)
{
    snprintf(g_tmp, sizeof g_tmp, "%s", ck_tmpdir());
    snprintf(g_canary, sizeof g_canary, "%s/canary.txt", g_tmp);
    ck_write(g_canary, "canary\n", 7);
    const char *home = getenv("HOME");
    snprintf(g_home_canary, sizeof g_home_canary, "%s/.zeval-sandbox-canary-%d",
             home && *home ? home : "/root", (int)getpid());
    ck_write(g_home_canary, "home canary\n", 12);
    stat(g_canary, &g_canary_st);
    stat(g_home_canary, &g_home_st);
    g_tmp_entries = count_entries(g_tmp);
    g_sentinel = fork();
    if (g_sentinel == 0) {
        execl("/bin/sleep", "sleep", "600", (char *)NULL);
        _exit(127);
    }
    g_listen = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (g_listen >= 0 && bind(g_listen, (struct sockaddr *)&a, sizeof a) == 0 &&
        listen(g_listen, 8) == 0 && getsockname(g_listen, (struct sockaddr *)&a, &al) == 0)
        g_port = ntohs(a.sin_port);
    g_nbefore = sandbox_pids(g_before, 4096);
}

static void teardown(void)
{
    if (g_sentinel > 0) {
        kill(g_sentinel, SIGKILL);
        waitpid(g_sentinel, NULL, 0);
    }
    if (g_listen >= 0)
        close(g_listen);
    unlink(g_home_canary);
    ck_rmtree(g_tmp);
}

static int same_file(const char *path, const struct stat *before, const char *content)
{
    struct stat st;
    size_t n;
    if (stat(path, &st) != 0)
        return 0;
    char *c = ck_slurp(path, &n);
    int ok = c && strcmp(c, content) == 0 && st.st_mtim.tv_sec == before->st_mtim.tv_sec &&
             st.st_mtim.tv_nsec == before->st_mtim.tv_nsec && st.st_mode == before->st_mode;
    free(c);
    return ok;
}

/* The after-checks shared by every case. */
static void check_aftermath(void)
{
    int now[4096];
    int n = sandbox_pids(now, 4096);
    for (int i = 0; i < n; i++) {
        int old = 0;
        for (int k = 0; k < g_nbefore; k++)
            old |= g_before[k] == now[i];
        CK(old, "process %d of the sandbox is still there", now[i]);
    }
    CK(same_file(g_canary, &g_canary_st, "canary\n"), "the canary in the test dir changed");
    CK(same_file(g_home_canary, &g_home_st, "home canary\n"), "the canary in $HOME changed");
    CK(count_entries(g_tmp) == g_tmp_entries, "new files appeared in the test dir");
    int st;
    CK(kill(g_sentinel, 0) == 0 && waitpid(g_sentinel, &st, WNOHANG) == 0,
       "the sentinel process of the harness was killed");
    int c = accept(g_listen, NULL, NULL);
    CK(c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
       "a connection reached the harness's loopback listener");
    if (c >= 0)
        close(c);
}

/* Replaces @TMP@, @CANARY@, @HOMECANARY@, @PORT@, @PID@ in src. */
static char *subst(const char *src)
{
    char port[16], pid[16];
    snprintf(port, sizeof port, "%d", g_port);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    const char *keys[] = {"@TMP@", "@CANARY@", "@HOMECANARY@", "@PORT@", "@PID@"};
    const char *vals[] = {g_tmp, g_canary, g_home_canary, port, pid};
    size_t cap = strlen(src) * 2 + 4096, n = 0;
    char *out = malloc(cap);
    for (const char *p = src; *p;) {
        int hit = 0;
        for (int k = 0; k < 5; k++) {
            size_t kl = strlen(keys[k]);
            if (strncmp(p, keys[k], kl) == 0) {
                size_t vl = strlen(vals[k]);
                memcpy(out + n, vals[k], vl);
                n += vl;
                p += kl;
                hit = 1;
                break;
            }
        }
        if (!hit)
            out[n++] = *p++;
    }
    out[n] = 0;
    return out;
}

static void hostile(const char *name, int warm, int want, const char *src)
{
    ck_begin("hostile %s: %s", warm ? "(warm)" : "(cold)", name);
    static const char prob[] = "{\"id\":\"hostile\",\"test_format\":\"stdin_stdout\",\"tests\":"
                               "[{\"input\":\"\",\"output\":\"PWNED\"},"
                               "{\"input\":\"\",\"output\":\"PWNED\"}]}";
    cJSON *o = cJSON_Parse(prob);
    code_problem p;
    char err[256];
    CK(code_problem_from_json(o, &p, err, sizeof err) == 0, "%s", err);
    char *prog = subst(src);
    code_options opt = {0};
    opt.warm = warm;
    opt.timeout_s = 1.0;
    opt.all_tests = 1; /* warm: the second test runs after the first one's attack */
    opt.tag = "zeval-hostile";
    code_result r;
    memset(&r, 0, sizeof r);
    CK(code_grade(&p, prog, &opt, &r, err, sizeof err) == 0, "%s", err);
    if (want == ANY_FAIL)
        CK(r.verdict != CODE_PASS, "the attack worked (verdict pass)");
    else
        CK(r.verdict == (code_verdict)want, "expected %s, got %s (%s)",
           code_verdict_name((code_verdict)want), code_verdict_name(r.verdict), r.first_failure);
    CK(r.verdict != CODE_SANDBOX_ERROR, "sandbox error: %s", r.first_failure);
    check_aftermath();
    free(prog);
    code_problem_free(&p);
    cJSON_Delete(o);
    ck_end();
}

static const struct {
    const char *name;
    int want;
    int also_warm;
    const char *src;
} cases[] = {
    {"fork bomb", ANY_FAIL, 1,
     "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"},
    {"shell fork bomb", ANY_FAIL, 0,
     "import os\nos.system(':(){ :|:& };:')\nimport time\ntime.sleep(100)\n"},
    {"memory bomb (one huge allocation)", CODE_MEMORY_LIMIT, 0, "x = bytearray(64 << 30)\n"},
    {"memory bomb (growing)", CODE_MEMORY_LIMIT, 1,
     "l = []\nwhile True:\n    l.append(bytes(1 << 30))\n"},
    {"infinite loop", CODE_TIMEOUT, 1, "while True:\n    pass\n"},
    {"sleep forever (no CPU)", CODE_TIMEOUT, 0, "import time\ntime.sleep(10000)\n"},
    {"infinite output", CODE_OUTPUT_LIMIT, 1, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"},
    {"infinite stderr", CODE_TIMEOUT, 0, "import sys\nwhile True:\n    sys.stderr.write('e' * 65536)\n"},
    {"children that outlive the timeout", ANY_FAIL, 1,
     "import os, time\nfor i in range(5):\n    if os.fork() == 0:\n        time.sleep(1000)\n"
     "        os._exit(0)\nprint('parent done')\n"},
    {"double-fork daemon", ANY_FAIL, 1,
     "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
     "        for fd in range(3):\n            os.close(fd)\n        time.sleep(1000)\n"
     "    os._exit(0)\nprint('launched')\n"},
    {"zombies left behind", ANY_FAIL, 0,
     "import os\nfor i in range(20):\n    if os.fork() == 0:\n        os._exit(0)\nprint('zombies')\n"},
    {"writes outside the working directory", ANY_FAIL, 0,
     "ok = 0\nfor p in ['@CANARY@', '@HOMECANARY@', '@TMP@/new.txt', '/etc/passwd', '/usr/pwned',\n"
     "          '/sbx/prog.py', '/pwned', '/root/pwned']:\n    try:\n"
     "        open(p, 'a').write('pwned')\n        ok += 1\n    except OSError:\n        pass\n"
     "print('PWNED' if ok else 'contained')\n"},
    {"reads of the invoking user's home", ANY_FAIL, 0,
     "import os\nfound = []\nfor p in ['@HOMECANARY@', '/root/.bashrc', '/root', '/home', '@CANARY@']:\n"
     "    if os.path.exists(p):\n        found.append(p)\nprint('PWNED' if found else 'nothing')\n"},
    {"network connect to loopback", ANY_FAIL, 0,
     "import socket\ns = socket.create_connection(('127.0.0.1', @PORT@), timeout=0.5)\nprint('PWNED')\n"},
    {"network connect to an external address", ANY_FAIL, 0,
     "import socket\ns = socket.create_connection(('192.0.2.1', 80), timeout=0.5)\nprint('PWNED')\n"},
    {"raw socket", ANY_FAIL, 0,
     "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n"
     "print('PWNED')\n"},
    {"packet socket", ANY_FAIL, 0,
     "import socket\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)\nprint('PWNED')\n"},
    {"netlink socket", ANY_FAIL, 0,
     "import socket\ns = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)\nprint('PWNED')\n"},
    {"ptrace", ANY_FAIL, 0,
     "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
     "r1 = libc.ptrace(16, 1, 0, 0)\nr2 = libc.ptrace(0, 0, 0, 0)\n"
     "print('PWNED' if r1 == 0 or r2 == 0 else 'denied')\n"},
    {"kill(-1, SIGKILL)", ANY_FAIL, 1,
     "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n"
     "print('still here')\n"},
    {"setuid / setgid to root", ANY_FAIL, 0,
     "import os\nos.setgid(0)\nos.setuid(0)\nprint('PWNED')\n"},
    {"/proc snooping of the harness", ANY_FAIL, 0,
     "import os\nfound = False\nfor p in os.listdir('/proc'):\n    if not p.isdigit():\n"
     "        continue\n    try:\n        c = open('/proc/%s/cmdline' % p, 'rb').read()\n"
     "        e = open('/proc/%s/environ' % p, 'rb').read() if p != str(os.getpid()) else b''\n"
     "    except OSError:\n        continue\n    if p == '@PID@' or b'test_sandbox' in c or b'ZEVAL_BIN' in e:\n"
     "        found = True\nprint('PWNED' if found else 'nothing')\n"},
    {"huge file", ANY_FAIL, 0,
     "f = open('big', 'wb')\nfor i in range(400):\n    f.write(b'x' * (1 << 20))\nf.close()\nprint('PWNED')\n"},
    {"many files", ANY_FAIL, 0,
     "for i in range(200000):\n    open('f%d' % i, 'w').close()\nprint('PWNED')\n"},
    {"signals to the parent", ANY_FAIL, 1,
     "import os, signal\nfor pid in [os.getppid(), 1] + list(range(2, 5000)):\n    if pid == os.getpid():\n"
     "        continue\n    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n"
     "print('still here')\n"},
    {"mount", ANY_FAIL, 0,
     "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
     "r = libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)\nprint('PWNED' if r == 0 else 'denied')\n"},
    {"unshare a new user namespace", ANY_FAIL, 0,
     "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
     "r = libc.unshare(0x10000000)\nprint('PWNED' if r == 0 else 'denied')\n"},
    {"chroot", ANY_FAIL, 0, "import os\nos.chroot('/')\nprint('PWNED')\n"},
    {"bpf and perf_event_open", ANY_FAIL, 0,
     "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nbuf = ctypes.create_string_buffer(128)\n"
     "r1 = libc.syscall(321, 0, buf, 128)\nr2 = libc.syscall(298, buf, 0, -1, -1, 0)\n"
     "print('PWNED' if r1 >= 0 or r2 >= 0 else 'denied')\n"},
    {"keyctl", ANY_FAIL, 0,
     "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
     "r = libc.syscall(250, 0, -3, 0, 0, 0)\nprint('PWNED' if r >= 0 else 'denied')\n"},
    {"thread bomb", ANY_FAIL, 0,
     "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(100,), daemon=True).start()\n"},
    {"environment leak", ANY_FAIL, 0,
     "import os\nbad = set(os.environ) - {'PATH', 'LANG', 'PYTHONINTMAXSTRDIGITS',\n"
     "    'PYTHONDONTWRITEBYTECODE', 'HOME', 'TMPDIR', 'ZEVAL_SBX_TAG', 'LC_CTYPE'}\n"
     "print('PWNED' if bad or os.environ.get('HOME') != '/tmp' else 'clean')\n"},
    {"devices", ANY_FAIL, 0,
     "import os\nprint('PWNED' if set(os.listdir('/dev')) - {'null', 'zero', 'full', 'random',\n"
     "    'urandom', 'fd', 'stdin', 'stdout', 'stderr'} else 'few')\n"},
    {"sethostname", ANY_FAIL, 0, "import socket\nsocket.sethostname('pwned')\nprint('PWNED')\n"},
    {"SysV IPC objects (would outlive a test in a warm server)", ANY_FAIL, 1,
     "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
     "r = [libc.shmget(0x5a45, 4096, 0o1666), libc.msgget(0x5a45, 0o1666),\n"
     "     libc.semget(0x5a45, 1, 0o1666)]\nprint('PWNED' if max(r) >= 0 else 'denied')\n"},
};

static void test_isolation_facts(void)
{
    ck_begin("sandbox: uid 1000 inside, nobody outside, hostname, empty netns, read-only root");
    sbx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.wall_s = 10;
    cfg.cpu_s = 5;
    const char *argv[] = {
        "python3", "-c",
        "import os, socket\n"
        "print(os.getuid(), os.getgid(), os.getpid(), socket.gethostname())\n"
        "print(sorted(os.listdir('/sys/class/net')) if os.path.exists('/sys/class/net') else 'nosys')\n"
        "try:\n    open('/x', 'w')\nexcept OSError as e:\n    print(e.errno)\n"
        "print(os.getcwd(), sorted(os.listdir('/')))\n",
        NULL};
    sbx_result r;
    char err[256];
    CK(sbx_run(&cfg, argv, NULL, 0, NULL, 0, &r, err, sizeof err) == 0, "%s", err);
    CK(r.outcome == SBX_EXITED && r.code == 0, "%s %d: %s", sbx_outcome_name(r.outcome), r.code,
       r.err);
    CK(strstr(r.out, "1000 1000 2 sandbox\n") == r.out, "ids/hostname: %s", r.out);
    CK(strstr(r.out, "nosys") && strstr(r.out, "\n30\n"), "no /sys, read-only root: %s", r.out);
    CK(strstr(r.out, "/tmp ['bin', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'proc', 'sbin', 'sbx', "
                     "'tmp', 'usr']") ||
           strstr(r.out, "/tmp ['bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'sbx', "
                         "'tmp', 'usr']"),
       "root listing: %s", r.out);
    sbx_result_free(&r);
    ck_end();

    ck_begin("sandbox: the network namespace has only lo, and it is down");
    const char *argv2[] = {"python3", "-c",
                           "import socket\nprint(socket.if_nameindex())\n", NULL};
    CK(sbx_run(&cfg, argv2, NULL, 0, NULL, 0, &r, err, sizeof err) == 0, "%s", err);
    /* if_nameindex needs a netlink or AF_INET socket: seccomp refuses
     * those, so a refusal is also correct; a listing must be lo only */
    CK((r.outcome == SBX_EXITED && r.code == 0 && strcmp(r.out, "[(1, 'lo')]\n") == 0) ||
           (r.outcome == SBX_EXITED && r.code == 1),
       "%s %d: %s %s", sbx_outcome_name(r.outcome), r.code, r.out, r.err);
    sbx_result_free(&r);
    ck_end();

    ck_begin("sandbox: unsafe mode runs without isolation only when asked");
    cfg.unsafe = 1;
    const char *argv3[] = {"python3", "-c", "import os; print(os.getuid() == 0 or True)", NULL};
    CK(sbx_run(&cfg, argv3, NULL, 0, NULL, 0, &r, err, sizeof err) == 0, "%s", err);
    CK(r.outcome == SBX_EXITED && r.code == 0 && strcmp(r.out, "True\n") == 0, "%s: %s",
       sbx_outcome_name(r.outcome), r.err);
    sbx_result_free(&r);
    ck_end();

    ck_begin("sandbox: a missing interpreter is a sandbox error naming execve");
    cfg.unsafe = 0;
    cfg.python = "/nonexistent/python3";
    CK(sbx_run(&cfg, argv3, NULL, 0, NULL, 0, &r, err, sizeof err) == 0, "%s", err);
    CK(r.outcome == SBX_ERROR && strstr(r.err, "python"), "%s: %s", sbx_outcome_name(r.outcome),
       r.err);
    sbx_result_free(&r);
    ck_end();
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    ck_begin("sandbox: builds here (fails, never skips, when the kernel refuses a feature)");
    char why[512];
    int ok = sbx_probe(NULL, why, sizeof why);
    CK(ok, "isolation refused: %s", why);
    ck_end();
    if (!ok)
        return ck_status();
    setup();
    test_isolation_facts();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hostile(cases[i].name, 0, cases[i].want, cases[i].src);
        if (cases[i].also_warm)
            hostile(cases[i].name, 1, cases[i].want, cases[i].src);
    }
    teardown();
    return ck_status();
}
