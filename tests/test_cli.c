/*
 * test_cli.c — the top level of the command line: `zeval help` lists every
 * command, each listed command runs (its --help prints its usage and exits
 * 0), and no command, an unknown one or a bad argument to `presets` is a
 * usage error naming what is wrong.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <stdlib.h>
#include <string.h>

static char dir[512];

/* Runs zeval with args (NULL-terminated, at most 8); its stdout is left
 * in *out (malloc'd) and its stderr in err.  Returns the exit status. */
static int zeval(const char *const *args, char **out, char *err, size_t errlen)
{
    char *argv[10], path[600];
    int n = 0;
    argv[n++] = (char *)ck_zeval();
    while (n < 9 && args[n - 1]) {
        argv[n] = (char *)args[n - 1];
        n++;
    }
    argv[n] = NULL;
    snprintf(path, sizeof path, "%s/out", dir);
    int rc = ck_run(argv, path, err, errlen);
    *out = ck_slurp(path, NULL);
    return rc;
}

/* The command names `zeval help` lists: the first word of each indented
 * line after "commands:", up to the blank line. */
static int listed(const char *help, char names[][32], int max)
{
    const char *p = strstr(help, "commands:\n");
    int n = 0;
    if (!p)
        return 0;
    p += strlen("commands:\n");
    while (*p == ' ' && n < max) {
        while (*p == ' ')
            p++;
        size_t k = strcspn(p, " \n");
        if (k == 0 || k >= 32)
            break;
        memcpy(names[n], p, k);
        names[n++][k] = 0;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return n;
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", ck_tmpdir());
    char err[4096], *out = NULL, names[64][32];
    int n = 0;

    ck_begin("zeval help lists the commands, each with what it does");
    {
        const char *a[] = {"help", NULL};
        int rc = zeval(a, &out, err, sizeof err);
        CK(rc == 0, "exit %d", rc);
        n = out ? listed(out, names, 64) : 0;
        CK(n >= 19, "%d commands listed", n);
        static const char *const want[] = {"run", "runs", "show", "report", "compare", "generate",
                                           "fetch", "grade", "grade-code", "gpu-selftest"};
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            int found = 0;
            for (int j = 0; j < n; j++)
                found |= strcmp(names[j], want[i]) == 0;
            CK(found, "'%s' not listed", want[i]);
        }
        free(out);
    }
    ck_end();

    ck_begin("every listed command runs: --help prints its usage and exits 0");
    for (int i = 0; i < n; i++) {
        const char *a[] = {names[i], "--help", NULL};
        int rc = zeval(a, &out, err, sizeof err);
        char want[80];
        snprintf(want, sizeof want, "usage: zeval %.31s", names[i]);
        if (strcmp(names[i], "version") == 0)
            snprintf(want, sizeof want, "zeval ");
        CK(rc == 0, "%s --help: exit %d (%s)", names[i], rc, err);
        CK(out && strncmp(out, want, strlen(want)) == 0, "%s --help printed '%.60s'", names[i],
           out ? out : "");
        free(out);
    }
    ck_end();

    ck_begin("zeval version and --version print the same version line");
    {
        const char *a[] = {"version", NULL}, *b[] = {"--version", NULL};
        char *o2 = NULL;
        int r1 = zeval(a, &out, err, sizeof err), r2 = zeval(b, &o2, err, sizeof err);
        CK(r1 == 0 && r2 == 0, "exit %d / %d", r1, r2);
        CK(out && o2 && strcmp(out, o2) == 0 && strncmp(out, "zeval ", 6) == 0 &&
               strchr(out, '.') && out[strlen(out) - 1] == '\n',
           "'%s' / '%s'", out ? out : "", o2 ? o2 : "");
        free(out);
        free(o2);
    }
    ck_end();

    ck_begin("no command, or an unknown one: exit 2 with the command list on stderr");
    {
        const char *a[] = {NULL}, *b[] = {"evaluate", "--model", "x", NULL};
        int r1 = zeval(a, &out, err, sizeof err);
        CK(r1 == 2 && strstr(err, "commands:"), "no command: exit %d, stderr '%.80s'", r1, err);
        CK(out && !*out, "no command: stdout not empty");
        free(out);
        int r2 = zeval(b, &out, err, sizeof err);
        CK(r2 == 2 && strstr(err, "unknown command 'evaluate'") && strstr(err, "commands:"),
           "unknown command: exit %d, stderr '%.80s'", r2, err);
        free(out);
    }
    ck_end();

    ck_begin("presets with an argument it does not take: usage error");
    {
        const char *a[] = {"presets", "--all", NULL};
        int rc = zeval(a, &out, err, sizeof err);
        CK(rc == 2 && strstr(err, "usage: zeval presets"), "exit %d, stderr '%.80s'", rc, err);
        free(out);
    }
    ck_end();

    ck_rmtree(dir);
    return ck_status();
}
