/* check.c — see check.h. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char cur[256];
static char why[1024];
static int cur_failed, any_failed;

void ck_begin(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cur, sizeof cur, fmt, ap);
    va_end(ap);
    cur_failed = 0;
    why[0] = 0;
}

void ck_fail_at(const char *file, int line, const char *fmt, ...)
{
    if (!cur_failed) {
        char msg[900];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(why, sizeof why, "%s (%s:%d)", msg, file, line);
    }
    cur_failed = 1;
}

int ck_end(void)
{
    if (cur_failed) {
        printf("FAIL %s: %s\n", cur, why);
        any_failed = 1;
    } else {
        printf("PASS %s\n", cur);
    }
    fflush(stdout);
    return !cur_failed;
}

void ck_skip(const char *name, const char *reason)
{
    printf("SKIP %s: %s\n", name, reason);
    fflush(stdout);
}

int ck_status(void)
{
    return any_failed;
}

const char *ck_shared(const char *rel)
{
    static char buf[4][4096];
    static int k;
    const char *root = getenv("ZEVAL_SHARED");
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", root && *root ? root : "../shared", rel);
    return b;
}

const char *ck_zeval(void)
{
    const char *z = getenv("ZEVAL_BIN");
    return z && *z ? z : "./zeval";
}

const char *ck_tmpdir(void)
{
    static char buf[256];
    const char *t = getenv("TMPDIR");
    snprintf(buf, sizeof buf, "%s/zeval-test-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        exit(1);
    }
    return buf;
}

void ck_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            ck_rmtree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int ck_run(char *const argv[], const char *out_path, char *errbuf, size_t errlen)
{
    int ep[2];
    if (pipe(ep) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(ep[1], 2);
        close(ep[0]);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(ep[1]);
    size_t got = 0;
    char tmp[4096];
    ssize_t r;
    while ((r = read(ep[0], tmp, sizeof tmp)) > 0) {
        size_t room = errlen > got + 1 ? errlen - got - 1 : 0;
        size_t take = (size_t)r < room ? (size_t)r : room;
        if (errbuf && take)
            memcpy(errbuf + got, tmp, take);
        got += take;
    }
    if (errbuf && errlen)
        errbuf[got < errlen ? got : errlen - 1] = 0;
    close(ep[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

char *ck_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        if (len)
            *len = (size_t)n;
    }
    return b;
}

int ck_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int ck_copy(const char *from, const char *to)
{
    size_t n;
    char *b = ck_slurp(from, &n);
    if (!b)
        return -1;
    int r = ck_write(to, b, n);
    free(b);
    return r;
}

double ck_maxdiff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) /* NaN propagates as a failure */
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

const st_tensor *ck_tensor(const st_file *f, const char *fmt, int k)
{
    char name[128];
    snprintf(name, sizeof name, fmt, k);
    const st_tensor *t = st_find(f, name);
    if (!t) {
        fprintf(stderr, "golden tensor %s missing\n", name);
        exit(1);
    }
    return t;
}

int ck_zeval_run(const char *const *args, const char *out_path, char *errbuf, size_t errlen)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)ck_zeval();
    for (; args[n - 1] && n < 63; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    return ck_run(argv, out_path, errbuf, errlen);
}
