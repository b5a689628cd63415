/*
 * test_backend.c — choosing the built-in engine (eng_backend_pick) and
 * --backend on the CLI, in the CPU-only build the tests link: auto and
 * cpu take the CPU without a word, gpu is refused naming why, anything
 * else is a usage error; generate --backend cpu gives the default's
 * tokens.  (The GPU builds' side — the GPU taken when a device answers,
 * the CPU with a message otherwise — is checked by tests/gpu/run.sh.)
 */
#include "check.h"
#include "../engine/backend.h"
#include "../engine/gpu/gpu.h"

#include <stdlib.h>
#include <string.h>

static int run_generate(const char *backend, const char *out, char *err, size_t errlen)
{
    const char *model = ck_shared("golden/zaya-tiny");
    char m[4096];
    snprintf(m, sizeof m, "%s", model);
    char *argv[] = {(char *)ck_zeval(), "generate", "--model", m, "--ids", "2,100,200",
                    "--max-tokens", "6", backend ? "--backend" : NULL, (char *)backend, NULL};
    return ck_run(argv, out, err, errlen);
}

int main(void)
{
    char note[600], err[600];

    ck_begin("a CPU-only build names itself");
    CK(strcmp(gpu_build(), "none") == 0, "gpu_build() = %s", gpu_build());
    CK(!gpu_probe(note, sizeof note) && strstr(note, "without GPU support"), "probe: %s", note);
    ck_end();

    ck_begin("auto and cpu pick the CPU without a message");
    int a = eng_backend_pick(NULL, note, sizeof note, err, sizeof err);
    CK(a == ENG_BE_CPU && note[0] == 0, "NULL: %d '%s'", a, note);
    a = eng_backend_pick("auto", note, sizeof note, err, sizeof err);
    CK(a == ENG_BE_CPU && note[0] == 0, "auto: %d '%s'", a, note);
    a = eng_backend_pick("cpu", note, sizeof note, err, sizeof err);
    CK(a == ENG_BE_CPU && note[0] == 0, "cpu: %d '%s'", a, note);
    ck_end();

    ck_begin("gpu is refused with the reason, an unknown name with the choices");
    err[0] = 0;
    a = eng_backend_pick("gpu", note, sizeof note, err, sizeof err);
    CK(a < 0 && strstr(err, "--backend gpu") && strstr(err, "without GPU support"), "gpu: %d '%s'",
       a, err);
    err[0] = 0;
    a = eng_backend_pick("tpu", note, sizeof note, err, sizeof err);
    CK(a < 0 && strstr(err, "tpu") && strstr(err, "cpu, gpu or auto"), "tpu: %d '%s'", a, err);
    ck_end();

    ck_begin("eng_backend_gpu fails cleanly without GPU support");
    err[0] = 0;
    CK(eng_backend_gpu(NULL, err, sizeof err) == NULL && strstr(err, "without GPU support"),
       "'%s'", err);
    ck_end();

    ck_begin("generate --backend cpu = the default; --backend gpu exits 1 naming why");
    const char *dir = ck_tmpdir();
    char o1[4200], o2[4200], o3[4200];
    snprintf(o1, sizeof o1, "%s/default.out", dir);
    snprintf(o2, sizeof o2, "%s/cpu.out", dir);
    snprintf(o3, sizeof o3, "%s/gpu.out", dir);
    int r1 = run_generate(NULL, o1, err, sizeof err);
    int r2 = run_generate("cpu", o2, err, sizeof err);
    char *t1 = ck_slurp(o1, NULL), *t2 = ck_slurp(o2, NULL);
    CK(r1 == 0 && r2 == 0 && t1 && t2 && t1[0] && strcmp(t1, t2) == 0, "status %d/%d, '%s' vs '%s'",
       r1, r2, t1 ? t1 : "", t2 ? t2 : "");
    free(t1);
    free(t2);
    int r3 = run_generate("gpu", o3, err, sizeof err);
    CK(r3 == 1 && strstr(err, "without GPU support"), "status %d, stderr '%s'", r3, err);
    ck_rmtree(dir);
    ck_end();
    return ck_status();
}
