/*
 * test_run.c — `zeval run` end to end on a random tiny checkpoint with the
 * real Gemma 3 tokenizer (issue 8 acceptance, scaled to test budgets):
 *
 *   1. AIME 2025 problems, N=4, C=2, T=2: N x (T+1) rows per problem with
 *      valid lineage, seeds, budgets and tails (§3.2); the aggregation
 *      prompt holds the parents' tails in order; T=0 (--samples), C=1 and
 *      tau >= beta behave as the spec says.
 *   2. kill -9 at five seeded moments, resuming each time: every column but
 *      the timings equals an uninterrupted run; no duplicates, no lost rows.
 *   3. show / regrade; a HumanEval run through the built-in engine.
 *   4. three datasets in one command: one run each, batches >= 16.
 *   5. a cut-short run's database carried in parts (scripts/db-carry.sh)
 *      resumes elsewhere to the uninterrupted run; a resume refuses changed
 *      weights or tokenizer; the busy time skips the pause between sittings.
 *   6. a sweep (two settings x two datasets in one command): one run each,
 *      named NAME/SETTING/DATASET, each with its own setting's lineage and
 *      the very samples the setting gives alone; killed and resumed, the
 *      same samples again.  Round 0, alike in both settings, generated once
 *      (also one request at a time); a budget sweep's round 0 generated once
 *      at the largest budget and cut for the others.
 *
 * The full-size versions (all 30 AIME problems; 90 problems at N=16) are
 * bench/rsa_accept.sh: this CPU engine needs minutes for them.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../harness/rsa.h"
#include "../engine/sampler.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Under AddressSanitizer the engine is several times slower: the ASan
 * variant runs the same checks on fewer problems and skips the two
 * heaviest cases (they run in the normal variant). */
#if defined(__SANITIZE_ADDRESS__)
#define SLOW 1
#else
#define SLOW 0
#endif

static char dir[512], model[600], data[600];
static char errbuf[16384];

static int zeval(const char *out, const char *const *args)
{
    return ck_zeval_run(args, out, errbuf, sizeof errbuf);
}

/* One integer from a query on db (or -1). */
static long long q1(const char *db, const char *sql)
{
    sqlite3 *h;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h); /* a handle is allocated even when the open fails */
        return -1;
    }
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    } else {
        fprintf(stderr, "sql error: %s\n", sqlite3_errmsg(h));
    }
    sqlite3_close(h);
    return v;
}

/* Writes the k shortest AIME 2025 problems (prompt length) to data. */
static int make_subset(int k)
{
    size_t len;
    char *all = ck_slurp(ck_shared("datasets/math/aime_2025.jsonl"), &len);
    if (!all)
        return -1;
    char *lines[64];
    int n = 0;
    for (char *p = all; *p && n < 64;) {
        char *e = strchr(p, '\n');
        lines[n++] = p;
        if (!e)
            break;
        *e = 0;
        p = e + 1;
    }
    FILE *f = fopen(data, "w");
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (lines[i] && (best < 0 || strlen(lines[i]) < strlen(lines[best])))
                best = i;
        fprintf(f, "%s\n", lines[best]);
        lines[best] = NULL;
    }
    fclose(f);
    free(all);
    return 0;
}

static int setup(void)
{
    snprintf(dir, sizeof dir, "%s", ck_tmpdir());
    snprintf(model, sizeof model, "%s/tiny", dir);
    snprintf(data, sizeof data, "%s/aime_2025_short.jsonl", dir);
    /* f32 storage: the same tiny model, several times faster on this engine */
    const char *a[] = {"init-model", "--config", "tiny", "--seed", "1", "--dtype", "f32",
                       "--out", model, NULL};
    if (zeval(NULL, a) != 0)
        return -1;
    char p[700];
    snprintf(p, sizeof p, "%s/tokenizer.json", model);
    if (ck_copy(ck_shared("tokenizer/gemma3/tokenizer.json"), p))
        return -1;
    snprintf(p, sizeof p, "%s/tokenizer_config.json", model);
    if (ck_copy(ck_shared("tokenizer/gemma3/tokenizer_config.json"), p))
        return -1;
    return make_subset(3);
}

/* Checks lineage, seeds, budgets and tails of run name in db. */
static void check_run(const char *db, const char *name, int np, int N, int C, int T, int beta,
                      int fin, int tau, int c1_own, uint64_t seed, int stored_prompts)
{
    sqlite3 *h;
    sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
    sqlite3_stmt *st;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT s.problem_id, round, candidate, parents, seed, gen_tokens, finish_reason,"
             " tail_tokens, tail, prompt, prompt_tokens FROM samples s JOIN runs r ON r.id ="
             " s.run_id WHERE r.name = '%s' ORDER BY 1, 2, 3", name);
    CK(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
    int rows = 0;
    char prev_pid[64] = "";
    char *tails[RSA_MAX_ROUNDS][16] = {{0}};
    while (sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        const char *pid = (const char *)sqlite3_column_text(st, 0);
        int r = sqlite3_column_int(st, 1), c = sqlite3_column_int(st, 2);
        const char *par = (const char *)sqlite3_column_text(st, 3);
        uint64_t sd = (uint64_t)sqlite3_column_int64(st, 4);
        int gen = sqlite3_column_int(st, 5);
        const char *fr = (const char *)sqlite3_column_text(st, 6);
        int tt = sqlite3_column_int(st, 7);
        const char *tail = (const char *)sqlite3_column_text(st, 8);
        const char *prompt = (const char *)sqlite3_column_text(st, 9);
        if (strcmp(pid, prev_pid)) {
            for (int a = 0; a < RSA_MAX_ROUNDS; a++)
                for (int b = 0; b < 16; b++) {
                    free(tails[a][b]);
                    tails[a][b] = NULL;
                }
            snprintf(prev_pid, sizeof prev_pid, "%s", pid);
        }
        if (c < 16)
            tails[r][c] = strdup(tail ? tail : "");
        CK(sd == rsa_seed(seed, pid, r, c), "%s r%d c%d: seed is not rsa_seed", pid, r, c);
        int budget = r == T ? fin : beta;
        CK(gen >= 1 && gen <= budget, "%s r%d c%d: %d tokens, budget %d", pid, r, c, gen, budget);
        CK(!strcmp(fr, "stop") || (!strcmp(fr, "length") && gen == budget),
           "%s r%d c%d: finish %s with %d tokens", pid, r, c, fr, gen);
        CK(tt <= tau && tt <= gen, "%s r%d c%d: tail %d tokens (tau %d, gen %d)", pid, r, c, tt,
           tau, gen);
        /* whole trace when shorter than tau (less trailing stop / partial char) */
        CK(tt >= (gen < tau ? gen : tau) - 4, "%s r%d c%d: tail %d tokens of %d (tau %d)", pid,
           r, c, tt, gen, tau);
        if (r == 0) {
            CK(!strcmp(par, "[]"), "round 0 parents %s", par);
            continue;
        }
        int p[16], k = 0;
        const char *q = par + 1;
        while (*q && *q != ']' && k < 16) {
            p[k++] = atoi(q);
            while (*q && *q != ',' && *q != ']')
                q++;
            if (*q == ',')
                q++;
        }
        CK(k == C, "%s r%d c%d: %d parents %s, want %d", pid, r, c, k, par, C);
        for (int a = 0; a < k; a++) {
            CK(p[a] >= 0 && p[a] < N, "parent %d out of range", p[a]);
            for (int b = a + 1; b < k; b++)
                CK(p[a] != p[b], "%s r%d c%d: parents %s repeat", pid, r, c, par);
        }
        if (C == 1 && c1_own)
            CK(p[0] == c, "C=1 own lineage: %s r%d c%d parents %s", pid, r, c, par);
        if (stored_prompts) {
            CK(prompt != NULL, "no stored prompt");
            /* the prompt holds each parent's tail (previous round) in order */
            const char *at = prompt;
            for (int a = 0; prompt && a < k; a++) {
                char hdr[64];
                if (C == 1)
                    snprintf(hdr, sizeof hdr, "---- Candidate ----\n");
                else
                    snprintf(hdr, sizeof hdr, "---- Solution %d ----\n", a + 1);
                const char *h2 = strstr(at, hdr);
                CK(h2 != NULL, "%s r%d c%d: no '%s'", pid, r, c, hdr);
                if (!h2)
                    break;
                h2 += strlen(hdr);
                const char *want = tails[r - 1][p[a]];
                CK(want && !strncmp(h2, want, strlen(want)),
                   "%s r%d c%d: block %d is not the tail of r%d c%d", pid, r, c, a + 1, r - 1,
                   p[a]);
                at = h2;
            }
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    for (int a = 0; a < RSA_MAX_ROUNDS; a++)
        for (int b = 0; b < 16; b++)
            free(tails[a][b]);
    CK(rows == np * N * (T + 1), "%s: %d rows, want %d", name, rows, np * N * (T + 1));
}

static void test_acceptance1(const char *db)
{
    ck_begin("acceptance 1: AIME 2025 x%d, N=4 C=2 T=2 beta=8 final=6 tau=4: %dx4x3 rows, "
             "lineage, seeds, budgets, tails inside the next prompts", SLOW ? 1 : 3,
             SLOW ? 1 : 3);
    const char *a[] = {"run", "--model", model, "--dataset", data, "--rsa",
                       "N=4,C=2,T=2,beta=8,final=6,tau=4", "--temperature", "0.05", "--seed",
                       "11", "--db", db, "--name", "a1", "--store-prompts", "--limit",
                       SLOW ? "1" : "3", NULL};
    char out[700];
    snprintf(out, sizeof out, "%s/a1.out", dir);
    int rc = zeval(out, a);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    check_run(db, "a1", SLOW ? 1 : 3, 4, 2, 2, 8, 6, 4, 1, 11, 1);
    CK(q1(db, "SELECT count(*) FROM runs WHERE name='a1' AND finished_at IS NOT NULL") == 1,
       "run not marked finished");
    CK(q1(db, "SELECT count(*) FROM samples WHERE correct IS NULL") == 0, "ungraded math rows");
    char *o = ck_slurp(out, NULL);
    CK(o && strstr(o, "avg@4") && strstr(o, "maj@4") && strstr(o, "D(q)"), "metrics: %s",
       o ? o : "");
    free(o);
    CK(strstr(errbuf, "batch-size histogram"), "no histogram: %s", errbuf);
    ck_end();

    ck_begin("degenerate T=0 with --samples 5: 5 independent samples, budget B_final");
    const char *b[] = {"run", "--model", model, "--dataset", data, "--rsa",
                       "N=2,C=1,T=0,beta=3,final=5", "--samples", "5", "--temperature", "0.05",
                       "--seed", "3", "--db", db, "--name", "t0", "--limit", SLOW ? "1" : "2",
                       NULL};
    rc = zeval(NULL, b);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    check_run(db, "t0", SLOW ? 1 : 2, 5, 1, 0, 3, 5, 3, 1, 3, 0);
    ck_end();

    ck_begin("degenerate C=1 (own lineage) and tau >= beta (whole traces forwarded)");
    const char *c[] = {"run", "--model", model, "--dataset", data, "--rsa",
                       "N=3,C=1,T=2,beta=6,tau=6,c1=own", "--temperature", "0.05", "--seed",
                       "5", "--db", db, "--name", "c1", "--limit", "1", "--store-prompts", NULL};
    rc = zeval(NULL, c);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    check_run(db, "c1", 1, 3, 1, 2, 6, 6, 6, 1, 5, 1);
    ck_end();
}

/* Waits for zeval process pid, sending it sig once db holds target samples:
 * 1 when the signal was sent, 0 when it ended first; *status as waitpid's. */
static int signal_at(pid_t pid, const char *db, long long target, int sig, int *status)
{
    for (;;) {
        if (waitpid(pid, status, WNOHANG) == pid)
            return 0;
        if (q1(db, "SELECT count(*) FROM samples") >= target) {
            kill(pid, sig);
            waitpid(pid, status, 0);
            return 1;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static long long rand_between(uint64_t seed, uint64_t k, long long lo, long long hi)
{
    return lo + (long long)(smp_uniform(seed, k) * (double)(hi - lo + 1));
}

static void test_resume(void)
{
    char db1[700], db2[700];
    snprintf(db1, sizeof db1, "%s/whole.db", dir);
    snprintf(db2, sizeof db2, "%s/killed.db", dir);
    const char *spec = "N=4,C=2,T=2,beta=6,tau=3";
    ck_begin("acceptance 2: kill -9 at 5 seeded moments + resume == uninterrupted run "
             "(all columns but timings, gen_ids included)");
    const char *a[] = {"run", "--model", model, "--dataset", data, "--rsa", spec, "--limit", "2",
                       "--temperature", "0.8", "--top-k", "40", "--seed", "9", "--db", db1,
                       "--name", "r", NULL};
    int rc = zeval(NULL, a);
    CK(rc == 0, "uninterrupted run: exit %d: %s", rc, errbuf);
    long long total = q1(db1, "SELECT count(*) FROM samples");
    CK(total == 24, "%lld rows", total);
    int kills = 0, resumed = 0;
    long long last = 0;
    for (int attempt = 0; attempt < 7; attempt++) {
        long long target = kills < 5 ? rand_between(2024, (uint64_t)attempt, last + 1,
                                                    last + 1 + (total - last) / 3) : total + 1;
        pid_t pid = fork();
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
                _exit(127);
            if (attempt == 0)
                execl(ck_zeval(), ck_zeval(), "run", "--model", model, "--dataset", data,
                      "--rsa", spec, "--limit", "2", "--temperature", "0.8", "--top-k", "40",
                      "--seed", "9", "--db", db2, "--name", "r", (char *)NULL);
            else
                execl(ck_zeval(), ck_zeval(), "run", "--resume", "r", "--db", db2, (char *)NULL);
            _exit(127);
        }
        int status = 0, killed = signal_at(pid, db2, target, SIGKILL, &status);
        resumed += attempt > 0;
        last = q1(db2, "SELECT count(*) FROM samples");
        if (killed) {
            kills++;
        } else {
            CK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "attempt %d: status %d", attempt,
               status);
            if (last == total)
                break;
        }
    }
    CK(kills >= 3, "only %d kills landed before the run completed", kills);
    CK(resumed >= kills, "resumed %d times after %d kills", resumed, kills);
    CK(q1(db2, "SELECT count(*) FROM samples") == total, "rows %lld, want %lld",
       q1(db2, "SELECT count(*) FROM samples"), total);
    CK(q1(db2, "SELECT count(*) FROM (SELECT 1 FROM samples GROUP BY run_id, problem_id, round,"
               " candidate HAVING count(*) > 1)") == 0, "duplicates");
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT problem_id, round, candidate, parents, seed,"
             " prompt_tokens, gen_tokens, gen_ids, finish_reason, text, tail, tail_tokens,"
             " prompt, extracted, correct, reason FROM samples EXCEPT SELECT problem_id, round,"
             " candidate, parents, seed, prompt_tokens, gen_tokens, gen_ids, finish_reason, text,"
             " tail, tail_tokens, prompt, extracted, correct, reason FROM w.samples)");
    sqlite3 *h;
    sqlite3_open(db2, &h);
    char att[800];
    snprintf(att, sizeof att, "ATTACH '%s' AS w", db1);
    sqlite3_exec(h, att, NULL, NULL, NULL);
    sqlite3_stmt *st;
    long long diff = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        diff = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    CK(diff == 0, "%lld rows differ from the uninterrupted run", diff);
    CK(q1(db2, "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL") == 1,
       "resumed run not finished");
    ck_end();

    ck_begin("--resume refuses conflicting flags; an existing --name is refused");
    const char *b[] = {"run", "--resume", "r", "--db", db2, "--seed", "10", NULL};
    rc = zeval(NULL, b);
    CK(rc == 2 && strstr(errbuf, "--seed 10 conflicts"), "exit %d: %s", rc, errbuf);
    const char *b2[] = {"run", "--resume", "r", "--db", db2, "--rsa", "N=4,C=2,T=2,beta=6,tau=3",
                        "--seed", "9", NULL};
    rc = zeval(NULL, b2);
    CK(rc == 0, "repeating the stored flags is fine: exit %d: %s", rc, errbuf);
    CK(q1(db2, "SELECT count(*) FROM samples") == total, "a finished resume added rows");
    rc = zeval(NULL, a + 0);
    CK(rc != 0 && strstr(errbuf, "exists already"), "exit %d: %s", rc, errbuf);
    ck_end();

    ck_begin("show and regrade a stored run");
    const char *s[] = {"show", "r", "--db", db2, NULL};
    char out[700];
    snprintf(out, sizeof out, "%s/show.out", dir);
    rc = zeval(out, s);
    char *o = ck_slurp(out, NULL);
    CK(rc == 0 && o && strstr(o, "run r:") && strstr(o, "avg@4"), "exit %d: %s %s", rc,
       o ? o : "", errbuf);
    free(o);
    const char *g[] = {"regrade", "r", "--db", db2, NULL};
    rc = zeval(NULL, g);
    CK(rc == 0 && strstr(errbuf, "24 samples re-graded, 0 verdicts changed"), "exit %d: %s", rc,
       errbuf);
    const char *nx[] = {"show", "nope", "--db", db2, NULL};
    rc = zeval(NULL, nx);
    CK(rc == 1 && strstr(errbuf, "no run named 'nope'"), "exit %d: %s", rc, errbuf);
    ck_end();
}

/* Rows of run a in db that differ from those of run b in db_b (all columns
 * but the timings; of round `round` only when >= 0), or -1. */
static long long run_rows_differ(const char *db, const char *a, const char *db_b, const char *b,
                                 int round)
{
    sqlite3 *h;
    if (sqlite3_open(db, &h) != SQLITE_OK) {
        sqlite3_close(h);
        return -1;
    }
    char sql[2400];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS w", db_b);
    long long diff = -1;
    sqlite3_stmt *st;
    static const char cols[] = "problem_id, round, candidate, parents, seed, prompt_tokens,"
                               " gen_tokens, gen_ids, finish_reason, text, tail, tail_tokens,"
                               " prompt, extracted, correct, reason";
    char rw[48] = "";
    if (round >= 0)
        snprintf(rw, sizeof rw, " AND round = %d", round);
    if (sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK) {
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT count(*) FROM (SELECT %s FROM main.samples WHERE run_id = (SELECT"
                 " id FROM main.runs WHERE name = ?1)%s EXCEPT SELECT %s FROM w.samples WHERE"
                 " run_id = (SELECT id FROM w.runs WHERE name = ?2)%s)) + (SELECT count(*) FROM"
                 " (SELECT %s FROM w.samples WHERE run_id = (SELECT id FROM w.runs WHERE name ="
                 " ?2)%s EXCEPT SELECT %s FROM main.samples WHERE run_id = (SELECT id FROM"
                 " main.runs WHERE name = ?1)%s))", cols, rw, cols, rw, cols, rw, cols, rw);
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW)
                diff = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(h);
    return diff;
}

/* Runs sql on db; 0 on success. */
static int exec_sql(const char *db, const char *sql)
{
    sqlite3 *h;
    int rc = sqlite3_open(db, &h) == SQLITE_OK ? sqlite3_exec(h, sql, NULL, NULL, NULL) : -1;
    sqlite3_close(h);
    return rc;
}

/* Flips the low bit of the byte at offset from the end of path. */
static int flip_byte(const char *path, long offset)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        return -1;
    int c = fseek(f, -offset, SEEK_END) ? EOF : fgetc(f);
    int rc = c == EOF || fseek(f, -offset, SEEK_END) || fputc(c ^ 1, f) == EOF;
    return fclose(f) || rc ? -1 : 0;
}

/* scripts/db-carry.sh VERB A B in parts of part_bytes; xz: "python" for
 * python3's lzma in place of the xz program, else NULL. */
static int carry(const char *verb, const char *a, const char *b, const char *part_bytes,
                 const char *xz)
{
    char *argv[] = {"sh", "scripts/db-carry.sh", (char *)verb, (char *)a, (char *)b, NULL};
    setenv("PART_BYTES", part_bytes, 1);
    if (xz)
        setenv("XZ", xz, 1);
    int rc = ck_run(argv, NULL, errbuf, sizeof errbuf);
    unsetenv("PART_BYTES");
    unsetenv("XZ");
    return rc;
}

/* Acceptance 5: the whole run of test_resume (whole.db), cut short after
 * its round 1, moved in parts and resumed from them. */
static void test_carry(void)
{
    char whole[700], cut[700], parts[700], back[700], p[800], model_w[700];
    snprintf(whole, sizeof whole, "%s/whole.db", dir);
    snprintf(cut, sizeof cut, "%s/cut.db", dir);
    snprintf(parts, sizeof parts, "%s/parts", dir);
    snprintf(back, sizeof back, "%s/back.db", dir);
    ck_begin("a cut-short run's database in parts (scripts/db-carry.sh) resumes elsewhere to "
             "the uninterrupted run (packed by python3's lzma, unpacked by xz)");
    CK(ck_copy(whole, cut) == 0, "copy");
    /* as a run killed after round 1: round 2 not stored, the run not finished */
    CK(exec_sql(cut, "DELETE FROM samples WHERE round = 2; UPDATE runs SET finished_at = NULL") ==
           0, "sql");
    long long before = q1(cut, "SELECT count(*) FROM samples");
    int rc = carry("pack", cut, parts, "512", "python"); /* read back by xz below */
    CK(rc == 0, "pack: exit %d: %s", rc, errbuf);
    snprintf(p, sizeof p, "%s/cut.db.xz.01", parts);
    CK(access(p, F_OK) == 0, "%s: 512-byte parts, yet only one", p);
    rc = carry("unpack", parts, back, "512", NULL);
    CK(rc == 0, "unpack: exit %d: %s", rc, errbuf);
    CK(q1(back, "SELECT count(*) FROM samples") == before &&
           run_rows_differ(back, "r", cut, "r", -1) == 0,
       "the unpacked database differs from the packed one");
    const char *r[] = {"run", "--resume", "r", "--db", back, NULL};
    rc = zeval(NULL, r);
    CK(rc == 0, "resume: exit %d: %s", rc, errbuf);
    CK(q1(back, "SELECT count(*) FROM samples") == 24 &&
           run_rows_differ(back, "r", whole, "r", -1) == 0,
       "the resumed run differs from the uninterrupted one");
    ck_end();

    ck_begin("db-carry refuses a missing or altered part and an existing target, naming it, "
             "and writes no database");
    rc = carry("unpack", parts, back, "512", NULL);
    CK(rc == 1 && strstr(errbuf, "exists already"), "existing target: exit %d: %s", rc, errbuf);
    char other[700];
    snprintf(other, sizeof other, "%s/other.db", dir);
    CK(flip_byte(p, 1) == 0, "flip");
    rc = carry("unpack", parts, other, "512", NULL);
    CK(rc == 1 && strstr(errbuf, "cut.db.xz.01: SHA-256 differs"), "altered: exit %d: %s", rc,
       errbuf);
    CK(flip_byte(p, 1) == 0 && remove(p) == 0, "remove");
    rc = carry("unpack", parts, other, "512", NULL);
    CK(rc == 1 && strstr(errbuf, "cut.db.xz.01: missing"), "missing: exit %d: %s", rc, errbuf);
    CK(access(other, F_OK) != 0, "%s written after a refusal", other);
    rc = carry("pack", cut, parts, "512", NULL);
    CK(rc == 1 && strstr(errbuf, "exists already"), "pack over parts: exit %d: %s", rc, errbuf);
    ck_end();

    ck_begin("--resume refuses weights, a tokenizer or a backend other than the run's, storing "
             "nothing");
    CK(exec_sql(back, "DELETE FROM samples WHERE round = 2; UPDATE runs SET finished_at = NULL")
           == 0, "sql");
    snprintf(model_w, sizeof model_w, "%s/model.safetensors", model);
    CK(flip_byte(model_w, 2) == 0, "flip");
    rc = zeval(NULL, r);
    CK(rc == 2 && strstr(errbuf, "(the run's weights) has changed since run r started"),
       "changed weights: exit %d: %s", rc, errbuf);
    CK(flip_byte(model_w, 2) == 0, "flip back");
    snprintf(p, sizeof p, "%s/tokenizer.json", model);
    FILE *f = fopen(p, "a");
    CK(f && fputc('\n', f) != EOF && fclose(f) == 0, "append");
    rc = zeval(NULL, r);
    CK(rc == 2 && strstr(errbuf, "(the run's tokenizer) has changed"),
       "changed tokenizer: exit %d: %s", rc, errbuf);
    CK(ck_copy(ck_shared("tokenizer/gemma3/tokenizer.json"), p) == 0, "restore");
    /* a run of the GPU backend resumed on the CPU's */
    CK(exec_sql(back, "UPDATE runs SET backend = 'gpu', device = 'NVIDIA H200, K/V cache bf16,"
                      " products tensor cores, attention SIMT'") == 0, "sql");
    rc = zeval(NULL, r);
    CK(rc == 2 && strstr(errbuf, "ran on the gpu backend; on the cpu backend"),
       "another backend: exit %d: %s", rc, errbuf);
    CK(exec_sql(back, "UPDATE runs SET backend = 'cpu', device = 'cpu'") == 0, "sql");
    /* a stored configuration no run writes: a number past every integer type */
    CK(exec_sql(back, "CREATE TABLE keep AS SELECT config FROM runs;"
                      "UPDATE runs SET config = json_set(config, '$.top_k', 1e300)") == 0, "sql");
    rc = zeval(NULL, r);
    CK(rc != 0 && strstr(errbuf, "run r: the stored configuration's field 'top_k' is not an "
                                 "integer in [0, 2147483647]"),
       "stored top_k 1e300: exit %d: %s", rc, errbuf);
    CK(exec_sql(back, "UPDATE runs SET config = (SELECT config FROM keep); DROP TABLE keep") == 0,
       "sql");
    CK(q1(back, "SELECT count(*) FROM samples") == 16, "a refused resume changed the rows");
    ck_end();

    ck_begin("show: the time samples were in flight skips the pause between sittings");
    /* rounds 0 and 1 an hour earlier, round 2 now: the wall time holds
     * the hour, the in-flight time does not */
    CK(exec_sql(back, "UPDATE samples SET started_at = started_at - 3600,"
                      " finished_at = finished_at - 3600;"
                      " UPDATE runs SET started_at = started_at - 3600") == 0, "sql");
    rc = zeval(NULL, r);
    CK(rc == 0, "resume: exit %d: %s", rc, errbuf);
    const char *sh[] = {"show", "r", "--db", back, NULL};
    snprintf(p, sizeof p, "%s/show2.out", dir);
    rc = zeval(p, sh);
    char *o = ck_slurp(p, NULL);
    const char *w = o ? strstr(o, "; wall ") : NULL, *b = o ? strstr(o, "in flight ") : NULL;
    double wall = w ? atof(w + 7) : 0, busy = b ? atof(b + 10) : 0;
    CK(rc == 0 && wall > 3600 && busy > 0 && busy < 600, "wall %.1f s, in flight %.1f s: %s",
       wall, busy, o ? o : errbuf);
    free(o);
    ck_end();
}

static void test_code_and_batches(const char *db)
{
    if (SLOW) {
        ck_skip("acceptance 3: a HumanEval run end to end",
                "too slow under AddressSanitizer; runs in the normal build variant");
        ck_skip("acceptance 4 (scaled): three datasets, N=16, batches >= 16",
                "too slow under AddressSanitizer; runs in the normal build variant and "
                "full-size in bench/rsa_accept.sh");
        return;
    }
    ck_begin("acceptance 3: a HumanEval run end to end (graded by the code grader)");
    const char *a[] = {"run", "--model", model, "--dataset",
                       ck_shared("datasets/code/humaneval.jsonl"), "--limit", "2", "--rsa",
                       "N=2,C=1,T=1,beta=4", "--temperature", "0.05", "--db", db, "--name", "he",
                       NULL};
    int rc = zeval(NULL, a);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    CK(q1(db, "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id WHERE"
              " r.name = 'he'") == 8, "rows");
    long long graded = q1(db, "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id"
                              " WHERE r.name = 'he' AND correct IS NOT NULL");
    CK(graded == 8, "%lld of 8 code samples graded", graded);
    ck_end();

    ck_begin("acceptance 4 (scaled): aime_2024 + aime_2025 + hmmt_feb_2025, N=16 C=4 T=2: one "
             "run per dataset, engine batches >= 16");
    char list[2100];
    snprintf(list, sizeof list, "%s,", ck_shared("datasets/math/aime_2024.jsonl"));
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s,",
             ck_shared("datasets/math/hmmt_feb_2025.jsonl"));
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s", data);
    const char *b[] = {"run", "--model", model, "--dataset", list, "--limit", "1", "--rsa",
                       "N=16,C=4,T=2,beta=2,tau=2", "--temperature", "0.05", "--db", db,
                       "--name", "three", NULL};
    rc = zeval(NULL, b);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    CK(q1(db, "SELECT count(*) FROM runs WHERE name IN ('three/aime_2024', 'three/aime_2025',"
              " 'three/hmmt_feb_2025')") == 3, "runs not named NAME/DATASET");
    CK(q1(db, "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id WHERE r.name LIKE"
              " 'three/%'") == 3 * 16 * 3, "rows");
    const char *mx = strstr(errbuf, ", max ");
    CK(mx && atoi(mx + 6) >= 16, "largest batch below 16: %s", errbuf);
    ck_end();
}

/* IMO-AnswerBench: only integer answers are graded without a judge. */
static void test_integer_only(const char *db)
{
    ck_begin("IMO-AnswerBench: integer answers graded, the others stored ungraded (needs a "
             "judge), in run and in regrade");
    const char *a[] = {"run", "--model", model, "--dataset",
                       ck_shared("datasets/math/imo_answerbench.jsonl"), "--limit", "3", "--rsa",
                       "N=2,C=1,T=0,beta=3", "--db", db, "--name", "imo", NULL};
    int rc = zeval(NULL, a);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    /* problem 1's answer is 3, problems 2 and 3 are expressions */
    CK(q1(db, "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id WHERE r.name ="
              " 'imo' AND problem_id = 'imo-bench-algebra-001' AND correct IS NOT NULL") == 2,
       "the integer problem is not graded");
    CK(q1(db, "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id WHERE r.name ="
              " 'imo' AND problem_id <> 'imo-bench-algebra-001' AND correct IS NULL AND reason ="
              " 'not_graded: needs a judge (not an integer answer)'") == 4,
       "the expression problems are graded or lack the reason");
    const char *g[] = {"regrade", "imo", "--db", db, NULL};
    rc = zeval(NULL, g);
    CK(rc == 0 && strstr(errbuf, "6 samples re-graded, 0 verdicts changed"), "exit %d: %s", rc,
       errbuf);
    CK(q1(db, "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id WHERE r.name ="
              " 'imo' AND correct IS NULL") == 4, "regrade graded an expression answer");
    ck_end();
}

/* --prompt-template: the round-0 message from the user's own text. */
static void test_prompt_template(const char *db)
{
    ck_begin("--prompt-template: the round-0 message is the template with the problem put in "
             "(other braces kept), stored in the configuration; a template without {problem}, "
             "or another one on resume, is refused");
    char t1[700], t2[700];
    snprintf(t1, sizeof t1, "%s/tmpl.txt", dir);
    snprintf(t2, sizeof t2, "%s/tmpl-bad.txt", dir);
    static const char tmpl[] = "Answer in \\boxed{}, nothing else.\n\n{problem}\n{starter_code}|{x}";
    CK(ck_write(t1, tmpl, strlen(tmpl)) == 0 && ck_write(t2, "no field", 8) == 0, "write");
    const char *a[] = {"run", "--model", model, "--dataset", data, "--limit", "1", "--rsa",
                       "N=1,C=1,T=0,beta=2", "--db", db, "--name", "tmpl", "--store-prompts",
                       "--prompt-template", t1, NULL};
    int rc = zeval(NULL, a);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    sqlite3 *h;
    char *prompt = NULL, *first = NULL, *stored = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(h, "SELECT s.prompt, json_extract(r.config, '$.prompt_template')"
                                  " FROM samples s JOIN runs r ON r.id = s.run_id WHERE r.name ="
                                  " 'tmpl'", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW) {
            prompt = strdup((const char *)sqlite3_column_text(st, 0));
            stored = strdup((const char *)sqlite3_column_text(st, 1));
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    /* the first problem of the subset, as make_subset wrote it */
    char *all = ck_slurp(data, NULL);
    cJSON *j = all ? cJSON_ParseWithOpts(all, NULL, 0) : NULL;
    const cJSON *pr = j ? cJSON_GetObjectItem(j, "problem") : NULL;
    if (cJSON_IsString(pr)) {
        size_t n = strlen(pr->valuestring) + 200;
        first = malloc(n);
        snprintf(first, n, "Answer in \\boxed{}, nothing else.\n\n%s\n|{x}", pr->valuestring);
    }
    CK(prompt && first && strstr(prompt, first), "the prompt is not the filled template:\n%s",
       prompt ? prompt : "(none)");
    CK(stored && !strcmp(stored, tmpl), "stored template: %s", stored ? stored : "(none)");
    free(prompt);
    free(first);
    free(stored);
    cJSON_Delete(j);
    free(all);
    /* show names it in the provenance and beside the published single-rollout score */
    const char *sh[] = {"show", "tmpl", "--db", db, NULL};
    char so[700];
    snprintf(so, sizeof so, "%s/tmpl-show.out", dir);
    rc = zeval(so, sh);
    char *o = ck_slurp(so, NULL);
    CK(rc == 0 && o && strstr(o, "round-0 prompt: the run's own template (--prompt-template, "
                                 "sha256 ") &&
           strstr(o, "; this run asked with its own prompt template"), "exit %d: %s", rc,
       o ? o : errbuf);
    free(o);
    const char *b[] = {"run", "--model", model, "--dataset", data, "--rsa", "N=1,C=1,T=0,beta=2",
                       "--db", db, "--name", "tmpl2", "--prompt-template", t2, NULL};
    rc = zeval(NULL, b);
    CK(rc == 2 && strstr(errbuf, "has no {problem}, where aime_2025's problem goes"),
       "exit %d: %s", rc, errbuf);
    /* an empty template, and one holding a NUL byte */
    CK(ck_write(t2, "", 0) == 0, "write");
    rc = zeval(NULL, b);
    CK(rc == 2 && strstr(errbuf, "is empty"), "empty: exit %d: %s", rc, errbuf);
    CK(ck_write(t2, "x\0{problem}", 11) == 0, "write");
    rc = zeval(NULL, b);
    CK(rc == 2 && strstr(errbuf, "holds a NUL byte"), "NUL: exit %d: %s", rc, errbuf);
    CK(ck_write(t2, "no field", 8) == 0, "write");
    const char *c[] = {"run", "--resume", "tmpl", "--db", db, "--prompt-template", t2, NULL};
    rc = zeval(NULL, c);
    CK(rc == 2 && strstr(errbuf, "--prompt-template") && strstr(errbuf, "conflicts"),
       "exit %d: %s", rc, errbuf);
    ck_end();
}

/* On a terminal the progress line is redrawn in place: it must fit the
 * terminal's width, however many runs it lists. */
static void test_tty_progress(void)
{
    ck_begin("progress on a 60-column terminal: every redrawn line fits in 59 columns, the "
             "totals first, and the last one counts the tokens");
    char db[700], cmd[4000], out[700];
    snprintf(db, sizeof db, "%s/tty.db", dir);
    snprintf(out, sizeof out, "%s/tty.out", dir);
    snprintf(cmd, sizeof cmd, "stty cols 60; '%s' run --model '%s' --dataset '%s' --limit 1 "
             "--rsa N=2,C=1,T=0,beta=2 --rsa N=2,C=2,T=1,beta=2 --db '%s' --name tty "
             "--progress tty", ck_zeval(), model, data, db);
    char *argv[] = {"script", "-qec", cmd, "/dev/null", NULL};
    int rc = ck_run(argv, out, errbuf, sizeof errbuf);
    size_t n = 0;
    char *t = ck_slurp(out, &n);
    CK(rc == 0 && t, "exit %d: %s", rc, errbuf);
    int lines = 0, widest = 0;
    const char *last = NULL;
    for (size_t i = 0; t && i + 3 < n; i++) {
        if (memcmp(t + i, "\r\033[K", 4) != 0)
            continue;
        size_t k = i + 4, w = 0;
        while (k < n && t[k] != '\r' && t[k] != '\n') {
            w += ((unsigned char)t[k] & 0xC0) != 0x80; /* columns: characters */
            k++;
        }
        lines++;
        widest = (int)w > widest ? (int)w : widest;
        last = t + i + 4;
    }
    CK(lines >= 2 && widest <= 59, "%d redrawn lines, the widest %d columns", lines, widest);
    CK(last && !strncmp(last, "6/6 samples, ", 13) && !strstr(last, " 0.0 tok/s"),
       "last line: %.80s", last ? last : "");
    free(t);
    ck_end();
}

/* Acceptance 6: settings swept in one command. */
static void test_sweep(void)
{
    char db1[700], db2[700], list[1400];
    snprintf(db1, sizeof db1, "%s/sweep.db", dir);
    snprintf(db2, sizeof db2, "%s/sweep-killed.db", dir);
    snprintf(list, sizeof list, "%s,%s", data, ck_shared("datasets/math/aime_2024.jsonl"));
    /* the same round-0 width, budget and tail: the same round-0 rows */
    const char *s1 = "N=2,C=2,T=1,beta=4,tau=2", *s2 = "N=2,C=1,T=2,beta=4,tau=2";
    const char *names[] = {"sw/N=2,C=2,T=1,beta=4,tau=2/aime_2025",
                           "sw/N=2,C=2,T=1,beta=4,tau=2/aime_2024",
                           "sw/N=2,C=1,T=2,beta=4,tau=2/aime_2025",
                           "sw/N=2,C=1,T=2,beta=4,tau=2/aime_2024"};
    ck_begin("acceptance 6: two settings x two datasets in one command: 4 runs named "
             "NAME/SETTING/DATASET, each its own setting's lineage, the samples each setting "
             "gives alone, and a table of the four");
    const char *a[] = {"run", "--model", model, "--dataset", list, "--limit", "1", "--rsa", s1,
                       "--rsa", s2, "--temperature", "0.7", "--seed", "21", "--db", db1,
                       "--name", "sw", "--store-prompts", NULL};
    char out[700];
    snprintf(out, sizeof out, "%s/sweep.out", dir);
    int rc = zeval(out, a);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    /* round 0 of each dataset's problem: 2 candidates the two settings ask alike */
    CK(strstr(errbuf, "zeval run: 4 samples generated once for several settings"),
       "no 4 shared samples: %s", errbuf);
    CK(q1(db1, "SELECT count(*) FROM runs") == 4, "%lld runs", q1(db1, "SELECT count(*) FROM runs"));
    check_run(db1, names[0], 1, 2, 2, 1, 4, 4, 2, 1, 21, 1);
    check_run(db1, names[1], 1, 2, 2, 1, 4, 4, 2, 1, 21, 1);
    check_run(db1, names[2], 1, 2, 1, 2, 4, 4, 2, 1, 21, 1);
    check_run(db1, names[3], 1, 2, 1, 2, 4, 4, 2, 1, 21, 1);
    char *o = ck_slurp(out, NULL);
    const char *tab = o ? strstr(o, "ID  NAME") : NULL;
    int listed = 0;
    for (int i = 0; i < 4; i++)
        listed += tab && strstr(tab, names[i]) != NULL;
    CK(tab && strstr(tab, "TOKENS/PROBLEM") && listed == 4, "no table of the 4 runs: %s",
       o ? o : "");
    free(o);
    /* the second setting alone, on the first dataset */
    const char *b[] = {"run", "--model", model, "--dataset", data, "--limit", "1", "--rsa", s2,
                       "--temperature", "0.7", "--seed", "21", "--db", db1, "--name", "alone",
                       "--store-prompts", NULL};
    rc = zeval(NULL, b);
    CK(rc == 0, "alone: exit %d: %s", rc, errbuf);
    long long d = run_rows_differ(db1, names[2], db1, "alone", -1);
    CK(d == 0, "%lld rows of %s differ from the setting run alone", d, names[2]);
    CK(run_rows_differ(db1, names[0], db1, "alone", -1) > 0,
       "the comparison cannot tell runs apart");
    d = run_rows_differ(db1, names[0], db1, names[2], 0);
    CK(d == 0, "%lld round-0 rows differ between settings of one round-0 width and budget", d);
    CK(run_rows_differ(db1, names[0], db1, names[1], 0) > 0, "two datasets' round 0 agree");
    ck_end();

    ck_begin("a sweep one request at a time (--max-inflight 1): a setting's request made after "
             "the same one finished takes its sample; the same rows as in parallel");
    char db3[700];
    snprintf(db3, sizeof db3, "%s/sweep-serial.db", dir);
    const char *a1[] = {"run", "--model", model, "--dataset", list, "--limit", "1", "--rsa", s1,
                        "--rsa", s2, "--temperature", "0.7", "--seed", "21", "--db", db3,
                        "--name", "sw", "--store-prompts", "--max-inflight", "1", NULL};
    rc = zeval(NULL, a1);
    CK(rc == 0 && strstr(errbuf, "zeval run: 4 samples generated once"), "exit %d: %s", rc,
       errbuf);
    for (int i = 0; i < 4; i++) {
        d = run_rows_differ(db3, names[i], db1, names[i], -1);
        CK(d == 0, "%s: %lld rows differ from the sweep in parallel", names[i], d);
    }
    ck_end();

    ck_begin("a sweep interrupted (SIGINT) after some samples says how to resume, and resumed "
             "by its NAME stores the same samples; settings given twice, --samples with T >= 1 "
             "and a resume naming another setting are refused");
    char errf[700];
    snprintf(errf, sizeof errf, "%s/sweep-killed.err", dir);
    long long total = q1(db1, "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id"
                              " WHERE r.name LIKE 'sw/%'");
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen(errf, "w", stderr))
            _exit(127);
        execl(ck_zeval(), ck_zeval(), "run", "--model", model, "--dataset", list, "--limit",
              "1", "--rsa", s1, "--rsa", s2, "--temperature", "0.7", "--seed", "21", "--db",
              db2, "--name", "sw", "--store-prompts", (char *)NULL);
        _exit(127);
    }
    int status = 0, killed = signal_at(pid, db2, total / 3, SIGINT, &status);
    long long at = q1(db2, "SELECT count(*) FROM samples");
    CK(killed && at < total, "not interrupted before the end (%lld of %lld)", at, total);
    char *em = ck_slurp(errf, NULL);
    char want[1000];
    snprintf(want, sizeof want, "interrupted; every finished sample is stored, and `zeval run "
             "--resume sw --db %s` generates the rest", db2);
    CK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT && em && strstr(em, want),
       "status %d: %s", status, em ? em : "");
    free(em);
    /* --dry-run: what is missing, storing nothing */
    const char *dr[] = {"run", "--resume", "sw", "--db", db2, "--dry-run", NULL};
    char dout[700];
    snprintf(dout, sizeof dout, "%s/sweep-plan.out", dir);
    rc = zeval(dout, dr);
    char *pl = ck_slurp(dout, NULL);
    snprintf(want, sizeof want, "4 runs: %lld samples to generate of %lld,", total - at, total);
    CK(rc == 0 && pl && strstr(pl, want) && q1(db2, "SELECT count(*) FROM samples") == at,
       "exit %d: want '%s' in %s", rc, want, pl ? pl : errbuf);
    free(pl);
    const char *r[] = {"run", "--resume", "sw", "--db", db2, NULL};
    rc = zeval(NULL, r);
    CK(rc == 0, "resume: exit %d: %s", rc, errbuf);
    for (int i = 0; i < 4; i++) {
        d = run_rows_differ(db2, names[i], db1, names[i], -1);
        CK(d == 0, "%s: %lld rows differ from the uninterrupted sweep (killed at %lld of %lld)",
           names[i], d, at, total);
    }
    /* a plan of a new sweep: every sample, at most its budget's tokens; no database made */
    char nodb[700];
    snprintf(nodb, sizeof nodb, "%s/never.db", dir);
    const char *dn[] = {"run", "--model", model, "--dataset", list, "--limit", "1", "--rsa", s1,
                        "--rsa", s2, "--db", nodb, "--name", "p", "--dry-run", NULL};
    rc = zeval(dout, dn);
    pl = ck_slurp(dout, NULL);
    /* s1: 2 x 2 rounds; s2: 2 x 3 rounds; two datasets of 1; round 0 shared; 4 tokens each */
    snprintf(want, sizeof want, "4 runs: %lld samples to generate of %lld, 4 of them shared "
             "with another setting (16 requests), at most 64 generated tokens", total, total);
    CK(rc == 0 && pl && strstr(pl, want) && access(nodb, F_OK) != 0, "exit %d: want '%s' in %s",
       rc, want, pl ? pl : errbuf);
    free(pl);
    const char *t1[] = {"run", "--model", model, "--dataset", data, "--rsa", s1, "--rsa",
                        "beta=4,T=1,C=2,N=2,tau=2", "--db", db2, "--name", "twice", NULL};
    rc = zeval(NULL, t1);
    CK(rc == 2 && strstr(errbuf, "setting N=2,C=2,T=1,beta=4,tau=2 is given twice"), "exit %d: %s", rc,
       errbuf);
    const char *t2[] = {"run", "--model", model, "--dataset", data, "--rsa", "N=2,C=1,T=0,beta=4",
                        "--rsa", s1, "--samples", "3", "--db", db2, "--name", "t0", NULL};
    rc = zeval(NULL, t2);
    CK(rc == 2 && strstr(errbuf, "--samples goes with T=0") && strstr(errbuf, s1), "exit %d: %s",
       rc, errbuf);
    const char *t3[] = {"run", "--resume", "sw", "--db", db2, "--rsa", s1, NULL};
    rc = zeval(NULL, t3);
    CK(rc == 2 && strstr(errbuf, "--rsa N=2,C=2,T=1,beta=4,tau=2 conflicts"), "exit %d: %s", rc,
       errbuf);
    const char *t4[] = {"run", "--resume", "sw", "--db", db2, "--rsa", s2, "--rsa", s1, NULL};
    rc = zeval(NULL, t4);
    CK(rc == 0, "naming every setting of the sweep: exit %d: %s", rc, errbuf);
    CK(q1(db2, "SELECT count(*) FROM samples") == total, "a finished resume added rows");
    ck_end();
}

/* A sweep whose settings ask round 0 alike but for its budget. */
static void test_budget_sweep(void)
{
    ck_begin("a budget sweep: round 0, alike in three settings but for its budget, is "
             "generated once at the largest and cut for the others, whose rows equal each "
             "setting run alone; the dry-run counts its requests at that budget");
    char db4[700], dpl[700];
    snprintf(db4, sizeof db4, "%s/sweep-budget.db", dir);
    snprintf(dpl, sizeof dpl, "%s/sweep-budget.plan", dir);
    /* round 0: budgets 6, 3 and (T = 0: final) 3; round 1 of the first two differs */
    const char *bs[3] = {"N=2,C=2,T=1,beta=6,tau=2", "N=2,C=2,T=1,beta=3,tau=2",
                         "N=2,C=1,T=0,beta=3"};
    const char *bn[3] = {"bs/N=2,C=2,T=1,beta=6,tau=2", "bs/N=2,C=2,T=1,beta=3,tau=2",
                         "bs/N=2,C=1,T=0,beta=3"};
    const char *ab[] = {"run", "--model", model, "--dataset", data, "--limit", "2", "--rsa",
                        bs[1], "--rsa", bs[2], "--rsa", bs[0], "--temperature", "0.7", "--seed",
                        "5", "--db", db4, "--name", "bs", "--store-prompts", NULL, NULL};
    size_t dry = sizeof ab / sizeof ab[0] - 2;
    ab[dry] = "--dry-run";
    int rc = zeval(dpl, ab);
    char *bp = ck_slurp(dpl, NULL);
    /* requests: round 0 2 x 2 at 6 tokens; round 1 2 x 2 at 6 and 2 x 2 at 3 */
    CK(rc == 0 && bp && strstr(bp, "3 runs: 20 samples to generate of 20, 8 of them shared with "
                                   "another setting (12 requests), at most 60 generated tokens"),
       "exit %d: %s", rc, bp ? bp : errbuf);
    free(bp);
    ab[dry] = NULL;
    rc = zeval(NULL, ab);
    CK(rc == 0 && strstr(errbuf, "zeval run: 8 samples generated once"), "exit %d: %s", rc,
       errbuf);
    char saved[96]; /* the round-0 tokens of the two settings that took them */
    snprintf(saved, sizeof saved, "): %lld tokens not generated again",
             q1(db4, "SELECT sum(gen_tokens) FROM samples WHERE round = 0 AND run_id <> (SELECT "
                     "id FROM runs WHERE name = 'bs/N=2,C=2,T=1,beta=6,tau=2')"));
    CK(strstr(errbuf, saved), "want '%s' in %s", saved, errbuf);
    CK(q1(db4, "SELECT count(*) FROM samples WHERE round = 0 AND gen_tokens > 3") == 4 &&
           q1(db4, "SELECT count(*) FROM samples WHERE gen_tokens > 3 AND run_id <> (SELECT id "
                   "FROM runs WHERE name = 'bs/N=2,C=2,T=1,beta=6,tau=2')") == 0,
       "budgets not kept: %lld rows past 3 tokens",
       q1(db4, "SELECT count(*) FROM samples WHERE gen_tokens > 3"));
    for (int i = 0; i < 3; i++) {
        const char *al[] = {"run", "--model", model, "--dataset", data, "--limit", "2", "--rsa",
                            bs[i], "--temperature", "0.7", "--seed", "5", "--db", db4, "--name",
                            NULL, "--store-prompts", NULL};
        char alone[64];
        snprintf(alone, sizeof alone, "alone%d", i);
        al[16] = alone;
        rc = zeval(NULL, al);
        long long d = run_rows_differ(db4, bn[i], db4, alone, -1);
        CK(rc == 0 && d == 0, "%s: exit %d, %lld rows differ from the setting run alone: %s",
           bs[i], rc, d, errbuf);
    }
    ck_end();
}

static void test_early_cut(void)
{
    ck_begin("a sweep whose settings share round 0 at budgets 40 and 3: the smaller one's "
             "samples are stored once the larger has gone past 3 tokens, before its own row "
             "(in parallel: the smaller round 1 is done before the larger round 0; under "
             "--max-inflight 3 too); every row equals the setting run alone");
    const char *bs[2] = {"N=2,C=2,T=1,beta=40,tau=2", "N=2,C=2,T=1,beta=3,tau=2"};
    for (int m = 0; m < 2; m++) {
        char db5[700];
        snprintf(db5, sizeof db5, "%s/sweep-early%d.db", dir, m);
        const char *a[] = {"run", "--model", model, "--dataset", data, "--limit", "2", "--rsa",
                           bs[1], "--rsa", bs[0], "--temperature", "0.7", "--seed", "5", "--db",
                           db5, "--name", "ec", "--store-prompts", m ? "--max-inflight" : NULL,
                           "3", NULL};
        int rc = zeval(NULL, a);
        CK(rc == 0 && strstr(errbuf, "zeval run: 4 samples generated once"), "exit %d: %s", rc,
           errbuf);
        /* the larger round 0 really is longer (no early stop), and the
         * smaller setting's round 1 finished before it */
        long long big0 = q1(db5, "SELECT max(s.rowid) FROM samples s JOIN runs r ON r.id = "
                                 "s.run_id WHERE r.name = 'ec/N=2,C=2,T=1,beta=40,tau=2' AND "
                                 "s.round = 0");
        long long small1 = q1(db5, "SELECT min(s.rowid) FROM samples s JOIN runs r ON r.id = "
                                   "s.run_id WHERE r.name = 'ec/N=2,C=2,T=1,beta=3,tau=2' AND "
                                   "s.round = 1");
        long long long0 = q1(db5, "SELECT max(gen_tokens) FROM samples WHERE round = 0");
        /* one request at a time per slot: the smaller setting's samples are
         * cut from a request still in flight, stored before its own row */
        long long before = q1(db5, "SELECT count(*) FROM samples a JOIN runs ra ON ra.id = "
                                   "a.run_id JOIN samples b ON b.problem_id = a.problem_id AND "
                                   "b.round = 0 AND b.candidate = a.candidate JOIN runs rb ON "
                                   "rb.id = b.run_id WHERE a.round = 0 AND ra.name = "
                                   "'ec/N=2,C=2,T=1,beta=3,tau=2' AND rb.name = "
                                   "'ec/N=2,C=2,T=1,beta=40,tau=2' AND a.rowid < b.rowid");
        if (m)
            CK(long0 >= 20 && before > 0,
               "--max-inflight 3: round 0 up to %lld tokens; %lld smaller round-0 rows stored "
               "before the larger one they were cut from", long0, before);
        else
            CK(long0 >= 20 && small1 > 0 && small1 < big0 && before == 4,
               "round 0 up to %lld tokens; first smaller round-1 row %lld, last larger "
               "round-0 row %lld; %lld of 4 smaller round-0 rows stored first", long0, small1,
               big0, before);
        for (int i = 0; i < 2; i++) {
            const char *al[] = {"run", "--model", model, "--dataset", data, "--limit", "2",
                                "--rsa", bs[i], "--temperature", "0.7", "--seed", "5", "--db",
                                db5, "--name", NULL, "--store-prompts", NULL};
            char alone[64], name[96];
            snprintf(alone, sizeof alone, "alone%d", i);
            snprintf(name, sizeof name, "ec/%s", bs[i]);
            al[16] = alone;
            rc = zeval(NULL, al);
            long long d = run_rows_differ(db5, name, db5, alone, -1);
            CK(rc == 0 && d == 0, "%s: exit %d, %lld rows differ from the setting run alone: %s",
               bs[i], rc, d, errbuf);
        }
    }
    ck_end();
}

static void test_where(void)
{
    ck_begin("--where FIELD=VALUE keeps the records that have it (the same field repeated: any "
             "of its values; a dotted path, a number), before --limit; stored in the "
             "configuration, named by show, kept by resume and regrade; another --where on "
             "resume, no matching record and a malformed condition are refused");
    char db6[700], hm[600];
    snprintf(db6, sizeof db6, "%s/where.db", dir);
    snprintf(hm, sizeof hm, "%s", ck_shared("datasets/math/hmmt_feb_2025.jsonl"));
    /* HMMT February: problems 11-20 Combinatorics, 21-30 Geometry */
    const char *a[] = {"run", "--model", model, "--dataset", hm, "--rsa", "N=1,C=1,T=0,beta=2",
                       "--where", "round=Geometry", "--where", "round=Combinatorics",
                       "--limit", "12", "--db", db6, "--name", "w", "--progress", "off", NULL};
    int rc = zeval(NULL, a);
    CK(rc == 0 && q1(db6, "SELECT count(DISTINCT problem_id) FROM samples") == 12 &&
           q1(db6, "SELECT count(*) FROM samples WHERE problem_id BETWEEN 'hmmt-feb-2025-11' "
                   "AND 'hmmt-feb-2025-22'") == 12,
       "exit %d, %lld problems: %s", rc, q1(db6, "SELECT count(DISTINCT problem_id) FROM samples"),
       errbuf);
    CK(q1(db6, "SELECT json_array_length(config, '$.where') FROM runs WHERE name = 'w'") == 2,
       "configuration: where not stored");
    char out[700];
    snprintf(out, sizeof out, "%s/where-show.txt", dir);
    const char *sh[] = {"show", "w", "--db", db6, NULL};
    rc = zeval(out, sh);
    char *t = ck_slurp(out, NULL);
    CK(rc == 0 && t && strstr(t, "  problems: the dataset's records with --where "
                                 "round=Combinatorics, round=Geometry\n"), "show: %s",
       t ? t : errbuf);
    free(t);
    const char *r1[] = {"run", "--resume", "w", "--db", db6, "--where", "round=Combinatorics",
                        "--where", "round=Geometry", "--progress", "off", NULL};
    rc = zeval(NULL, r1);
    CK(rc == 0, "resume with the same conditions: exit %d: %s", rc, errbuf);
    const char *r2[] = {"run", "--resume", "w", "--db", db6, "--where", "round=Geometry", NULL};
    rc = zeval(NULL, r2);
    CK(rc == 2 && strstr(errbuf, "--where round=Geometry conflicts") &&
           strstr(errbuf, "(round=Combinatorics, round=Geometry)"), "resume: exit %d: %s", rc,
       errbuf);
    const char *rg[] = {"regrade", "w", "--db", db6, NULL};
    rc = zeval(NULL, rg);
    CK(rc == 0 && strstr(errbuf, "12 samples re-graded"), "regrade: exit %d: %s", rc, errbuf);
    const char *n1[] = {"run", "--model", model, "--dataset", hm, "--rsa", "N=1,C=1,T=0,beta=2",
                        "--where", "hf.problem_idx=3", "--db", db6, "--name", "w1",
                        "--progress", "off", NULL};
    rc = zeval(NULL, n1);
    CK(rc == 0 && q1(db6, "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id WHERE "
                          "r.name = 'w1' AND problem_id = 'hmmt-feb-2025-03'") == 1 &&
           q1(db6, "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id WHERE "
                   "r.name = 'w1'") == 1, "a nested number: exit %d: %s", rc, errbuf);
    const char *n2[] = {"run", "--model", model, "--dataset", hm, "--rsa", "N=1,C=1,T=0,beta=2",
                        "--where", "round=Topology", "--db", db6, "--name", "w2", NULL};
    rc = zeval(NULL, n2);
    CK(rc == 1 && strstr(errbuf, "no record meets --where round=Topology") &&
           q1(db6, "SELECT count(*) FROM runs WHERE name = 'w2'") == 0, "no match: exit %d: %s",
       rc, errbuf);
    const char *n3[] = {"run", "--model", model, "--dataset", hm, "--rsa", "N=1,C=1,T=0,beta=2",
                        "--where", ".round=x", "--db", db6, "--name", "w3", NULL};
    rc = zeval(NULL, n3);
    CK(rc == 2 && strstr(errbuf, "--where '.round=x'"), "malformed: exit %d: %s", rc, errbuf);
    ck_end();
}

int main(void)
{
    if (setup()) {
        ck_skip("zeval run end to end", "could not create the tiny checkpoint");
        return ck_status();
    }
    char db[700];
    snprintf(db, sizeof db, "%s/runs.db", dir);
    test_acceptance1(db);
    test_resume();
    test_carry();
    test_code_and_batches(db);
    test_integer_only(db);
    test_prompt_template(db);
    test_tty_progress();
    test_sweep();
    test_budget_sweep();
    test_early_cut();
    test_where();
    ck_rmtree(dir);
    return ck_status();
}
