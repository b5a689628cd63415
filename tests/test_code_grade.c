/*
 * test_code_grade.c — the code grader: extraction, LiveCodeBench comparison
 * rules, canonical solutions of HumanEval / MBPP, hand-written
 * LiveCodeBench solutions (tests/data/lcb_solutions/<id>.py pass,
 * <id>.<verdict>.py fail with that verdict), warm/cold agreement, warm
 * isolation between tests, and the grade-code CLI.
 *
 * Acceptance 3: the sandbox must build here; on a root machine with user
 * namespaces a refused isolation feature is a FAIL, never a SKIP.
 */
#include "check.h"
#include "../graders/code_grade.h"
#include "../graders/sandbox.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    code_problem *p;
    char **resp;
    int n;
} set;

static void set_free(set *s)
{
    for (int i = 0; i < s->n; i++) {
        code_problem_free(&s->p[i]);
        free(s->resp[i]);
    }
    free(s->p);
    free(s->resp);
    memset(s, 0, sizeof *s);
}

/* Loads a dataset file; canonical responses (prompt + solution for HumanEval). */
static int load(const char *rel, const char *split, set *s)
{
    memset(s, 0, sizeof *s);
    FILE *f = fopen(ck_shared(rel), "rb");
    if (!f)
        return -1;
    s->p = calloc(1024, sizeof *s->p);
    s->resp = calloc(1024, sizeof *s->resp);
    char *line = NULL;
    size_t cap = 0;
    char err[256];
    while (getline(&line, &cap, f) > 0 && s->n < 1024) {
        cJSON *o = cJSON_Parse(line);
        if (!o)
            continue;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metadata");
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(m, "split");
        if (split && (!cJSON_IsString(sp) || strcmp(sp->valuestring, split) != 0)) {
            cJSON_Delete(o);
            continue;
        }
        if (code_problem_from_json(o, &s->p[s->n], err, sizeof err) == 0) {
            const cJSON *cs = cJSON_GetObjectItemCaseSensitive(o, "canonical_solution");
            const char *c = cJSON_IsString(cs) ? cs->valuestring : "";
            const char *pre = s->p[s->n].starter_code[0] ? s->p[s->n].prompt : "";
            char *r = malloc(strlen(pre) + strlen(c) + 1);
            strcpy(r, pre);
            strcat(r, c);
            s->resp[s->n++] = r;
        }
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    return 0;
}

static int run_set(const set *s, const code_options *o, code_result *res)
{
    const code_problem **pp = calloc((size_t)s->n + 1, sizeof *pp);
    for (int i = 0; i < s->n; i++)
        pp[i] = &s->p[i];
    char err[256];
    int rc = code_grade_many(pp, (const char *const *)s->resp, s->n, o, 0, res, err, sizeof err);
    free(pp);
    return rc;
}

static void test_driver_embedded(void)
{
    ck_begin("driver: graders/code_driver.c embeds graders/code_driver.py byte for byte");
    size_t n;
    char *src = ck_slurp("graders/code_driver.py", &n);
    CK(src != NULL, "cannot read graders/code_driver.py (run from the repository root)");
    if (src)
        CK(strcmp(src, code_driver_py) == 0,
           "stale embedding: run python3 scripts/embed_code_driver.py");
    free(src);
    ck_end();
}

static void expect_extract(const char *name, const char *resp, const char *want)
{
    ck_begin("extract: %s", name);
    char *got = code_extract(resp);
    if (!want)
        CK(got == NULL, "expected no_code, got '%s'", got);
    else
        CK(got && strcmp(got, want) == 0, "expected '%s', got '%s'", want, got ? got : "(null)");
    free(got);
    ck_end();
}

static void test_extract(void)
{
    expect_extract("last python block wins", "```python\na=1\n```\ntext\n```python\nb=2\n```\n",
                   "b=2\n");
    expect_extract("python preferred over a later untagged block",
                   "```py\nx=1\n```\n```\nplain\n```", "x=1\n");
    expect_extract("untagged fence when no python block", "see\n```\ny=3\n```\n", "y=3\n");
    expect_extract("reasoning before </think> ignored",
                   "<think>```python\nbad()\n```</think>\n```python\ngood()\n```", "good()\n");
    expect_extract("no fence: the response is the program", "print(1)\n", "print(1)\n");
    expect_extract("empty response is no_code", "  \n\t", NULL);
    expect_extract("empty fenced block is no_code", "```python\n```\n", NULL);
    expect_extract("unclosed last fence: the rest", "```python\nz=1\n", "z=1\n");
}

static void test_compare(void)
{
    ck_begin("stdout: LiveCodeBench line rules (strip, per-line strip, Decimal tokens)");
    CK(code_stdout_equal("3\n", 2, "3", 1) == 1, "trailing newline must not matter");
    CK(code_stdout_equal("  1 2  \r\n3\n\n", 12, "1 2\n3", 5) == 1, "per-line strip");
    CK(code_stdout_equal("1\n\n2", 4, "1\n2", 3) == 0, "a blank line changes the line count");
    CK(code_stdout_equal("1.0 0.50", 8, "1 0.5", 5) == 1, "Decimal equality 1.0 = 1, 0.50 = 0.5");
    CK(code_stdout_equal("0.1000001", 9, "0.1", 3) == 0, "no float tolerance");
    CK(code_stdout_equal("Yes", 3, "yes", 3) == 0, "case matters");
    CK(code_stdout_equal("1  2", 4, "1 2", 3) == 1, "token split on runs of whitespace");
    CK(code_stdout_equal("a 1.0", 5, "a 1", 3) == 0, "a non-number token fails the Decimal path");
    CK(code_stdout_equal("nan", 3, "nan", 3) == 1, "equal strings pass before Decimal");
    CK(code_stdout_equal("nan", 3, "NaN", 3) == 0, "NaN never equals NaN");
    CK(code_stdout_equal("\xc2\xa0" "5\xe3\x80\x80", 6, "5", 1) == 1, "unicode whitespace strip");
    ck_end();

    ck_begin("decimal: Python Decimal string syntax and equality");
    struct {
        const char *a, *b;
        int want;
    } c[] = {{"1e3", "1000", 1},     {"1E+03", "1000.000", 1}, {"-0", "0.0", 1},
             {"+.5", "0.5", 1},      {"5.", "5", 1},           {"1_000", "1000", 1},
             {"inf", "Infinity", 1}, {"-INF", "inf", 0},       {"1e", "1", -1},
             {".", "0", -1},         {"0x10", "16", -1},       {"snan", "snan", 0},
             {"12.3400e-2", "0.1234", 1}, {"100", "1e2", 1},   {"7", "8", 0}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        CK(code_decimal_equal(c[i].a, strlen(c[i].a), c[i].b, strlen(c[i].b)) == c[i].want,
           "Decimal('%s') == Decimal('%s') should be %d", c[i].a, c[i].b, c[i].want);
    ck_end();

    ck_begin("json: Python == on parsed values");
    struct {
        const char *a, *b;
        int want;
    } j[] = {{"1", "1.0", 1},
             {"true", "1", 1},
             {"false", "0.0", 1},
             {"[1, 2]", "[1,2]", 1},
             {"\"\\u00e9\"", "\"\xc3\xa9\"", 1},
             {"100000000000000000001", "100000000000000000000", 0},
             {"100000000000000000000", "1e20", 1},
             {"0.1", "0.10000000000000001", 1},
             {"{\"a\": [1, {\"b\": null}]}", "{\"a\":[1,{\"b\":null}]}", 1},
             {"{\"a\": 1, \"b\": 2}", "{\"b\": 2, \"a\": 1}", 1},
             {"[1]", "1", 0},
             {"\"1\"", "1", 0},
             {"NaN", "NaN", 0},
             {"[1, 2", "[1, 2]", -1}};
    for (size_t i = 0; i < sizeof j / sizeof j[0]; i++)
        CK(code_json_equal(j[i].a, strlen(j[i].a), j[i].b, strlen(j[i].b)) == j[i].want,
           "json %s == %s should be %d", j[i].a, j[i].b, j[i].want);
    ck_end();
}

/* Acceptance 3 */
static int test_sandbox_available(void)
{
    ck_begin("sandbox: builds here (user, PID, mount, IPC, UTS, net namespaces, seccomp)");
    char why[512];
    int ok = sbx_probe(NULL, why, sizeof why);
    CK(ok, "isolation refused: %s", why);
    ck_end();
    return ok;
}

static void check_all_pass(const char *name, const set *s, const code_result *r)
{
    ck_begin("%s", name);
    int pass = 0;
    for (int i = 0; i < s->n; i++) {
        if (r[i].verdict == CODE_PASS)
            pass++;
        else
            CK(0, "%s: %s (%s)", s->p[i].id, code_verdict_name(r[i].verdict), r[i].first_failure);
    }
    CK(s->n > 0, "no problems loaded");
    printf("    %d/%d passed\n", pass, s->n);
    ck_end();
}

static void check_agree(const char *name, const set *s, const code_result *a,
                        const code_result *b)
{
    ck_begin("%s", name);
    for (int i = 0; i < s->n; i++)
        CK(a[i].verdict == b[i].verdict && a[i].passed_tests == b[i].passed_tests,
           "%s: cold %s (%d passed) vs warm %s (%d passed)", s->p[i].id,
           code_verdict_name(a[i].verdict), a[i].passed_tests, code_verdict_name(b[i].verdict),
           b[i].passed_tests);
    ck_end();
}

static void test_humaneval(void)
{
    set s;
    if (load("datasets/code/humaneval.jsonl", NULL, &s)) {
        ck_begin("humaneval canonical");
        CK(0, "cannot read %s", ck_shared("datasets/code/humaneval.jsonl"));
        ck_end();
        return;
    }
    code_options o = {0};
    code_result *cold = calloc((size_t)s.n, sizeof *cold), *warm = calloc((size_t)s.n, sizeof *warm);
    run_set(&s, &o, cold);
    check_all_pass("humaneval: prompt + canonical_solution passes 164/164 (cold)", &s, cold);
    ck_begin("humaneval: 164 problems");
    CK(s.n == 164, "loaded %d", s.n);
    ck_end();
    o.warm = 1;
    run_set(&s, &o, warm);
    check_agree("humaneval: warm and cold verdicts agree on every problem", &s, cold, warm);
    free(cold);
    free(warm);
    set_free(&s);
}

static void test_mbpp(void)
{
    set s;
    if (load("datasets/code/mbpp_sanitized.jsonl", NULL, &s)) {
        ck_begin("mbpp canonical");
        CK(0, "cannot read the MBPP file");
        ck_end();
        return;
    }
    /* mbpp-123's canonical solution needs ~2.2 s of its 3 s on an idle
     * core; a generous limit keeps the check deterministic under load. */
    code_options o = {0};
    o.timeout_s = 20;
    code_result *cold = calloc((size_t)s.n, sizeof *cold), *warm = calloc((size_t)s.n, sizeof *warm);
    o.warm = 1;
    run_set(&s, &o, warm);
    int nt = 0;
    ck_begin("mbpp: sanitized test split canonical solutions all pass (257 tasks, warm)");
    int pass = 0;
    for (int i = 0; i < s.n; i++) {
        int id = atoi(s.p[i].id + 5);
        if (id < 11 || id > 510)
            continue;
        nt++;
        if (warm[i].verdict == CODE_PASS)
            pass++;
        else
            CK(0, "%s: %s (%s)", s.p[i].id, code_verdict_name(warm[i].verdict),
               warm[i].first_failure);
    }
    CK(nt == 257, "test split has %d tasks, expected 257", nt);
    printf("    %d/%d passed\n", pass, nt);
    ck_end();
    ck_begin("mbpp: every sanitized task (all 427, all splits) passes");
    for (int i = 0; i < s.n; i++)
        CK(warm[i].verdict == CODE_PASS, "%s: %s (%s)", s.p[i].id,
           code_verdict_name(warm[i].verdict), warm[i].first_failure);
    ck_end();
#ifndef __SANITIZE_ADDRESS__
    /* release variant only: sanitizers slow the harness, not python, so the
     * ASan run would repeat the same 1324 python runs for no new coverage */
    {
        o.warm = 0;
        run_set(&s, &o, cold);
        check_agree("mbpp: warm and cold verdicts agree on all 427 tasks", &s, cold, warm);
    }
#endif
    free(cold);
    free(warm);
    set_free(&s);
}

/* LiveCodeBench: our solutions, wrong ones, and a generic answer to every
 * other problem (for warm/cold agreement on the whole file). */
static void test_lcb(void)
{
    set s;
    if (load("datasets/code/livecodebench_2408_2502_public.jsonl", NULL, &s)) {
        ck_begin("lcb");
        CK(0, "cannot read the LiveCodeBench file");
        ck_end();
        return;
    }
    static const char echo_stdin[] = "import sys\nprint(sys.stdin.readline().strip())\n";
    for (int i = 0; i < s.n; i++) {
        free(s.resp[i]);
        if (s.p[i].fmt == CODE_FMT_STDIN) {
            s.resp[i] = strdup(echo_stdin);
        } else {
            char buf[512];
            snprintf(buf, sizeof buf,
                     "class Solution:\n    def %s(self, *args):\n        return args[0]\n",
                     s.p[i].entry_point);
            s.resp[i] = strdup(buf);
        }
    }
    /* solutions: tests/data/lcb_solutions/<id>[.<verdict>].py */
    DIR *d = opendir("tests/data/lcb_solutions");
    int nsol = 0, nwrong = 0;
    set extra = {0};
    extra.p = calloc(64, sizeof *extra.p);
    extra.resp = calloc(64, sizeof *extra.resp);
    code_verdict want[64];
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && extra.n < 64) {
        if (strncmp(e->d_name, "lcb-", 4) != 0)
            continue;
        char id[128], verdict[64] = "pass";
        const char *dot = strchr(e->d_name, '.');
        snprintf(id, sizeof id, "%.*s", (int)(dot - e->d_name), e->d_name);
        const char *dot2 = strchr(dot + 1, '.');
        if (dot2)
            snprintf(verdict, sizeof verdict, "%.*s", (int)(dot2 - dot - 1), dot + 1);
        int k = -1;
        for (int i = 0; i < s.n; i++)
            if (strcmp(s.p[i].id, id) == 0)
                k = i;
        if (k < 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "tests/data/lcb_solutions/%s", e->d_name);
        size_t n;
        char *src = ck_slurp(path, &n);
        if (!src)
            continue;
        /* graded as a model answer: fenced, after some reasoning */
        char *resp = malloc(n + 64);
        sprintf(resp, "Reasoning...\n```python\n%s```\n", src);
        free(src);
        code_verdict w = CODE_PASS;
        for (int v = 0; v <= CODE_SANDBOX_ERROR; v++)
            if (strcmp(code_verdict_name((code_verdict)v), verdict) == 0)
                w = (code_verdict)v;
        if (w == CODE_PASS) {
            free(s.resp[k]);
            s.resp[k] = strdup(resp);
            nsol++;
        } else {
            nwrong++;
        }
        /* copy the problem by re-reading it is heavy; share it instead */
        extra.p[extra.n] = s.p[k];
        extra.resp[extra.n] = resp;
        want[extra.n] = w;
        extra.n++;
    }
    if (d)
        closedir(d);
    code_options o = {0};
    code_result *r = calloc((size_t)extra.n + 1, sizeof *r);
    run_set(&extra, &o, r);
    ck_begin("lcb: %d hand-written solutions pass all public tests (>= 20 required)", nsol);
    CK(nsol >= 20, "only %d solutions", nsol);
    for (int i = 0; i < extra.n; i++)
        if (want[i] == CODE_PASS)
            CK(r[i].verdict == CODE_PASS && r[i].passed_tests == r[i].total_tests,
               "%s: %s (%s)", extra.p[i].id, code_verdict_name(r[i].verdict), r[i].first_failure);
    ck_end();
    ck_begin("lcb: %d wrong solutions fail with the expected verdict", nwrong);
    for (int i = 0; i < extra.n; i++)
        if (want[i] != CODE_PASS)
            CK(r[i].verdict == want[i], "%s: expected %s, got %s (%s)", extra.p[i].id,
               code_verdict_name(want[i]), code_verdict_name(r[i].verdict), r[i].first_failure);
    CK(nwrong >= 5, "only %d wrong solutions", nwrong);
    ck_end();
    free(r);
    for (int i = 0; i < extra.n; i++)
        free(extra.resp[i]);
    free(extra.p);
    free(extra.resp);

    /* warm vs cold on all 279 problems, every test run */
    code_result *cold = calloc((size_t)s.n, sizeof *cold), *warm = calloc((size_t)s.n, sizeof *warm);
    o.all_tests = 1;
    run_set(&s, &o, cold);
    o.warm = 1;
    run_set(&s, &o, warm);
    check_agree("lcb: warm and cold verdicts agree on all 279 problems (every test run)", &s,
                cold, warm);
    free(cold);
    free(warm);
    set_free(&s);
}

/* Grades the JSON problems (one string each) with the given programs on a
 * single pool worker (one warm server for all). */
static void grade_seq(const char *const *probs, const char *const *progs, int n,
                      code_result *r)
{
    code_problem p[8];
    const code_problem *pp[8] = {NULL};
    cJSON *o[8] = {NULL};
    char err[256] = "";
    memset(p, 0, sizeof p);
    for (int i = 0; i < n; i++) {
        o[i] = cJSON_Parse(probs[i]);
        CK(o[i] && code_problem_from_json(o[i], &p[i], err, sizeof err) == 0, "problem %d: %s",
           i, err);
        pp[i] = &p[i];
    }
    code_options opt = {0};
    opt.warm = 1;
    opt.all_tests = 1;
    CK(code_grade_many(pp, progs, n, &opt, 1, r, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < n; i++) {
        code_problem_free(&p[i]);
        cJSON_Delete(o[i]);
    }
}

/* Warm mode: state from one test is invisible to the next, within a problem
 * and across problems served by the same warm server. */
static void test_warm_isolation(void)
{
#define ISO_STATE                                                                              \
    "import builtins, os, sys, math, collections\n"                                           \
    "def _state():\n"                                                                          \
    "    dirty = []\n"                                                                         \
    "    if globals().get('COUNTER'): dirty.append('global')\n"                                \
    "    if getattr(builtins, 'zeval_marker', None): dirty.append('builtin')\n"                \
    "    if os.listdir('.') or os.listdir('/tmp') or os.path.exists('left.txt'):\n"            \
    "        dirty.append('file')\n"                                                           \
    "    if getattr(builtins.len, '__name__', '') != 'len': dirty.append('len')\n"             \
    "    if getattr(collections, 'zeval_global', 0): dirty.append('module global')\n"          \
    "    if os.environ.get('ZEVAL_LEAK') or os.getenv('ZEVAL_LEAK2'): dirty.append('env')\n"   \
    "    if 'zeval_fake_mod' in sys.modules: dirty.append('sys.modules')\n"                    \
    "    if math.sqrt(4) != 2 or collections.Counter('aa')['a'] != 2:\n"                       \
    "        dirty.append('prelude module')\n"                                                 \
    "    return ' '.join(dirty) or 'clean'\n"                                                  \
    "def _dirty():\n"                                                                          \
    "    global COUNTER\n"                                                                     \
    "    COUNTER = 1\n"                                                                        \
    "    builtins.zeval_marker = 1\n"                                                          \
    "    collections.zeval_global = 1\n"                                                       \
    "    open('left.txt', 'w').write('x')\n"                                                   \
    "    open('/tmp/left2.txt', 'w').write('x')\n"                                             \
    "    os.mkdir('d'); open('d/f', 'w').close(); os.chmod('d', 0)\n"                          \
    "    os.environ['ZEVAL_LEAK'] = '1'; os.putenv('ZEVAL_LEAK2', '1')\n"                      \
    "    sys.modules['zeval_fake_mod'] = os\n"                                                 \
    "    math.sqrt = lambda x: -1.0\n"                                                         \
    "    collections.Counter = dict\n"                                                         \
    "    builtins.len = lambda x: 0\n"
    static const char *const probs[] = {
        "{\"id\":\"iso1\",\"test_format\":\"stdin_stdout\",\"tests\":["
        "{\"input\":\"1\\n\",\"output\":\"clean\"},{\"input\":\"2\\n\",\"output\":\"clean\"},"
        "{\"input\":\"3\\n\",\"output\":\"clean\"}]}",
        "{\"id\":\"iso2\",\"test_format\":\"functional_call\",\"entry_point\":\"f\",\"tests\":["
        "{\"input\":\"1\",\"output\":\"\\\"clean\\\"\"},{\"input\":\"2\",\"output\":"
        "\"\\\"clean\\\"\"}]}",
        "{\"id\":\"iso3\",\"test_format\":\"assert_code\",\"tests\":["
        "{\"code\":\"assert g() == 'clean', g.s\"},{\"code\":\"assert g() == 'clean', g.s\"}]}",
        "{\"id\":\"iso4\",\"test_format\":\"stdin_stdout\",\"tests\":["
        "{\"input\":\"1\\n\",\"output\":\"clean\"},{\"input\":\"2\\n\",\"output\":\"clean\"}]}",
    };
    static const char *const progs[] = {
        ISO_STATE "print(_state())\n_dirty()\n",
        ISO_STATE "class Solution:\n    def f(self, x):\n        s = _state()\n"
                  "        _dirty()\n        return s\n",
        ISO_STATE "def g():\n    g.s = _state()\n    _dirty()\n    return g.s\n",
        ISO_STATE "print(_state())\n_dirty()\n",
    };
#undef ISO_STATE
    ck_begin("warm: a changed global, patched builtin and prelude module, leftover files in cwd "
             "and /tmp, an env var and a sys.modules entry reach neither the next test nor the "
             "next problem on the same server");
    code_result r[4];
    memset(r, 0, sizeof r);
    grade_seq(probs, progs, 4, r);
    int starts = 0;
    for (int i = 0; i < 4; i++) {
        CK(r[i].verdict == CODE_PASS && r[i].passed_tests == r[i].total_tests,
           "problem %d: %s %d/%d: %s", i + 1, code_verdict_name(r[i].verdict), r[i].passed_tests,
           r[i].total_tests, r[i].first_failure);
        starts += r[i].servers_started;
    }
    CK(starts == 1, "%d warm servers started for 4 problems on one worker (want 1)", starts);
    ck_end();

    ck_begin("warm: a test that kills the server is a runtime error; the next problem gets a "
             "fresh server and passes; the server's memory and fds are out of reach");
    static const char *const probs2[] = {
        "{\"id\":\"k1\",\"test_format\":\"stdin_stdout\",\"tests\":["
        "{\"input\":\"\",\"output\":\"alive\"}]}",
        "{\"id\":\"k2\",\"test_format\":\"stdin_stdout\",\"tests\":["
        "{\"input\":\"2 3\",\"output\":\"5\"},{\"input\":\"4 5\",\"output\":\"9\"}]}",
        "{\"id\":\"k3\",\"test_format\":\"stdin_stdout\",\"tests\":["
        "{\"input\":\"\",\"output\":\"contained\"}]}",
        "{\"id\":\"k4\",\"test_format\":\"stdin_stdout\",\"tests\":["
        "{\"input\":\"2 3\",\"output\":\"5\"}]}",
    };
    static const char *const progs2[] = {
        "import os, time\nos.kill(os.getppid(), 9)\ntime.sleep(0.5)\nprint('alive')\n",
        "a, b = map(int, input().split())\nprint(a + b)\n",
        "import os\npp = os.getppid()\ngot = []\n"
        "for name, mode in (('mem', 'rb'), ('mem', 'r+b'), ('environ', 'rb'), ('fd/0', 'rb'),\n"
        "                   ('fd/1', 'wb'), ('maps', 'rb')):\n"
        "    try:\n"
        "        with open('/proc/%d/%s' % (pp, name), mode) as fh:\n"
        "            got.append(name)\n"
        "    except OSError:\n"
        "        pass\n"
        "print('PWNED ' + ' '.join(got) if got else 'contained')\n",
        "a, b = map(int, input().split())\nprint(a + b)\n",
    };
    grade_seq(probs2, progs2, 4, r);
    CK(r[0].verdict == CODE_RUNTIME_ERROR && strstr(r[0].first_failure, "server died"),
       "killing the server: %s (%s)", code_verdict_name(r[0].verdict), r[0].first_failure);
    for (int i = 1; i < 4; i++)
        CK(r[i].verdict == CODE_PASS, "problem %d: %s (%s)", i + 1,
           code_verdict_name(r[i].verdict), r[i].first_failure);
    CK(r[0].servers_started == 1 && r[1].servers_started == 1 && r[2].servers_started == 0 &&
           r[3].servers_started == 0,
       "servers started per problem: %d %d %d %d (want 1 1 0 0)", r[0].servers_started,
       r[1].servers_started, r[2].servers_started, r[3].servers_started);
    ck_end();
}

static void test_cli(void)
{
    ck_begin("cli: grade-code --jsonl, input order, fields added");
    const char *dir = ck_tmpdir();
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    static const char lines[] =
        "{\"problem\":{\"id\":\"a\",\"test_format\":\"stdin_stdout\",\"tests\":[{\"input\":\"2 3\","
        "\"output\":\"5\"}]},\"response\":\"```python\\na,b=map(int,input().split())\\nprint(a+b)"
        "\\n```\"}\n"
        "{\"problem\":{\"id\":\"b\",\"test_format\":\"functional_call\",\"entry_point\":\"f\","
        "\"tests\":[{\"input\":\"[1,2]\",\"output\":\"[2, 1]\"},{\"input\":\"[3]\",\"output\":"
        "\"[3]\"}]},\"response\":\"class Solution:\\n    def f(self, a):\\n        return "
        "tuple(a[::-1])\\n\"}\n"
        "{\"problem\":{\"id\":\"c\",\"test_format\":\"assert_code\",\"tests\":[{\"code\":\"assert "
        "g() == 2\"}]},\"response\":\"def g(): return 3\"}\n"
        "{\"problem\":{\"id\":\"d\",\"test_format\":\"assert_code\",\"tests\":[{\"code\":\"assert "
        "1\"}]},\"response\":\"\"}\n";
    ck_write(in, lines, strlen(lines));
    char *argv[] = {(char *)ck_zeval(), "grade-code", "--jsonl", in, "--jobs", "2", NULL};
    char errbuf[2048];
    int rc = ck_run(argv, out, errbuf, sizeof errbuf);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    size_t n;
    char *txt = ck_slurp(out, &n);
    const char *want[] = {"\"id\":\"a\"", "\"verdict\":\"pass\"", "\"id\":\"b\"",
                          "\"verdict\":\"pass\"", "\"passed_tests\":2", "\"id\":\"c\"",
                          "\"verdict\":\"runtime_error\"", "\"id\":\"d\"", "\"verdict\":\"no_code\""};
    const char *p = txt ? txt : "";
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *q = strstr(p, want[i]);
        CK(q != NULL, "missing (in order) %s in:\n%s", want[i], txt ? txt : "");
        if (q)
            p = q;
    }
    CK(txt && strstr(txt, "\"total_tests\":2") && strstr(txt, "\"time_ms\":") &&
           strstr(txt, "\"first_failure\":null"),
       "fields missing:\n%s", txt ? txt : "");
    free(txt);
    ck_rmtree(dir);
    ck_end();
}

int main(void)
{
    test_driver_embedded();
    test_extract();
    test_compare();
    if (test_sandbox_available()) {
        test_warm_isolation();
        test_lcb();
        test_humaneval();
        test_mbpp();
        test_cli();
    }
    return ck_status();
}
