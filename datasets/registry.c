/*
 * registry.c — the table of known benchmark sets, fetching them through the
 * cache, and their prompt formats.  Source readers are in load.c.
 *
 * Sources were chosen from ../shared/datasets/MANIFEST.json: raw files of
 * public repositories at the commits the curated copies were built from,
 * or a Hugging Face dataset file where it is JSONL.  No entry needs a
 * Parquet reader or the hub's rows API.
 *
 * Checksums: `sha256` pins the source file where MANIFEST.json records its
 * digest; `records_sha256` pins ds_records_sha256 of the mapped records and
 * was computed from the matching ../shared/datasets file (tests check that
 * the mapping reproduces it).
 *
 * Verified offline: tests/ds_sources.py rebuilds math-ai/aime26
 * aime2026.jsonl and rllm's livecodebench.json from the ../shared records
 * byte for byte (their sha256 equal the pinned upstream digests), so those
 * two source schemas are confirmed.  The frontier-teacher JSONL schema was
 * read from the text index.  NOT verified (no access to GitHub or Hugging
 * Face from here): the MathArena answers.csv / problems/N.tex layout
 * (assumed: header "id,answer", one statement per .tex file, surrounding
 * whitespace not part of the statement), the HumanEval and MBPP key names
 * beyond what ../shared/datasets/README.md states, the code_generation_lite
 * row schema, and the revision of livecodebench/code_generation_lite (its
 * content is pinned by the Git LFS sha256 of test6.jsonl instead).
 */
#define _POSIX_C_SOURCE 200809L
#include "registry.h"
#include "../engine/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MATHARENA_REPO "eth-sri/matharena"
#define MATHARENA_REV "81f103e38b1df076afa65ee0a3ffbe148d42e6d2"
#define FT_REPO "ash-ding/frontier-teacher"
#define FT_REV "858b98c343a6c3ca77dc22eb457216b8f979ef60"

static const ds_entry REG[] = {
    {.name = "aime_2024", .benchmark = "aime_2024", .task = "math",
     .description = "AIME 2024 I + II (MathArena wording)",
     .host = FETCH_GITHUB, .repo = MATHARENA_REPO, .revision = MATHARENA_REV,
     .format = DS_FMT_MATHARENA_TEX,
     .parts = {{"data/aime/aime_2024_I", 15, "AIME I", "I"},
               {"data/aime/aime_2024_II", 15, "AIME II", "II"}},
     .records_sha256 = "38b96e53f670ccfb703727e5dd0a403c01ad83fcf0bfba36e39e33a1cf07e339",
     .nparts = 2,
     .nrecords = 30, .year = 2024, .id_prefix = "aime2024", .has_range = 1, .range_lo = 0,
     .range_hi = 999, .prompt_format = "aime_boxed", .grader = "math",
     .shared_file = "math/aime_2024.jsonl",
     .note = "MathArena's data/ tree was deleted after this commit; the answers.csv/.tex "
             "layout is assumed, not verified against the upstream files"},
    {.name = "aime_2025", .benchmark = "aime_2025", .task = "math",
     .description = "AIME 2025 I + II (MathArena wording)",
     .host = FETCH_GITHUB, .repo = MATHARENA_REPO, .revision = MATHARENA_REV,
     .format = DS_FMT_MATHARENA_TEX,
     .parts = {{"data/aime/aime_2025_I", 15, "AIME I", "I"},
               {"data/aime/aime_2025_II", 15, "AIME II", "II"}},
     .records_sha256 = "2709543efe9c89c0c71e1b37904f48d9389f1a385891537e73ed917949af43a2",
     .nparts = 2,
     .nrecords = 30, .year = 2025, .id_prefix = "aime2025", .has_range = 1, .range_lo = 0,
     .range_hi = 999, .prompt_format = "aime_boxed", .grader = "math",
     .shared_file = "math/aime_2025.jsonl",
     .note = "answers.csv/.tex layout assumed, not verified upstream"},
    {.name = "aime_2026", .benchmark = "aime_2026", .task = "math",
     .description = "AIME 2026 I + II (math-ai/aime26 wording; II-10 differs from the "
                    "official paper)",
     .host = FETCH_DATASET, .repo = "math-ai/aime26",
     .revision = "04e80cb40b681c93511a913a6ba30529e6323832", .format = DS_FMT_MATHAI_JSONL,
     .parts = {{"aime2026.jsonl", 0, "AIME", NULL}},
     .records_sha256 = "f0c1b9b00250605b375003c68c401bd5d0e98f7e7beeb888bd28e8ff6c3b8607",
     .nparts = 1,
     .sha256 = "52822957957a3f577d1e9706c36a66a8108a3f99b6aff424cfb72dff0094a9ee",
     .nrecords = 30, .year = 2026, .id_prefix = "aime2026", .has_range = 1, .range_lo = 0,
     .range_hi = 999, .prompt_format = "aime_boxed", .grader = "math",
     .shared_file = "math/aime_2026.jsonl",
     .note = "wording notes: I-10, I-13 typos; II-10 asks for the SUM (850) where the official "
             "paper asks for the greatest value (340); see ../shared/datasets/README.md"},
    {.name = "hmmt_feb_2025", .benchmark = "hmmt_feb_2025", .task = "math",
     .description = "HMMT February 2025, 30 individual-round problems",
     .host = FETCH_GITHUB, .repo = MATHARENA_REPO, .revision = MATHARENA_REV,
     .format = DS_FMT_MATHARENA_TEX,
     .parts = {{"data/hmmt/hmmt_feb_2025", 30, "HMMT February", NULL}},
     .records_sha256 = "ef6b173e3b0ad2b74cac079991af93a7f15662a751c34067f4d6c7cf0ddbe5cd",
     .nparts = 1,
     .nrecords = 30, .year = 2025, .id_prefix = "hmmt-feb-2025", .hmmt_rounds = 1,
     .answer_lists = 1, .prompt_format = "math_boxed", .grader = "math",
     .shared_file = "math/hmmt_feb_2025.jsonl",
     .note = "answers.csv/.tex layout assumed, not verified upstream"},
    {.name = "hmmt_feb_2026", .benchmark = "hmmt_feb_2026", .task = "math",
     .description = "HMMT February 2026, the 30 individual-round problems",
     .host = FETCH_GITHUB, .repo = FT_REPO, .revision = FT_REV,
     .format = DS_FMT_MATHARENA_JSONL,
     .parts = {{"data/benchmark/hmmt_feb_2026.jsonl", 0, "HMMT February", NULL}},
     .records_sha256 = "f04b5760ac6ac32912975aa1d0d2b3f068013147a9bcf96f687adb75a39185d7",
     .nparts = 1,
     .nrecords = 30, .year = 2026, .id_prefix = "hmmt-feb-2026", .max_problem_number = 30,
     .hmmt_rounds = 1, .prompt_format = "math_boxed", .grader = "math",
     .shared_file = "math/hmmt_feb_2026.jsonl",
     .note = "export of MathArena/hmmt_feb_2026; problems 31-33 are in hmmt_feb_2026_all"},
    {.name = "hmmt_feb_2026_all", .benchmark = "hmmt_feb_2026", .task = "math",
     .description = "HMMT February 2026, all 33 MathArena problems (MathArena's score)",
     .host = FETCH_GITHUB, .repo = FT_REPO, .revision = FT_REV,
     .format = DS_FMT_MATHARENA_JSONL,
     .parts = {{"data/benchmark/hmmt_feb_2026.jsonl", 0, "HMMT February", NULL}},
     .records_sha256 = "27173d7626aa83bd7c35364120c84e0ae32d91383a65c3472858819b0869b91c",
     .nparts = 1,
     .nrecords = 33, .year = 2026, .id_prefix = "hmmt-feb-2026", .hmmt_rounds = 1,
     .prompt_format = "math_boxed", .grader = "math",
     .shared_file = "math/hmmt_feb_2026.jsonl",
     .note = "31-33 are proof-style problems graded on the final answer"},
    {.name = "hmmt_nov_2025", .benchmark = "hmmt_nov_2025", .task = "math",
     .description = "HMMT November 2025 (MathArena)",
     .host = FETCH_GITHUB, .repo = FT_REPO, .revision = FT_REV,
     .format = DS_FMT_MATHARENA_JSONL,
     .parts = {{"data/benchmark/hmmt_nov_2025.jsonl", 0, "HMMT November", NULL}},
     .records_sha256 = "fb5b9ee1075d632b653feb283a37ac93344164d329065d5dc8fc389cf9bb299d",
     .nparts = 1,
     .nrecords = 30, .year = 2025, .id_prefix = "hmmt-nov-2025",
     .prompt_format = "math_boxed", .grader = "math",
     .shared_file = "math/hmmt_nov_2025.jsonl",
     .note = "rounds not given by the source"},
    {.name = "imo_answerbench", .benchmark = "imo_answerbench", .task = "math",
     .description = "IMO-AnswerBench v2 (Google DeepMind IMO-Bench), 400 problems",
     .host = FETCH_GITHUB, .repo = "google-deepmind/superhuman",
     .revision = "a02069ef66dbae4c5b0713ba0dc144a35375558f", .format = DS_FMT_IMOBENCH_CSV,
     .parts = {{"imobench/answerbench_v2.csv", 0, "IMO-AnswerBench", NULL}},
     .records_sha256 = "e6a2b292285d8aaa4dc5035c6367e2482b80e138a410f132403d7be43b2d0861",
     .nparts = 1,
     .nrecords = 400, .id_prefix = "imo-bench", .integer_only = 1,
     .prompt_format = "math_boxed", .grader = "math",
     .shared_file = "math/imo_answerbench.jsonl",
     .note = "only the 227 integer answers are graded; the 173 others (expressions, sets, "
             "functions) need a judge and are stored ungraded; file sha256 unknown, records "
             "pinned; the v1 wordings (alt_problems) are not fetched"},
    {.name = "humaneval", .benchmark = "humaneval", .task = "code",
     .description = "HumanEval (164 problems)",
     .host = FETCH_GITHUB, .repo = "openai/human-eval",
     .revision = "6d43fb980f9fee3c892a914eda09951f772ad10d", .format = DS_FMT_HUMANEVAL_GZ,
     .parts = {{"data/HumanEval.jsonl.gz", 0, NULL, NULL}},
     .records_sha256 = "7ba9fd7f2a6ec89b102f652e0d16ce9620d2054cebbc88b0051761ed15dba461",
     .nparts = 1,
     .sha256 = "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
     .nrecords = 164, .id_prefix = "humaneval", .prompt_format = "humaneval_complete",
     .grader = "code", .shared_file = "code/humaneval.jsonl"},
    {.name = "mbpp_sanitized", .benchmark = "mbpp_sanitized", .task = "code",
     .description = "MBPP sanitized, all 427 tasks (evaluate on metadata.split == test)",
     .host = FETCH_GITHUB, .repo = "google-research/google-research",
     .revision = "30adf0ec5f35f9609c2f1d896005e184195d9146", .format = DS_FMT_MBPP_JSON,
     .parts = {{"mbpp/sanitized-mbpp.json", 0, NULL, NULL}},
     .records_sha256 = "bd234253a86c5ca395815f01097f79f042a2acc12c218bc7c4ecbcef4f2110a5",
     .nparts = 1,
     .nrecords = 427, .id_prefix = "mbpp", .prompt_format = "mbpp_asserts", .grader = "code",
     .shared_file = "code/mbpp_sanitized.jsonl",
     .note = "file sha256 unknown (only a pretty-printed copy was hashed); records pinned"},
    {.name = "livecodebench_2408_2502", .benchmark = "livecodebench_2408_2502", .task = "code",
     .description = "LiveCodeBench release_v5, 2024-08..2025-01 window, public tests only",
     .host = FETCH_GITHUB, .repo = "winnieyangwannan/rllm",
     .revision = "5255304e87b07e6e81e7c61d9dac3e4f160ec6a9", .format = DS_FMT_RLLM_LCB_JSON,
     .parts = {{"rllm/data/test/code/livecodebench.json", 0, NULL, NULL}},
     .records_sha256 = "ce110c7c28686ad9f6272ea9e1607b353a18ba78f75ff6a8c67547bdd8cecf25",
     .nparts = 1,
     .sha256 = "b94212d8c882d7ff99ebde702d0a3319e5c94440faed6ae8984cd850f29a6cd6",
     .nrecords = 279, .id_prefix = "lcb-v5w", .prompt_format = "lcb", .grader = "code",
     .lcb_release = "release_v5",
     .lcb_window = "2024-08-01T00:00:00 <= contest_date < 2025-02-01T00:00:00",
     .shared_file = "code/livecodebench_2408_2502_public.jsonl",
     .note = "public (sample) tests only: scores are optimistic vs official LiveCodeBench"},
    {.name = "livecodebench_v6", .benchmark = "livecodebench_v6", .task = "code",
     .description = "LiveCodeBench release_v6 increment (test6.jsonl, 175 problems), public "
                    "tests only",
     .host = FETCH_DATASET, .repo = "livecodebench/code_generation_lite", .revision = "main",
     .format = DS_FMT_LCB_JSONL,
     .parts = {{"test6.jsonl", 0, NULL, NULL}},
     .nparts = 1,
     .sha256 = "9f81d35f7f9404e94d8cce14c77658385bb8861652f1de282b651ff53f05b2f3",
     .nrecords = 175, .id_prefix = "lcb-v6", .prompt_format = "lcb", .grader = "code",
     .lcb_release = "release_v6", .lcb_window = "test6.jsonl (release_v6 increment)",
     .note = "no offline copy exists; revision 'main' with the content pinned by the Git LFS "
             "sha256 of test6.jsonl (134,303,273 bytes); hidden tests are not decoded"},
};

const ds_entry *ds_registry(size_t *n)
{
    *n = sizeof REG / sizeof REG[0];
    return REG;
}

const ds_entry *ds_find(const char *name)
{
    for (size_t i = 0; i < sizeof REG / sizeof REG[0]; i++)
        if (!strcmp(REG[i].name, name))
            return &REG[i];
    return NULL;
}

void ds_paths_free(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

int ds_source_paths(const ds_entry *e, char ***paths, size_t *n)
{
    size_t cap = 0;
    for (int p = 0; p < e->nparts; p++)
        cap += e->format == DS_FMT_MATHARENA_TEX ? 1 + (size_t)e->parts[p].nproblems : 1;
    char **v = calloc(cap ? cap : 1, sizeof *v);
    if (!v)
        return -1;
    size_t k = 0;
    for (int p = 0; p < e->nparts; p++) {
        const ds_part *pt = &e->parts[p];
        if (e->format != DS_FMT_MATHARENA_TEX) {
            if (!(v[k++] = ut_strdup(pt->path)))
                goto oom;
            continue;
        }
        size_t len = strlen(pt->path) + 32;
        if (!(v[k] = malloc(len)))
            goto oom;
        snprintf(v[k++], len, "%s/answers.csv", pt->path);
        for (int i = 1; i <= pt->nproblems; i++) {
            if (!(v[k] = malloc(len)))
                goto oom;
            snprintf(v[k++], len, "%s/problems/%d.tex", pt->path, i);
        }
    }
    *paths = v;
    *n = k;
    return 0;
oom:
    ds_paths_free(v, k);
    return -1;
}

static int skip(const char *s)
{
    return s && !strcmp(s, "any");
}

int ds_fetch(const fetch_opts *o, const ds_entry *e, const char *file_sha256,
             const char *records_sha256, ds_set *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char **paths;
    size_t n;
    if (ds_source_paths(e, &paths, &n))
        return ut_err(err, errlen, "out of memory");
    char **local = calloc(n, sizeof *local);
    int rc = -1;
    if (!local) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    const char *want = skip(file_sha256) ? NULL : file_sha256 ? file_sha256 : e->sha256;
    if (want && n != 1) {
        ut_err(err, errlen, "%s: a file checksum applies to single-file sources only", e->name);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        int r = fetch_file(o, e->host, e->repo, e->revision, paths[i], want, &local[i], err,
                           errlen);
        if (r) {
            ut_err_prefix(err, errlen, "dataset %s", e->name);
            goto done;
        }
    }
    if (ds_load_source(e, local, n, out, err, errlen))
        goto done;
    const char *rwant = skip(records_sha256) ? NULL
                        : records_sha256     ? records_sha256
                                             : e->records_sha256;
    if (rwant) {
        char got[65];
        ds_records_sha256(out, got);
        if (strcasecmp(got, rwant) != 0) {
            ut_err(err, errlen,
                   "dataset %s: the records differ from the pinned content (records sha256 %s, "
                   "expected %s): upstream changed or the mapping is wrong; compare with "
                   "../shared/datasets/%s, or pass --records-sha256 any to accept",
                   e->name, got, rwant, e->shared_file ? e->shared_file : "(none)");
            ds_set_free(out);
            /* the files are whole, but not what zeval pinned: do not keep them */
            for (size_t i = 0; i < n; i++)
                unlink(local[i]);
            goto done;
        }
    }
    if (!skip(records_sha256) && e->nrecords && out->n != (size_t)e->nrecords) {
        ut_err(err, errlen, "dataset %s: %zu records, expected %d", e->name, out->n,
               e->nrecords);
        ds_set_free(out);
        goto done;
    }
    rc = 0;
done:
    if (local)
        ds_paths_free(local, n);
    ds_paths_free(paths, n);
    return rc;
}

int ds_is_cached(const fetch_opts *o, const ds_entry *e)
{
    char **paths;
    size_t n;
    if (ds_source_paths(e, &paths, &n))
        return 0;
    int all = 1;
    for (size_t i = 0; i < n && all; i++) {
        char *p = fetch_cache_path(o, e->host, e->repo, e->revision, paths[i]);
        struct stat st;
        all = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
        free(p);
    }
    ds_paths_free(paths, n);
    return all;
}

/* ------------------------------------------------------------ prompts */

typedef struct {
    char *b;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *s, const char *t)
{
    size_t l = strlen(t);
    if (s->oom)
        return;
    if (s->n + l + 1 > s->cap) {
        size_t nc = (s->n + l + 1) * 2;
        char *nb = realloc(s->b, nc);
        if (!nb) {
            s->oom = 1;
            return;
        }
        s->b = nb;
        s->cap = nc;
    }
    memcpy(s->b + s->n, t, l + 1);
    s->n += l;
}

char *ds_prompt(const ds_entry *e, const cJSON *rec)
{
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(rec, e->grader[0] == 'm' ? "problem"
                                                                              : "prompt");
    if (!cJSON_IsString(pv))
        return NULL;
    const char *p = pv->valuestring, *f = e->prompt_format;
    sbuf s = {0};
    if (!strcmp(f, "aime_boxed") || !strcmp(f, "math_boxed")) {
        sb_add(&s, p);
        sb_add(&s, "\n\nPlease reason step by step, and put your final answer within "
                   "\\boxed{}.");
        if (!strcmp(f, "aime_boxed"))
            sb_add(&s, " The answer is an integer between 0 and 999 inclusive.");
    } else if (!strcmp(f, "humaneval_complete")) {
        sb_add(&s, "Complete the following Python function. Return the complete function in "
                   "a single ```python code block.\n\n```python\n");
        sb_add(&s, p);
        sb_add(&s, "```\n");
    } else if (!strcmp(f, "mbpp_asserts")) {
        sb_add(&s, p);
        sb_add(&s, "\nYour code should pass these tests:\n\n");
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(rec, "tests"))
        {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(t, "code");
            if (cJSON_IsString(c)) {
                sb_add(&s, c->valuestring);
                sb_add(&s, "\n");
            }
        }
        sb_add(&s, "\nReturn the code in a single ```python code block.");
    } else { /* lcb */
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(rec, "starter_code");
        sb_add(&s, p);
        if (cJSON_IsString(st) && st->valuestring[0]) {
            sb_add(&s, "\n\nComplete the following starter code and return it in a single "
                       "```python code block.\n\n```python\n");
            sb_add(&s, st->valuestring);
            sb_add(&s, "\n```");
        } else {
            sb_add(&s, "\n\nRead the input from standard input and write the answer to "
                       "standard output. Return the program in a single ```python code "
                       "block.");
        }
    }
    if (s.oom) {
        free(s.b);
        return NULL;
    }
    return s.b;
}
