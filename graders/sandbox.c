/*
 * sandbox.c — namespaces + read-only root + seccomp + rlimits around python3.
 *
 * Process layout and guarantees: see sandbox.h.  Design notes:
 *
 * - Every pipe is O_CLOEXEC and the forked helpers close every descriptor
 *   they do not own (close_range), so a sandbox never holds another
 *   thread's pipes open.
 * - The harness learns init's pid from C while C is blocked on an ack, opens
 *   a pidfd on it and only then lets C wait: the pidfd can never name a
 *   recycled pid.  Killing init (PID 1 of the namespace) kills the whole
 *   namespace; C reaps init only after every process of the namespace has
 *   exited, and the harness reaps C, so when sbx_run() returns nothing of
 *   the sandbox is left.
 * - The untrusted program runs as uid 1000 inside its user namespace,
 *   mapped to nobody (65534) outside when the harness is root, else to the
 *   harness's own uid; execve drops every capability.  The mounts are made
 *   by init with its namespace capabilities before that.
 * - stdin is a memfd filled by init (no pipe to keep fed); stdout is kept
 *   up to the cap (the run is killed past it), stderr keeps its last bytes.
 */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SBX_UID 1000         /* uid/gid of the program inside the namespace */
#define NOBODY 65534
#define NEWROOT "/tmp"       /* staging mount point (inside the new mount ns only) */
#define NPROC_LIMIT 64
#define NOFILE_LIMIT 256
#define FSIZE_LIMIT ((rlim_t)64 << 20)
#define AS_DEFAULT ((size_t)4 << 30)

/* ------------------------------------------------------------------ */
/* small helpers usable after fork (no allocation, no stdio)           */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Appends s to buf (capacity cap, NUL-terminated). */
static void cat(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    while (*s && n + 1 < cap)
        buf[n++] = *s++;
    buf[n] = 0;
}

static void fmt_int(char *buf, size_t cap, long v)
{
    char tmp[24];
    int i = 0, neg = v < 0;
    unsigned long u = neg ? (unsigned long)(-(v + 1)) + 1 : (unsigned long)v;
    do {
        tmp[i++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t n = 0;
    if (neg && n + 1 < cap)
        buf[n++] = '-';
    while (i > 0 && n + 1 < cap)
        buf[n++] = tmp[--i];
    buf[n] = 0;
}

/* Sends "E<step>: <strerror>" on the status pipe and exits (child side). */
static void die_step(int stat_fd, const char *step, int err) __attribute__((noreturn));
static void die_step(int stat_fd, const char *step, int err)
{
    char msg[400] = "E";
    cat(msg, sizeof msg, "sandbox: ");
    cat(msg, sizeof msg, step);
    cat(msg, sizeof msg, " refused: ");
    cat(msg, sizeof msg, strerror(err));
    (void)!write(stat_fd, msg, strlen(msg));
    _exit(127);
}

/* Closes every descriptor >= 3 except those in keep[]. */
static void close_others(const int *keep, int nkeep)
{
    int sorted[16];
    int n = 0;
    for (int i = 0; i < nkeep && n < 16; i++)
        if (keep[i] >= 3)
            sorted[n++] = keep[i];
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            int t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    unsigned lo = 3;
    for (int i = 0; i < n; i++) {
        if ((unsigned)sorted[i] > lo)
            syscall(SYS_close_range, lo, (unsigned)sorted[i] - 1, 0);
        lo = (unsigned)sorted[i] + 1;
    }
    syscall(SYS_close_range, lo, ~0U, 0);
}

static int write_file(const char *path, const char *data, size_t len, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, data, len);
    close(fd);
    return rc;
}

/* mkdir -p for an absolute path (mode 0755). */
static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

/* Mount flags that a read-only remount of a bind of src must keep (the
 * kernel refuses to clear locked flags inside a user namespace). */
static unsigned long locked_flags(const char *src)
{
    struct statvfs sv;
    unsigned long f = 0;
    if (statvfs(src, &sv) != 0)
        return 0;
    if (sv.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME)
        f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME)
        f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME)
        f |= MS_RELATIME;
    return f;
}

/* Binds src read-only at dst (which must exist).  0 or -1. */
static int bind_ro(const char *src, const char *dst)
{
    if (mount(src, dst, NULL, MS_BIND, NULL) != 0)
        return -1;
    unsigned long f = locked_flags(src) | MS_NOSUID;
    return mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | f, NULL);
}

static void path_join(char *out, size_t cap, const char *a, const char *b)
{
    out[0] = 0;
    cat(out, cap, a);
    cat(out, cap, b);
}

/* ------------------------------------------------------------------ */
/* seccomp                                                              */

static const char *const denied_syscalls[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount", "umount2",
    "pivot_root", "chroot", "bpf", "perf_event_open", "kexec_load", "kexec_file_load",
    "keyctl", "add_key", "request_key", "unshare", "setns", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "acct", "quotactl", "lookup_dcookie",
    "open_by_handle_at", "name_to_handle_at", "userfaultfd", "fanotify_init", "syslog",
    "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "sethostname",
    "setdomainname", "iopl", "ioperm", "vhangup", "mount_setattr", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "kcmp", "pidfd_getfd", "nfsservctl", "uselib",
    "personality", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "create_module", "get_kernel_syms", "query_module", "vm86", "vm86old", "_sysctl",
    "lsm_set_self_attr",
    /* IPC objects would outlive a test inside a warm server's IPC namespace */
    "shmget", "msgget", "semget", "mq_open",
};

static int add_rule(scmp_filter_ctx ctx, uint32_t act, const char *name, unsigned n,
                    struct scmp_arg_cmp *cmp)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0; /* not on this architecture */
    return seccomp_rule_add_array(ctx, act, nr, n, cmp);
}

/* The filter (default allow; listed calls fail with EPERM, clone3 with
 * ENOSYS so libc falls back to clone, whose namespace flags are refused;
 * sockets other than AF_UNIX refused), compiled once in the parent into a
 * BPF program: the sandbox's children run after fork() in a process that
 * may have other threads, so they must not allocate (libseccomp does), and
 * only hand the ready program to the kernel. */
static pthread_once_t filter_once = PTHREAD_ONCE_INIT;
static struct sock_filter *filter_prog;
static unsigned short filter_len;
static int filter_rc = -EAGAIN; /* 0 once compiled, else -errno */

static int add_rules(scmp_filter_ctx ctx)
{
    int rc = 0;
    for (size_t i = 0; i < sizeof denied_syscalls / sizeof denied_syscalls[0] && rc == 0; i++)
        rc = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), denied_syscalls[i], 0, NULL);
    struct scmp_arg_cmp c;
    if (rc == 0) {
        c = SCMP_A0(SCMP_CMP_NE, AF_UNIX);
        rc = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, &c);
    }
    if (rc == 0)
        rc = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "socketpair", 1, &c);
    static const unsigned long ns_flags[] = {CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWPID,
                                             CLONE_NEWNET,  CLONE_NEWIPC, CLONE_NEWUTS,
                                             CLONE_NEWCGROUP, 0x00000080 /* CLONE_NEWTIME */};
    for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0] && rc == 0; i++) {
        c = SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);
        rc = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &c);
    }
    if (rc == 0)
        rc = add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
    if (rc == 0) {
        c = SCMP_A1(SCMP_CMP_EQ, 0x5412 /* TIOCSTI */);
        rc = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &c);
    }
    return rc;
}

/* pthread_once: builds the rules and exports the BPF program through a
 * memfd into filter_prog. */
static void compile_filter(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        filter_rc = -ENOMEM;
        return;
    }
    int rc = add_rules(ctx), fd = -1;
    if (rc == 0 && (fd = memfd_create("zeval-seccomp", MFD_CLOEXEC)) < 0)
        rc = -errno;
    if (rc == 0)
        rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    struct stat st;
    if (rc == 0 && fstat(fd, &st) != 0)
        rc = -errno;
    size_t n = rc == 0 ? (size_t)st.st_size : 0;
    if (rc == 0 && (n == 0 || n % sizeof(struct sock_filter) || n / sizeof(struct sock_filter) > 0xFFFF))
        rc = -EINVAL;
    if (rc == 0 && !(filter_prog = malloc(n)))
        rc = -ENOMEM;
    if (rc == 0 && pread(fd, filter_prog, n, 0) != (ssize_t)n)
        rc = -EIO;
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        filter_len = (unsigned short)(n / sizeof(struct sock_filter));
    filter_rc = rc;
}

/* In the child, after PR_SET_NO_NEW_PRIVS: installs the compiled filter
 * (no allocation).  0 or -errno. */
static int load_seccomp(void)
{
    if (filter_rc != 0)
        return filter_rc;
    struct sock_fprog prog = {filter_len, filter_prog};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -errno;
    return 0;
}

/* ------------------------------------------------------------------ */
/* the processes                                                        */

typedef struct {
    const sbx_config *cfg;
    const char *python;
    const char *const *argv;
    const sbx_file *files;
    int nfiles;
    const void *stdin_data;
    size_t stdin_len;
    int warm;                 /* stdin is the in pipe, not a memfd */
    char unsafe_dir[PATH_MAX]; /* unsafe mode: the temp dir (files in sbx/, cwd work/) */
    /* pipe ends */
    int out_w, err_w, stat_w, sync_w, ack_r, in_r;
} spawn_args;

static const char *const env_safe[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONINTMAXSTRDIGITS=0",
    "PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp", "TMPDIR=/tmp", NULL,
};

/* The python process: limits, environment, seccomp, execve.  Never returns. */
static void exec_python(spawn_args *a, int stdin_fd, int sandboxed) __attribute__((noreturn));
static void exec_python(spawn_args *a, int stdin_fd, int sandboxed)
{
    int stat_fd = a->stat_w;
    if (dup2(stdin_fd, 0) < 0 || dup2(a->out_w, 1) < 0 || dup2(a->err_w, 2) < 0)
        die_step(stat_fd, "dup2", errno);
    int keep[] = {stat_fd};
    close_others(keep, 1);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* environment */
    char home[PATH_MAX + 8] = "HOME=", tmpd[PATH_MAX + 8] = "TMPDIR=", tag[256] = "ZEVAL_SBX_TAG=";
    const char *envp[12];
    int ne = 0;
    for (int i = 0; env_safe[i]; i++) {
        if (!sandboxed && strncmp(env_safe[i], "HOME=", 5) == 0) {
            cat(home, sizeof home, a->unsafe_dir);
            cat(home, sizeof home, "/work");
            envp[ne++] = home;
        } else if (!sandboxed && strncmp(env_safe[i], "TMPDIR=", 7) == 0) {
            cat(tmpd, sizeof tmpd, a->unsafe_dir);
            cat(tmpd, sizeof tmpd, "/work");
            envp[ne++] = tmpd;
        } else {
            envp[ne++] = env_safe[i];
        }
    }
    if (a->cfg->tag) {
        cat(tag, sizeof tag, a->cfg->tag);
        envp[ne++] = tag;
    }
    envp[ne] = NULL;

    /* argv: argv[0] is the interpreter; unsafe mode maps /sbx/ paths */
    const char *av[32];
    static char mapped[8][PATH_MAX];
    int na = 0, nm = 0;
    av[na++] = a->python;
    for (int i = 1; a->argv[i] && na < 31; i++) {
        if (!sandboxed && strncmp(a->argv[i], "/sbx/", 5) == 0 && nm < 8) {
            mapped[nm][0] = 0;
            cat(mapped[nm], PATH_MAX, a->unsafe_dir);
            cat(mapped[nm], PATH_MAX, a->argv[i]);
            av[na++] = mapped[nm++];
        } else {
            av[na++] = a->argv[i];
        }
    }
    av[na] = NULL;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        die_step(stat_fd, "prctl(PR_SET_NO_NEW_PRIVS)", errno);
    if (sandboxed) {
        int rc = load_seccomp();
        if (rc != 0)
            die_step(stat_fd, "seccomp filter (libseccomp)", -rc);
    }
    /* Limits last: nothing may allocate after RLIMIT_AS (the sanitizer
     * runtime of the test builds reserves terabytes of address space). */
    double cpu = a->cfg->cpu_s > 0 ? a->cfg->cpu_s : 10;
    rlim_t cpu_soft = (rlim_t)(cpu + 0.999);
    struct rlimit rl;
    size_t as = a->cfg->as_bytes ? a->cfg->as_bytes : AS_DEFAULT;
    struct {
        int res;
        rlim_t soft, hard;
        const char *name;
    } lim[] = {
        {RLIMIT_CPU, cpu_soft, cpu_soft + 1, "setrlimit(RLIMIT_CPU)"},
        {RLIMIT_AS, (rlim_t)as, (rlim_t)as, "setrlimit(RLIMIT_AS)"},
        {RLIMIT_NPROC, NPROC_LIMIT, NPROC_LIMIT, "setrlimit(RLIMIT_NPROC)"},
        {RLIMIT_FSIZE, FSIZE_LIMIT, FSIZE_LIMIT, "setrlimit(RLIMIT_FSIZE)"},
        {RLIMIT_NOFILE, NOFILE_LIMIT, NOFILE_LIMIT, "setrlimit(RLIMIT_NOFILE)"},
        {RLIMIT_CORE, 0, 0, "setrlimit(RLIMIT_CORE)"},
    };
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
        if (getrlimit(lim[i].res, &rl) != 0)
            die_step(stat_fd, lim[i].name, errno);
        rlim_t soft = lim[i].soft, hard = lim[i].hard;
        if (rl.rlim_max != RLIM_INFINITY && hard > rl.rlim_max)
            hard = rl.rlim_max; /* never above the current hard limit */
        if (soft > hard)
            soft = hard;
        rl.rlim_cur = soft;
        rl.rlim_max = hard;
        if (setrlimit(lim[i].res, &rl) != 0)
            die_step(stat_fd, lim[i].name, errno);
    }

    execve(a->python, (char *const *)av, (char *const *)envp);
    die_step(stat_fd, "execve of the python interpreter", errno);
}

/* Builds the new root and pivots into it (init, inside the namespaces). */
static void build_root(spawn_args *a)
{
    int sf = a->stat_w;
    char p[PATH_MAX], q[PATH_MAX];
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        die_step(sf, "mount --make-rprivate /", errno);
    if (mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,nr_inodes=4096,mode=0755") !=
        0)
        die_step(sf, "mount tmpfs (new root)", errno);
    static const char *const dirs[] = {"/usr", "/dev", "/proc", "/tmp", "/sbx", "/etc", "/oldroot"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        path_join(p, sizeof p, NEWROOT, dirs[i]);
        if (mkdir(p, 0755) != 0)
            die_step(sf, "mkdir in the new root", errno);
    }
    path_join(p, sizeof p, NEWROOT, "/usr");
    if (bind_ro("/usr", p) != 0)
        die_step(sf, "read-only bind mount of /usr", errno);
    static const char *const links[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        struct stat st;
        if (lstat(links[i], &st) != 0)
            continue;
        path_join(p, sizeof p, NEWROOT, links[i]);
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(links[i], q, sizeof q - 1);
            if (n < 0)
                die_step(sf, "readlink of a /lib link", errno);
            q[n] = 0;
            if (symlink(q, p) != 0)
                die_step(sf, "symlink in the new root", errno);
        } else if (S_ISDIR(st.st_mode)) {
            if (mkdir(p, 0755) != 0 || bind_ro(links[i], p) != 0)
                die_step(sf, "read-only bind mount of a /lib directory", errno);
        }
    }
    /* An interpreter outside /usr: bind its installation prefix too. */
    if (strncmp(a->python, "/usr/", 5) != 0) {
        char real[PATH_MAX];
        if (!realpath(a->python, real))
            die_step(sf, "realpath of the python interpreter", errno);
        char *s = strrchr(real, '/');
        if (s && s != real)
            *s = 0; /* .../bin */
        s = strrchr(real, '/');
        if (s && s != real)
            *s = 0; /* the prefix */
        if (strncmp(real, "/usr/", 5) != 0) {
            path_join(p, sizeof p, NEWROOT, real);
            if (mkdir_p(p) != 0 || bind_ro(real, p) != 0)
                die_step(sf, "read-only bind mount of the python prefix", errno);
        }
    }
    /* /etc: only what the dynamic loader and getpwuid need */
    static const char passwd[] = "root:x:0:0::/:/usr/sbin/nologin\nsandbox:x:1000:1000::/tmp:/bin/sh\n";
    static const char group[] = "root:x:0:\nsandbox:x:1000:\n";
    path_join(p, sizeof p, NEWROOT, "/etc/passwd");
    if (write_file(p, passwd, sizeof passwd - 1, 0644) != 0)
        die_step(sf, "writing /etc/passwd", errno);
    path_join(p, sizeof p, NEWROOT, "/etc/group");
    if (write_file(p, group, sizeof group - 1, 0644) != 0)
        die_step(sf, "writing /etc/group", errno);
    if (access("/etc/ld.so.cache", R_OK) == 0) {
        path_join(p, sizeof p, NEWROOT, "/etc/ld.so.cache");
        if (write_file(p, "", 0, 0644) != 0 || bind_ro("/etc/ld.so.cache", p) != 0)
            die_step(sf, "bind mount of /etc/ld.so.cache", errno);
    }
    /* /dev: a few harmless nodes */
    static const char *const devs[] = {"null", "zero", "full", "random", "urandom"};
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        path_join(q, sizeof q, "/dev/", devs[i]);
        path_join(p, sizeof p, NEWROOT "/dev/", devs[i]);
        if (write_file(p, "", 0, 0666) != 0 || mount(q, p, NULL, MS_BIND, NULL) != 0)
            die_step(sf, "bind mount of a /dev node", errno);
    }
    static const char *const dlinks[][2] = {{"/proc/self/fd", "/dev/fd"},
                                            {"/proc/self/fd/0", "/dev/stdin"},
                                            {"/proc/self/fd/1", "/dev/stdout"},
                                            {"/proc/self/fd/2", "/dev/stderr"}};
    for (size_t i = 0; i < sizeof dlinks / sizeof dlinks[0]; i++) {
        path_join(p, sizeof p, NEWROOT, dlinks[i][1]);
        if (symlink(dlinks[i][0], p) != 0)
            die_step(sf, "symlink in /dev", errno);
    }
    /* the caller's files */
    for (int i = 0; i < a->nfiles; i++) {
        if (strchr(a->files[i].name, '/'))
            die_step(sf, "a file name with '/'", EINVAL);
        path_join(p, sizeof p, NEWROOT "/sbx/", a->files[i].name);
        if (write_file(p, a->files[i].data, a->files[i].len, 0444) != 0)
            die_step(sf, "writing the program files", errno);
    }
    /* the private working directory */
    path_join(p, sizeof p, NEWROOT, "/tmp");
    if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV,
              "size=128m,nr_inodes=8192,mode=1777") != 0)
        die_step(sf, "mount tmpfs (working directory)", errno);
    /* a fresh /proc of the new PID namespace: shows only the sandbox.  If
     * the kernel refuses (a masked host /proc), /proc stays empty, which
     * is stricter. */
    path_join(p, sizeof p, NEWROOT, "/proc");
    (void)mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

    if (syscall(SYS_pivot_root, NEWROOT, NEWROOT "/oldroot") != 0)
        die_step(sf, "pivot_root", errno);
    if (chdir("/") != 0)
        die_step(sf, "chdir /", errno);
    if (umount2("/oldroot", MNT_DETACH) != 0)
        die_step(sf, "unmount of the old root", errno);
    if (rmdir("/oldroot") != 0)
        die_step(sf, "rmdir /oldroot", errno);
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
        die_step(sf, "read-only remount of the new root", errno);
    if (sethostname("sandbox", 7) != 0)
        die_step(sf, "sethostname (UTS namespace)", errno);
    if (chdir("/tmp") != 0)
        die_step(sf, "chdir /tmp", errno);
}

/* Blanks this process's copy of the harness's argv and environment, which
 * /proc/1/cmdline of the sandbox would otherwise show (environ is already
 * unreadable: init is not dumpable).  Fields 48-51 of /proc/self/stat. */
static void scrub_args(void)
{
    char buf[2048];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = 0;
    char *s = strrchr(buf, ')');
    if (!s)
        return;
    unsigned long v[4] = {0, 0, 0, 0};
    int field = 2;
    for (char *t = s + 1; *t && field < 51; ) {
        while (*t == ' ')
            t++;
        field++;
        char *e;
        unsigned long x = strtoul(t, &e, 10);
        if (field >= 48)
            v[field - 48] = x;
        t = e;
        while (*t && *t != ' ')
            t++;
    }
    if (field < 51)
        return;
    for (int i = 0; i < 4; i += 2)
        if (v[i] && v[i + 1] > v[i] && v[i + 1] - v[i] < (1UL << 24))
            memset((void *)(uintptr_t)v[i], 0, v[i + 1] - v[i]);
}

/* init: PID 1 of the sandbox.  Never returns. */
static void run_init(spawn_args *a, int life_r) __attribute__((noreturn));
static void run_init(spawn_args *a, int life_r)
{
    int sf = a->stat_w;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        die_step(sf, "prctl(PR_SET_PDEATHSIG)", errno);
    /* C may have died before the prctl: its end of the life pipe is gone. */
    struct pollfd pl = {life_r, POLLIN, 0};
    if (poll(&pl, 1, 0) > 0)
        _exit(127);
    close(life_r);
    prctl(PR_SET_DUMPABLE, 0);
    /* The strings exec needs may live in the harness's argv: copy them
     * before blanking it (files and stdin are heap data). */
    static char strs[16384];
    static const char *av[32];
    static sbx_config cfg;
    size_t used = 0;
    int na = 0;
    const char *src[34];
    int ns = 0;
    src[ns++] = a->python;
    src[ns++] = a->cfg->tag;
    for (int i = 0; a->argv[i] && i < 31; i++)
        src[ns++] = a->argv[i];
    const char *dst[34];
    for (int i = 0; i < ns; i++) {
        dst[i] = NULL;
        if (!src[i])
            continue;
        size_t l = strlen(src[i]) + 1;
        if (used + l > sizeof strs)
            die_step(sf, "copying the arguments (too long)", E2BIG);
        memcpy(strs + used, src[i], l);
        dst[i] = strs + used;
        used += l;
    }
    for (int i = 2; i < ns; i++)
        av[na++] = dst[i];
    av[na] = NULL;
    cfg = *a->cfg;
    cfg.tag = dst[1];
    a->cfg = &cfg;
    a->python = dst[0];
    a->argv = av;
    scrub_args();
    if (setresgid(SBX_UID, SBX_UID, SBX_UID) != 0)
        die_step(sf, "setresgid in the user namespace", errno);
    if (setresuid(SBX_UID, SBX_UID, SBX_UID) != 0)
        die_step(sf, "setresuid in the user namespace", errno);
    build_root(a);

    int stdin_fd;
    if (a->warm) {
        stdin_fd = a->in_r;
    } else {
        stdin_fd = memfd_create("stdin", MFD_CLOEXEC);
        if (stdin_fd < 0)
            die_step(sf, "memfd_create", errno);
        if (a->stdin_len && write_all(stdin_fd, a->stdin_data, a->stdin_len) != 0)
            die_step(sf, "writing stdin", errno);
        if (lseek(stdin_fd, 0, SEEK_SET) != 0)
            die_step(sf, "lseek", errno);
    }
    pid_t py = fork();
    if (py < 0)
        die_step(sf, "fork of python", errno);
    if (py == 0)
        exec_python(a, stdin_fd, 1);
    /* Only the status pipe stays open in init. */
    int keep[] = {sf};
    close_others(keep, 1);
    close(0);
    close(1);
    close(2);
    int status = 0, got = 0;
    for (;;) {
        int st;
        pid_t w = waitpid(-1, &st, __WALL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: the namespace is empty */
        }
        if (w == py) {
            status = st;
            got = 1;
            kill(-1, SIGKILL); /* every other process of the namespace */
        }
    }
    if (got) {
        char msg[1 + sizeof status];
        msg[0] = 'S';
        memcpy(msg + 1, &status, sizeof status);
        (void)!write(sf, msg, sizeof msg);
    }
    _exit(0);
}

/* C: namespaces, then forks init and reaps it.  Never returns. */
static void run_c(spawn_args *a) __attribute__((noreturn));
static void run_c(spawn_args *a)
{
    int sf = a->stat_w;
    setsid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        die_step(sf, "prctl(PR_SET_PDEATHSIG)", errno);
    int keep[] = {a->out_w, a->err_w, a->stat_w, a->sync_w, a->ack_r, a->in_r};
    close_others(keep, 6);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
        die_step(sf, "opening /dev/null", errno);
    close(devnull);
    if (geteuid() == 0 && setgroups(0, NULL) != 0)
        die_step(sf, "setgroups (dropping supplementary groups)", errno);
    static const struct {
        int flag;
        const char *name;
    } ns[] = {
        {CLONE_NEWUSER, "unshare(CLONE_NEWUSER) (user namespace)"},
        {CLONE_NEWNS, "unshare(CLONE_NEWNS) (mount namespace)"},
        {CLONE_NEWPID, "unshare(CLONE_NEWPID) (PID namespace)"},
        {CLONE_NEWIPC, "unshare(CLONE_NEWIPC) (IPC namespace)"},
        {CLONE_NEWUTS, "unshare(CLONE_NEWUTS) (UTS namespace)"},
        {CLONE_NEWNET, "unshare(CLONE_NEWNET) (network namespace)"},
    };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        if (unshare(ns[i].flag) != 0)
            die_step(sf, ns[i].name, errno);
    char c = 'u';
    if (write_all(a->sync_w, &c, 1) != 0 || read_full(a->ack_r, &c, 1) != 0 || c != 'k')
        _exit(127); /* the harness refused the map and reports it */
    int life[2];
    if (pipe2(life, O_CLOEXEC) != 0)
        die_step(sf, "pipe", errno);
    pid_t init = fork();
    if (init < 0)
        die_step(sf, "fork of the namespace init", errno);
    if (init == 0) {
        close(life[1]);
        run_init(a, life[0]);
    }
    close(life[0]);
    close(a->out_w);
    close(a->err_w);
    if (a->in_r >= 0)
        close(a->in_r);
    /* Tell the harness init's pid and wait until it holds a pidfd on it. */
    char msg[1 + sizeof init];
    msg[0] = 'p';
    memcpy(msg + 1, &init, sizeof init);
    if (write_all(a->sync_w, msg, sizeof msg) != 0 || read_full(a->ack_r, &c, 1) != 0) {
        kill(init, SIGKILL);
        c = 'x';
    }
    close(sf);
    int st;
    while (waitpid(init, &st, 0) < 0 && errno == EINTR)
        ;
    _exit(0);
}

/* ------------------------------------------------------------------ */
/* the harness side                                                     */

typedef struct {
    pid_t c_pid;      /* the child the harness reaps */
    int pidfd;        /* init (sandbox) or the process (unsafe) */
    int out_r, err_r, stat_r, in_w;
    int unsafe;
    char dir[PATH_MAX]; /* unsafe: the temp dir to remove */
    double start, deadline;
    int killed_timeout, killed_output;
    int status_known, status;
    char emsg[400];
} proc;

static pthread_once_t sig_once = PTHREAD_ONCE_INIT;
static void ignore_sigpipe(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static int map_write(pid_t pid, const char *file, const char *text)
{
    char path[64] = "/proc/", num[24];
    fmt_int(num, sizeof num, pid);
    cat(path, sizeof path, num);
    cat(path, sizeof path, "/");
    cat(path, sizeof path, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static void rm_tree(const char *dir)
{
    /* unsafe mode only: a temp dir the harness created */
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/rm", "rm", "-rf", "--", dir, (char *)NULL);
        _exit(127);
    }
    if (p > 0)
        while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
            ;
}

static void kill_proc(proc *p)
{
    if (p->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
    if (p->unsafe && p->c_pid > 0)
        kill(-p->c_pid, SIGKILL);
}

/* Starts the sandbox; 0, or -1 with err (harness failure) — a refused
 * sandbox step is 0 with p->emsg set. */
static int proc_start(proc *p, spawn_args *a, char *err, size_t errlen)
{
    pthread_once(&sig_once, ignore_sigpipe);
    pthread_once(&filter_once, compile_filter);
    memset(p, 0, sizeof *p);
    p->c_pid = -1;
    p->pidfd = p->out_r = p->err_r = p->stat_r = p->in_w = -1;
    p->unsafe = a->cfg->unsafe;
    p->start = now_s();
    p->deadline = p->start + (a->cfg->wall_s > 0 ? a->cfg->wall_s : 10);
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, ps[2] = {-1, -1}, psync[2] = {-1, -1},
        pack[2] = {-1, -1}, pin[2] = {-1, -1};
    if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || pipe2(ps, O_CLOEXEC) ||
        pipe2(psync, O_CLOEXEC) || pipe2(pack, O_CLOEXEC) || (a->warm && pipe2(pin, O_CLOEXEC))) {
        snprintf(err, errlen, "sandbox: pipe: %s", strerror(errno));
        goto fail;
    }
    a->out_w = po[1];
    a->err_w = pe[1];
    a->stat_w = ps[1];
    a->sync_w = psync[1];
    a->ack_r = pack[0];
    a->in_r = pin[0];
    if (p->unsafe) {
        char tmpl[] = "/tmp/zeval-unsafe-XXXXXX";
        if (!mkdtemp(tmpl)) {
            snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
            goto fail;
        }
        snprintf(p->dir, sizeof p->dir, "%s", tmpl);
        snprintf(a->unsafe_dir, sizeof a->unsafe_dir, "%s", tmpl);
        char d[PATH_MAX + 16];
        snprintf(d, sizeof d, "%s/sbx", tmpl);
        mkdir(d, 0700);
        snprintf(d, sizeof d, "%s/work", tmpl);
        mkdir(d, 0700);
        for (int i = 0; i < a->nfiles; i++) {
            snprintf(d, sizeof d, "%s/sbx/%s", tmpl, a->files[i].name);
            if (strchr(a->files[i].name, '/') ||
                write_file(d, a->files[i].data, a->files[i].len, 0444) != 0) {
                snprintf(err, errlen, "cannot write %s", d);
                goto fail;
            }
        }
    }
    pid_t c = fork();
    if (c < 0) {
        snprintf(err, errlen, "sandbox: fork: %s", strerror(errno));
        goto fail;
    }
    if (c == 0) {
        if (!a->cfg->unsafe)
            run_c(a);
        /* unsafe: only a process group, rlimits and a clean environment */
        setpgid(0, 0);
        char wd[PATH_MAX + 8];
        wd[0] = 0;
        cat(wd, sizeof wd, a->unsafe_dir);
        cat(wd, sizeof wd, "/work");
        if (chdir(wd) != 0)
            die_step(a->stat_w, "chdir", errno);
        int fd = memfd_create("stdin", MFD_CLOEXEC);
        if (fd < 0 || (a->stdin_len && write_all(fd, a->stdin_data, a->stdin_len) != 0) ||
            lseek(fd, 0, SEEK_SET) != 0)
            die_step(a->stat_w, "memfd", errno);
        exec_python(a, a->warm ? a->in_r : fd, 0);
    }
    p->c_pid = c;
    if (p->unsafe)
        setpgid(c, c);
    close(po[1]);
    close(pe[1]);
    close(ps[1]);
    close(psync[1]);
    close(pack[0]);
    if (pin[0] >= 0)
        close(pin[0]);
    po[1] = pe[1] = ps[1] = psync[1] = pack[0] = pin[0] = -1;
    p->out_r = po[0];
    p->err_r = pe[0];
    p->stat_r = ps[0];
    p->in_w = pin[1];
    po[0] = pe[0] = ps[0] = pin[1] = -1;

    if (p->unsafe) {
        p->pidfd = (int)syscall(SYS_pidfd_open, c, 0);
        close(psync[0]);
        close(pack[1]);
        return 0;
    }
    /* user namespace map, then init's pid */
    char ch;
    if (read_full(psync[0], &ch, 1) != 0 || ch != 'u') {
        /* C failed before unsharing everything: its message is on stat */
        close(psync[0]);
        close(pack[1]);
        return 0;
    }
    char map[64];
    unsigned outer_uid = geteuid() == 0 ? NOBODY : (unsigned)geteuid();
    unsigned outer_gid = geteuid() == 0 ? NOBODY : (unsigned)getegid();
    snprintf(map, sizeof map, "%d %u 1\n", SBX_UID, outer_uid);
    const char *step = "writing uid_map";
    int rc = map_write(c, "uid_map", map);
    if (rc == 0) {
        step = "writing setgroups";
        rc = map_write(c, "setgroups", "deny");
    }
    if (rc == 0) {
        step = "writing gid_map";
        snprintf(map, sizeof map, "%d %u 1\n", SBX_UID, outer_gid);
        rc = map_write(c, "gid_map", map);
    }
    if (rc != 0) {
        snprintf(p->emsg, sizeof p->emsg, "sandbox: %s (user namespace) refused: %s", step,
                 strerror(errno));
        kill(c, SIGKILL);
        close(psync[0]);
        close(pack[1]);
        return 0;
    }
    ch = 'k';
    char msg[1 + sizeof(pid_t)];
    if (write_all(pack[1], &ch, 1) != 0 || read_full(psync[0], msg, sizeof msg) != 0 ||
        msg[0] != 'p') {
        close(psync[0]);
        close(pack[1]);
        return 0; /* C died; stat says why */
    }
    pid_t init;
    memcpy(&init, msg + 1, sizeof init);
    p->pidfd = (int)syscall(SYS_pidfd_open, init, 0);
    if (p->pidfd < 0) {
        snprintf(p->emsg, sizeof p->emsg, "sandbox: pidfd_open refused: %s", strerror(errno));
        kill(init, SIGKILL); /* not yet reaped: C waits for our ack */
    }
    (void)write_all(pack[1], &ch, 1);
    close(psync[0]);
    close(pack[1]);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        int *all[] = {po, pe, ps, psync, pack, pin};
        for (int j = 0; j < 6; j++)
            if (all[j][i] >= 0)
                close(all[j][i]);
    }
    if (p->dir[0])
        rm_tree(p->dir);
    return -1;
}

typedef struct {
    char *buf;
    size_t len, cap, limit;
} obuf;

/* Appends; returns 1 when the limit was exceeded (data beyond it dropped). */
static int obuf_add(obuf *b, const char *d, size_t n)
{
    int over = 0;
    if (b->len + n > b->limit) {
        n = b->limit - b->len;
        over = 1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *nb = realloc(b->buf, nc);
        if (!nb)
            return 1;
        b->buf = nb;
        b->cap = nc;
    }
    memcpy(b->buf + b->len, d, n);
    b->len += n;
    b->buf[b->len] = 0;
    return over;
}

/* Keeps the last `limit` bytes. */
static void tail_add(obuf *b, const char *d, size_t n)
{
    if (n >= b->limit) {
        d += n - b->limit;
        n = b->limit;
    }
    if (b->len + n > b->limit) {
        size_t drop = b->len + n - b->limit;
        memmove(b->buf, b->buf + drop, b->len - drop);
        b->len -= drop;
    }
    obuf_add(b, d, n);
}

static void stat_parse(proc *p, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == 'S' && i + 1 + sizeof(int) <= n) {
            memcpy(&p->status, s + i + 1, sizeof(int));
            p->status_known = 1;
            i += 1 + sizeof(int);
        } else if (s[i] == 'E') {
            if (!p->emsg[0]) {
                size_t m = n - i - 1;
                if (m >= sizeof p->emsg)
                    m = sizeof p->emsg - 1;
                memcpy(p->emsg, s + i + 1, m);
                p->emsg[m] = 0;
            }
            break;
        } else {
            break;
        }
    }
}

/* Pumps stdout/stderr/status until stop_out bytes are available in out (a
 * warm reply) or everything is closed (-1 stop_out: run to the end), the
 * deadline passes, or output goes over the cap.  Returns 1 if the sandbox
 * has ended (all pipes closed), else 0. */
static int proc_pump(proc *p, obuf *out, obuf *errb, obuf *stat, size_t stop_out)
{
    char buf[65536];
    for (;;) {
        if (stop_out != (size_t)-1 && out->len >= stop_out)
            return 0;
        struct pollfd fds[3];
        int nf = 0, io = -1, ie = -1, is = -1;
        if (p->out_r >= 0) {
            io = nf;
            fds[nf++] = (struct pollfd){p->out_r, POLLIN, 0};
        }
        if (p->err_r >= 0) {
            ie = nf;
            fds[nf++] = (struct pollfd){p->err_r, POLLIN, 0};
        }
        if (p->stat_r >= 0) {
            is = nf;
            fds[nf++] = (struct pollfd){p->stat_r, POLLIN, 0};
        }
        if (nf == 0)
            return 1;
        double left = p->deadline - now_s();
        if (left <= 0 && !p->killed_timeout && !p->killed_output) {
            p->killed_timeout = 1;
            kill_proc(p);
        }
        int ms = left <= 0 ? 100 : left > 3600 ? 3600000 : (int)(left * 1000) + 1;
        if (p->killed_timeout || p->killed_output)
            ms = 1000; /* draining after SIGKILL */
        int r = poll(fds, (nfds_t)nf, ms);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (r == 0) {
            if (p->killed_timeout || p->killed_output) {
                /* should not happen: everything was killed; give up on the pipes */
                kill_proc(p);
            }
            continue;
        }
        if (io >= 0 && fds[io].revents) {
            ssize_t n = read(p->out_r, buf, sizeof buf);
            if (n > 0) {
                if (!p->killed_output && obuf_add(out, buf, (size_t)n)) {
                    p->killed_output = 1;
                    kill_proc(p);
                }
            } else if (n == 0 || errno != EINTR) {
                close(p->out_r);
                p->out_r = -1;
            }
        }
        if (ie >= 0 && fds[ie].revents) {
            ssize_t n = read(p->err_r, buf, sizeof buf);
            if (n > 0) {
                tail_add(errb, buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(p->err_r);
                p->err_r = -1;
            }
        }
        if (is >= 0 && fds[is].revents) {
            ssize_t n = read(p->stat_r, buf, sizeof buf);
            if (n > 0) {
                obuf_add(stat, buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(p->stat_r);
                p->stat_r = -1;
            }
        }
    }
}

/* Kills what is left, reaps, fills res. */
static void proc_finish(proc *p, obuf *out, obuf *errb, obuf *stat, sbx_result *res)
{
    kill_proc(p);
    if (p->in_w >= 0)
        close(p->in_w);
    p->in_w = -1;
    /* drain: every holder of the pipes is dying */
    double save = p->deadline;
    p->deadline = now_s() + 5;
    proc_pump(p, out, errb, stat, (size_t)-1);
    p->deadline = save;
    int st = 0;
    if (p->c_pid > 0) {
        while (waitpid(p->c_pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (p->unsafe)
            kill(-p->c_pid, SIGKILL);
    }
    if (p->pidfd >= 0)
        close(p->pidfd);
    stat_parse(p, stat->buf ? stat->buf : "", stat->len);
    if (p->unsafe && !p->emsg[0]) {
        p->status_known = 1;
        p->status = st;
    }
    if (p->dir[0])
        rm_tree(p->dir);
    memset(res, 0, sizeof *res);
    res->wall_ms = (now_s() - p->start) * 1000.0;
    if (p->emsg[0]) {
        res->outcome = SBX_ERROR;
        obuf_add(errb, "\n", 1);
        obuf_add(errb, p->emsg, strlen(p->emsg));
    } else if (p->killed_output) {
        res->outcome = SBX_OUTPUT_LIMIT;
    } else if (p->killed_timeout) {
        res->outcome = SBX_TIMEOUT;
    } else if (!p->status_known) {
        res->outcome = SBX_ERROR;
        const char *m = "sandbox: the sandbox ended without reporting a status";
        obuf_add(errb, m, strlen(m));
    } else if (WIFEXITED(p->status)) {
        res->outcome = SBX_EXITED;
        res->code = WEXITSTATUS(p->status);
    } else if (WIFSIGNALED(p->status)) {
        int sig = WTERMSIG(p->status);
        res->outcome = sig == SIGXCPU ? SBX_TIMEOUT : SBX_SIGNALED;
        res->code = sig;
    } else {
        res->outcome = SBX_ERROR;
    }
    if (!out->buf)
        obuf_add(out, "", 0);
    if (!errb->buf)
        obuf_add(errb, "", 0);
    res->out = out->buf;
    res->out_len = out->len;
    res->err = errb->buf;
    res->err_len = errb->len;
    out->buf = errb->buf = NULL;
    free(stat->buf);
    stat->buf = NULL;
}

int sbx_run(const sbx_config *cfg, const char *const argv[], const sbx_file *files, int nfiles,
            const void *stdin_data, size_t stdin_len, sbx_result *res, char *err, size_t errlen)
{
    spawn_args a;
    memset(&a, 0, sizeof a);
    a.cfg = cfg;
    a.python = cfg->python ? cfg->python : SBX_DEFAULT_PYTHON;
    a.argv = argv;
    a.files = files;
    a.nfiles = nfiles;
    a.stdin_data = stdin_data;
    a.stdin_len = stdin_len;
    a.in_r = -1;
    proc p;
    memset(res, 0, sizeof *res);
    if (proc_start(&p, &a, err, errlen))
        return -1;
    obuf out = {NULL, 0, 0, cfg->out_cap ? cfg->out_cap : SBX_OUT_CAP};
    obuf errb = {NULL, 0, 0, SBX_ERR_CAP};
    obuf stat = {NULL, 0, 0, 4096};
    if (!p.emsg[0])
        proc_pump(&p, &out, &errb, &stat, (size_t)-1);
    proc_finish(&p, &out, &errb, &stat, res);
    return 0;
}

/* ------------------------------------------------------------------ */
/* warm sessions                                                        */

struct sbx_session {
    proc p;
    obuf out, errb, stat;
    size_t pos; /* consumed bytes of out */
};

int sbx_session_open(const sbx_config *cfg, const char *const argv[], const sbx_file *files,
                     int nfiles, sbx_session **outp, char *err, size_t errlen)
{
    *outp = NULL;
    sbx_session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    spawn_args a;
    memset(&a, 0, sizeof a);
    a.cfg = cfg;
    a.python = cfg->python ? cfg->python : SBX_DEFAULT_PYTHON;
    a.argv = argv;
    a.files = files;
    a.nfiles = nfiles;
    a.warm = 1;
    if (proc_start(&s->p, &a, err, errlen)) {
        free(s);
        return -1;
    }
    /* replies can be large (a whole captured stdout); the server caps them */
    s->out.limit = (cfg->out_cap ? cfg->out_cap : SBX_OUT_CAP) * 2 + (1 << 20);
    s->errb.limit = SBX_ERR_CAP;
    s->stat.limit = 4096;
    *outp = s;
    return 0;
}

/* Drops consumed bytes from the front of the buffer. */
static void session_compact(sbx_session *s)
{
    if (s->pos == 0)
        return;
    memmove(s->out.buf, s->out.buf + s->pos, s->out.len - s->pos);
    s->out.len -= s->pos;
    s->pos = 0;
}

void sbx_session_deadline(sbx_session *s, double wall_s)
{
    s->p.deadline = now_s() + (wall_s > 0 ? wall_s : 10);
}

int sbx_session_write(sbx_session *s, const void *buf, size_t len)
{
    const char *d = buf;
    while (len > 0) {
        if (s->p.emsg[0] || s->p.in_w < 0)
            return -1;
        double left = s->p.deadline - now_s();
        if (left <= 0)
            return -1;
        struct pollfd f = {s->p.in_w, POLLOUT, 0};
        int r = poll(&f, 1, left > 3600 ? 3600000 : (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        /* keep stdout flowing while we write (the server may answer early) */
        ssize_t n = write(s->p.in_w, d, len > 65536 ? 65536 : len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        d += n;
        len -= (size_t)n;
    }
    return 0;
}

int sbx_session_read(sbx_session *s, void *buf, size_t len)
{
    session_compact(s);
    if (s->out.len < len) {
        if (s->p.emsg[0])
            return -1;
        proc_pump(&s->p, &s->out, &s->errb, &s->stat, len);
    }
    if (s->out.len < len)
        return -1;
    memcpy(buf, s->out.buf, len);
    s->pos = len;
    return 0;
}

int sbx_session_readline(sbx_session *s, char *buf, size_t cap)
{
    session_compact(s);
    for (;;) {
        char *nl = s->out.buf ? memchr(s->out.buf, '\n', s->out.len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - s->out.buf);
            if (n + 1 > cap)
                return -1;
            memcpy(buf, s->out.buf, n);
            buf[n] = 0;
            s->pos = n + 1;
            return 0;
        }
        if (s->out.len + 1 > cap || s->p.emsg[0])
            return -1;
        size_t want = s->out.len + 1;
        proc_pump(&s->p, &s->out, &s->errb, &s->stat, want);
        if (s->out.len < want)
            return -1;
    }
}

void sbx_session_close(sbx_session *s, sbx_result *res)
{
    if (!s)
        return;
    sbx_result tmp;
    proc_finish(&s->p, &s->out, &s->errb, &s->stat, &tmp);
    if (res)
        *res = tmp;
    else
        sbx_result_free(&tmp);
    free(s);
}

void sbx_result_free(sbx_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
    res->out_len = res->err_len = 0;
}

const char *sbx_outcome_name(sbx_outcome o)
{
    switch (o) {
    case SBX_EXITED: return "exited";
    case SBX_SIGNALED: return "signaled";
    case SBX_TIMEOUT: return "timeout";
    case SBX_OUTPUT_LIMIT: return "output_limit";
    case SBX_ERROR: return "error";
    }
    return "?";
}

int sbx_probe(const char *python, char *why, size_t whylen)
{
    sbx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.python = python;
    cfg.wall_s = 20;
    cfg.cpu_s = 10;
    const char *argv[] = {"python3", "-c", "print('ok')", NULL};
    sbx_result r;
    if (sbx_run(&cfg, argv, NULL, 0, NULL, 0, &r, why, whylen))
        return 0;
    int ok = r.outcome == SBX_EXITED && r.code == 0 && strcmp(r.out, "ok\n") == 0;
    if (!ok)
        snprintf(why, whylen, "%s (outcome %s %d)", r.err_len ? r.err : "no message",
                 sbx_outcome_name(r.outcome), r.code);
    sbx_result_free(&r);
    return ok;
}
