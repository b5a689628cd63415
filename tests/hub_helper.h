/*
 * hub_helper.h — starts and stops tests/hub_server.py (a loopback HTTP
 * server in the Hugging Face hub layout) for the fetcher and dataset tests,
 * and inspects a cache directory.  Header-only: each test program that
 * includes it gets its own static copy.  Run from the repository root.
 */
#ifndef ZEVAL_HUB_HELPER_H
#define ZEVAL_HUB_HELPER_H

#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int port;
    char root[600], control[600], log[600], url[64];
} hub_srv;

static inline int hub_mkdirs(const char *path)
{
    char b[4096];
    if ((size_t)snprintf(b, sizeof b, "%s", path) >= sizeof b)
        return -1;
    for (char *p = b + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(b, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(b, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Starts the server on dir/root; 0 or -1. */
static inline int hub_start(hub_srv *h, const char *dir)
{
    memset(h, 0, sizeof *h);
    snprintf(h->root, sizeof h->root, "%s/root", dir);
    snprintf(h->control, sizeof h->control, "%s/control.json", dir);
    snprintf(h->log, sizeof h->log, "%s/requests.log", dir);
    if (hub_mkdirs(h->root))
        return -1;
    int p[2];
    if (pipe(p))
        return -1;
    fflush(stdout);
    h->pid = fork();
    if (h->pid < 0)
        return -1;
    if (h->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
        execlp(py, py, "tests/hub_server.py", h->root, "--control", h->control, "--log", h->log,
               (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[32] = {0};
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t r = read(p[0], line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    close(p[0]);
    h->port = atoi(line);
    if (h->port <= 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
        h->pid = 0;
        return -1;
    }
    snprintf(h->url, sizeof h->url, "http://127.0.0.1:%d", h->port);
    return 0;
}

static inline void hub_stop(hub_srv *h)
{
    if (h->pid > 0) {
        kill(h->pid, SIGTERM);
        waitpid(h->pid, NULL, 0);
        h->pid = 0;
    }
}

/* Writes root/rel (parents created). */
static inline int hub_put(const hub_srv *h, const char *rel, const void *data, size_t n)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", h->root, rel) >= sizeof path)
        return -1;
    char *slash = strrchr(path, '/');
    *slash = 0;
    if (hub_mkdirs(path))
        return -1;
    *slash = '/';
    return ck_write(path, data, n);
}

/* Counts regular files under dir: *complete those without a ".part"
 * suffix, *partial those with it. */
static inline void hub_count_files(const char *dir, int *complete, int *partial)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[4096];
        if ((size_t)snprintf(p, sizeof p, "%.2000s/%.255s", dir, e->d_name) >= sizeof p)
            continue;
        struct stat st;
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            hub_count_files(p, complete, partial);
        else {
            size_t l = strlen(e->d_name);
            if (l > 5 && !strcmp(e->d_name + l - 5, ".part"))
                (*partial)++;
            else
                (*complete)++;
        }
    }
    closedir(d);
}

/* 1 if path exists as a regular file. */
static inline int hub_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

#endif
