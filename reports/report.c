/*
 * report.c — `zeval report`: one self-contained HTML file (see report.h).
 *
 * The page has no scripts and no external resources: inline CSS, inline
 * SVG drawn here, and native <details> elements for every expander.  A
 * Content-Security-Policy meta tag (default-src 'none') is a second wall:
 * even a bug in escaping could neither run a script nor fetch anything.
 * All text from the database (model output, answers, run and problem
 * names) goes through rep_esc, in element text and in quoted attributes
 * alike; nothing from the database is ever placed inside <script>, <style>
 * or an unquoted attribute.
 *
 * Memory: the runs' sample metadata (no texts) is loaded for the metrics
 * and plots; the drill-down then walks problems in order and, for each
 * (problem, run), reads that problem's rows through the unique index,
 * fetching at most text_cap bytes of each text (substr in SQL).  The file
 * is written through a buffered stream and renamed into place at the end.
 *
 * Size: every sample's text is cut to a per-sample cap, min(text_bytes,
 * text_budget / samples) but at least 48 bytes, and the per-sample markup
 * is kept short, so a database of 100,000 samples gives a file under 20 MB;
 * a cut text ends with "shown/total B".
 */
#define _POSIX_C_SOURCE 200809L
#include "report.h"
#include "rep_int.h"
#include "../engine/util.h"
#include "../harness/version.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
#define NPAL (sizeof palette / sizeof palette[0])
#define COLOR(i) palette[(size_t)(i) % NPAL]

void rep_esc(FILE *f, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = NULL;
        switch (c) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        case '\n': case '\t': break;
        default:
            if (c < 0x20 || c == 0x7f)
                e = "&#xFFFD;";
        }
        if (!e)
            continue;
        if (i > run)
            fwrite(s + run, 1, i - run, f);
        fputs(e, f);
        run = i + 1;
    }
    if (n > run)
        fwrite(s + run, 1, n - run, f);
}

static void esc(FILE *f, const char *s)
{
    if (s)
        rep_esc(f, s, strlen(s));
}

/* ------------------------------------------------------------ plots */

typedef struct {
    double x0, x1, y0, y1;
    double W, H, L, R, T, B;
} frame;

static double fx(const frame *p, double x)
{
    return p->L + (x - p->x0) / (p->x1 - p->x0) * (p->W - p->L - p->R);
}

static double fy(const frame *p, double y)
{
    return p->H - p->B - (y - p->y0) / (p->y1 - p->y0) * (p->H - p->T - p->B);
}

/* A round step of about range/5: 1, 2 or 5 times a power of ten. */
static double nice_step(double range)
{
    if (!(range > 0))
        return 1;
    double raw = range / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void fig_open(FILE *f, const char *kind, const char *title, const char *note)
{
    fprintf(f, "<figure class=\"fig\"><figcaption>%s", title);
    if (note) {
        fputs(" <small>", f);
        esc(f, note);
        fputs("</small>", f);
    }
    fputs("</figcaption>\n", f);
    (void)kind;
}

static void svg_open(FILE *f, const char *kind, const frame *p)
{
    fprintf(f, "<svg class=\"plot\" data-plot=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" "
               "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\">\n",
            kind, p->W, p->H, p->W, p->H);
}

/* Axes with ticks and labels; integer ticks when xint. */
static void axes(FILE *f, const frame *p, const char *xl, const char *yl, int xint)
{
    double xb = p->H - p->B, yl0 = p->L;
    fprintf(f, "<g class=\"ax\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
            yl0, xb, p->W - p->R, xb, yl0, xb, yl0, (double)p->T);
    double sx = xint ? fmax(1, round(nice_step(p->x1 - p->x0))) : nice_step(p->x1 - p->x0);
    for (double x = ceil(p->x0 / sx) * sx; x <= p->x1 + 1e-9; x += sx)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" "
                   "y=\"%.1f\" text-anchor=\"middle\">%g</text>",
                fx(p, x), xb, fx(p, x), xb + 4, fx(p, x), xb + 15, x);
    double sy = nice_step(p->y1 - p->y0);
    for (double y = ceil(p->y0 / sy) * sy; y <= p->y1 + 1e-9; y += sy)
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>",
                yl0, fy(p, y), p->W - p->R, fy(p, y), yl0 - 5, fy(p, y) + 4, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
            (p->L + p->W - p->R) / 2, p->H - 4, xl);
    fprintf(f, "<text transform=\"translate(12,%.1f) rotate(-90)\" text-anchor=\"middle\">%s"
               "</text></g>\n", (p->T + p->H - p->B) / 2, yl);
}

static void legend(FILE *f, rep_run *r, int nr)
{
    fputs("<ul class=\"legend\">", f);
    for (int i = 0; i < nr; i++) {
        fprintf(f, "<li><span class=\"sw\" style=\"background:%s\"></span>", COLOR(i));
        esc(f, r[i].name);
        fputs("</li>", f);
    }
    fputs("</ul></figure>\n", f);
}

static void plot_rounds(FILE *f, rep_run *r, int nr)
{
    int maxr = 1;
    for (int i = 0; i < nr; i++)
        if (r[i].nrounds - 1 > maxr)
            maxr = r[i].nrounds - 1;
    frame p = {0, maxr, 0, 100, 520, 300, 50, 20, 15, 40};
    int any_pub = 0;
    for (int i = 0; i < nr; i++)
        any_pub |= r[i].pub != NULL;
    fig_open(f, "rounds", "Accuracy by RSA round",
             any_pub ? "avg@n per round with 95% bootstrap CI; a diamond at the last round: "
                       "ZAYA1-8B's published score for that run's benchmark and setting"
                     : "avg@n per round with 95% bootstrap CI");
    svg_open(f, "rounds", &p);
    axes(f, &p, "round", "avg@n (%)", 1);
    for (int i = 0; i < nr; i++) {
        fprintf(f, "<g stroke=\"%s\" fill=\"%s\"><polyline fill=\"none\" points=\"", COLOR(i),
                COLOR(i));
        for (int k = 0; k < r[i].nrounds; k++)
            fprintf(f, "%.1f,%.1f ", fx(&p, k), fy(&p, 100 * r[i].mr[k].avg));
        fputs("\"/>", f);
        for (int k = 0; k < r[i].nrounds; k++) {
            const met_round *m = &r[i].mr[k];
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", fx(&p, k),
                    fy(&p, 100 * m->avg_lo), fx(&p, k), fy(&p, 100 * m->avg_hi));
            fprintf(f, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"><title>", fx(&p, k),
                    fy(&p, 100 * m->avg));
            esc(f, r[i].name);
            fprintf(f, ": round %d, avg@%d %.2f%% [%.2f, %.2f]</title></circle>", k, m->n_min,
                    100 * m->avg, 100 * m->avg_lo, 100 * m->avg_hi);
        }
        const pub_ref *pr = r[i].pub;
        if (pr) { /* the published score, a hollow diamond at the final round */
            double x = fx(&p, r[i].nrounds - 1), y = fy(&p, pr->score);
            fprintf(f, "<path class=\"pub\" fill=\"none\" d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f "
                       "%.1fZ\"><title>", x, y - 6, x + 6, y, x, y + 6, x - 6, y);
            esc(f, r[i].name);
            fprintf(f, ": ZAYA1-8B published %s, %s: %.1f%% (%s)</title></path>", pr->benchmark,
                    pr->setting, pr->score, pr->source);
        }
        fputs("</g>\n", f);
    }
    fputs("</svg>", f);
    legend(f, r, nr);
}

static void plot_compute(FILE *f, rep_run *r, int nr)
{
    double xmax = 1;
    for (int i = 0; i < nr; i++)
        for (int k = 0; k < r[i].nrounds; k++)
            xmax = fmax(xmax, r[i].mr[k].tokens_cum);
    double st = nice_step(xmax * 1.05);
    frame p = {0, ceil(xmax * 1.05 / st) * st, 0, 100, 520, 300, 50, 20, 15, 40};
    fig_open(f, "compute", "Accuracy vs generated tokens (compute curves)",
             "each point: a round; x = mean D(q), generated tokens per problem through that round");
    svg_open(f, "compute", &p);
    axes(f, &p, "generated tokens per problem, D(q)", "avg@n (%)", 0);
    for (int i = 0; i < nr; i++) {
        fprintf(f, "<g stroke=\"%s\" fill=\"%s\"><polyline fill=\"none\" points=\"", COLOR(i),
                COLOR(i));
        for (int k = 0; k < r[i].nrounds; k++)
            fprintf(f, "%.1f,%.1f ", fx(&p, r[i].mr[k].tokens_cum),
                    fy(&p, 100 * r[i].mr[k].avg));
        fputs("\"/>", f);
        for (int k = 0; k < r[i].nrounds; k++) {
            fprintf(f, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"><title>",
                    fx(&p, r[i].mr[k].tokens_cum), fy(&p, 100 * r[i].mr[k].avg));
            esc(f, r[i].name);
            fprintf(f, ": round %d, %.0f tokens/problem, avg %.2f%%</title></circle>", k,
                    r[i].mr[k].tokens_cum, 100 * r[i].mr[k].avg);
        }
        fputs("</g>\n", f);
    }
    fputs("</svg>", f);
    legend(f, r, nr);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Final-round mean of problem pid in run r (-1 absent or ungraded, -2 absent). */
static double run_fmean(const rep_run *r, const char *pid)
{
    const char **hit = bsearch(&pid, r->pid, r->np, sizeof *r->pid, cmp_str);
    return hit ? r->fmean[hit - r->pid] : -2;
}

static void heat_color(double m, char *b, size_t n)
{
    if (m < 0) {
        snprintf(b, n, "%s", m < -1.5 ? "#f4f4f4" : "#bbbbbb");
        return;
    }
    int rr = (int)(215 - 170 * m), gg = (int)(60 + 120 * m), bb = (int)(50 + 30 * m);
    snprintf(b, n, "rgb(%d,%d,%d)", rr, gg, bb);
}

/* A run's name as a plot's row label (inside <text>): whole up to 22
 * bytes, else an ellipsis and its last 21 bytes from a character boundary
 * (a sweep's runs share their start: NAME/SETTING/DATASET), the whole
 * name on hover. */
static void run_label(FILE *f, const char *name)
{
    size_t nl = strlen(name);
    if (nl <= 22) {
        esc(f, name);
        return;
    }
    const char *t = name + nl - 21;
    while (((unsigned char)*t & 0xC0) == 0x80)
        t++;
    fputs("<title>", f);
    esc(f, name);
    fputs("</title>\xe2\x80\xa6", f);
    esc(f, t);
}

static void plot_heat(FILE *f, rep_run *r, int nr, const char **pids, size_t np)
{
    double cw = np ? fmin(24, fmax(3, 900.0 / (double)np)) : 24, ch = 18, L = 150;
    double W = L + cw * (double)(np ? np : 1) + 10, H = 20 + ch * nr + 10;
    fig_open(f, "heat", "Problems × runs",
             "final-round mean correctness per problem (red 0 → green 1; grey: ungraded; "
             "pale: not in the run)");
    frame p = {0, 1, 0, 1, W, H, L, 10, 20, 10};
    svg_open(f, "heat", &p);
    char col[32];
    for (int i = 0; i < nr; i++) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", L - 6,
                20 + ch * i + ch * 0.7);
        run_label(f, r[i].name);
        fputs("</text>\n", f);
        for (size_t k = 0; k < np; k++) {
            double m = run_fmean(&r[i], pids[k]);
            heat_color(m, col, sizeof col);
            fprintf(f, "<rect class=\"pt\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                       "fill=\"%s\"><title>", L + cw * (double)k, 20 + ch * i, cw, ch - 1, col);
            esc(f, pids[k]);
            fputs(" · ", f);
            esc(f, r[i].name);
            if (m >= 0)
                fprintf(f, ": %.2f</title></rect>", m);
            else
                fputs(m < -1.5 ? ": not in run</title></rect>" : ": ungraded</title></rect>", f);
        }
    }
    fputs("</svg></figure>\n", f);
}

#define NBINS 40

static void plot_hist(FILE *f, rep_run *r, int nr)
{
    double xmax = 1;
    for (int i = 0; i < nr; i++)
        xmax = fmax(xmax, fmax((double)r[i].max_gen, (double)fmax(r[i].beta, r[i].final_budget)));
    double bw = ceil(xmax * 1.02 / NBINS);
    if (bw < 1)
        bw = 1;
    long cnt[8][NBINS];
    int nc = nr < 8 ? nr : 8; /* more runs: the first eight are drawn */
    long cmax = 1;
    for (int i = 0; i < nc; i++) {
        memset(cnt[i], 0, sizeof cnt[i]);
        for (size_t k = 0; k < r[i].n; k++) {
            int b = (int)(r[i].ms[k].gen_tokens / bw);
            cnt[i][b < NBINS ? b : NBINS - 1]++;
        }
        for (int b = 0; b < NBINS; b++)
            if (cnt[i][b] > cmax)
                cmax = cnt[i][b];
    }
    frame p = {0, bw * NBINS, 0, (double)cmax * 1.1, 620, 300, 60, 20, 15, 40};
    fig_open(f, "hist", "Generated length",
             "samples per length bin, all rounds; dashed: token budgets (beta, B_final)");
    svg_open(f, "hist", &p);
    axes(f, &p, "generated tokens per sample", "samples", 0);
    double barw = (fx(&p, bw) - fx(&p, 0)) / nc;
    for (int i = 0; i < nc; i++) {
        fprintf(f, "<g fill=\"%s\">", COLOR(i));
        for (int b = 0; b < NBINS; b++) {
            if (!cnt[i][b])
                continue;
            double x = fx(&p, b * bw) + barw * i, y = fy(&p, (double)cnt[i][b]);
            fprintf(f, "<rect class=\"pt\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\">"
                       "<title>", x, y, barw, fy(&p, 0) - y);
            esc(f, r[i].name);
            fprintf(f, ": %ld samples with %.0f-%.0f tokens</title></rect>", cnt[i][b], b * bw,
                    (b + 1) * bw - 1);
        }
        fputs("</g>\n", f);
    }
    /* labels of budgets close together go on lines below each other */
    double *lx = malloc((size_t)(2 * nr + 1) * sizeof *lx);
    int *lrow = malloc((size_t)(2 * nr + 1) * sizeof *lrow), nl = 0;
    for (int i = 0; i < nr; i++) {
        long bud[2] = {r[i].beta, r[i].final_budget};
        for (int k = 0; k < 2; k++) {
            int dup = bud[k] <= 0 || (k == 1 && bud[1] == bud[0]);
            for (int j = 0; j < i && !dup; j++)
                dup = r[j].beta == bud[k] || r[j].final_budget == bud[k];
            if (dup)
                continue;
            double x = fx(&p, (double)bud[k]);
            int row = 0;
            for (int taken = 1; lx && lrow && taken && row < 8;) {
                taken = 0;
                for (int q = 0; q < nl && !taken; q++)
                    taken = lrow[q] == row && fabs(lx[q] - x) < 72;
                row += taken;
            }
            if (lx && lrow) {
                lx[nl] = x;
                lrow[nl++] = row;
            }
            fprintf(f, "<line class=\"budget\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                       "<text class=\"budget\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">"
                       "budget %ld</text>\n", x, fy(&p, 0), x, (double)p.T, x - 3,
                    p.T + 10.0 + 11.0 * row, bud[k]);
        }
    }
    free(lx);
    free(lrow);
    fputs("</svg>", f);
    legend(f, r, nc);
}

static void plot_finish(FILE *f, rep_run *r, int nr)
{
    static const char *names[REP_FIN_N] = {"stop", "length", "error", "other"};
    static const char *cols[REP_FIN_N] = {"#2ca02c", "#ff7f0e", "#d62728", "#7f7f7f"};
    double L = 150, bwid = 420, ch = 20;
    frame p = {0, 100, 0, 1, L + bwid + 20, 20 + ch * nr + 30, L, 20, 10, 30};
    fig_open(f, "finish", "Finish reasons", "share of samples per run");
    svg_open(f, "finish", &p);
    for (int i = 0; i < nr; i++) {
        double tot = 0, x = L;
        for (int k = 0; k < REP_FIN_N; k++)
            tot += (double)r[i].fin[k];
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", L - 6, 10 + ch * i + 14);
        run_label(f, r[i].name);
        fputs("</text>", f);
        for (int k = 0; k < REP_FIN_N && tot > 0; k++) {
            if (!r[i].fin[k])
                continue;
            double w = bwid * (double)r[i].fin[k] / tot;
            fprintf(f, "<rect class=\"pt\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                       "fill=\"%s\"><title>%s: %ld (%.1f%%)</title></rect>", x, 10 + ch * i,
                    w, ch - 3, cols[k], names[k], r[i].fin[k],
                    100.0 * (double)r[i].fin[k] / tot);
            x += w;
        }
        fputs("\n", f);
    }
    for (int k = 0; k < REP_FIN_N; k++)
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\">%s</text>", L + 90.0 * k, p.H - 18, cols[k],
                L + 90.0 * k + 14, p.H - 9, names[k]);
    fputs("</svg></figure>\n", f);
}

/* ------------------------------------------------------------ page */

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}"
    ".figs{display:flex;flex-wrap:wrap;gap:18px}.fig{margin:0}figcaption{font-weight:600}"
    "figcaption small{font-weight:400;color:#666}svg.plot{font-size:10px;background:#fff;"
    "border:1px solid #eee}.ax line{stroke:#444}.ax line.grid{stroke:#eee}"
    "line.budget{stroke:#d62728;stroke-dasharray:5 3;stroke-width:1.5}text.budget{fill:#d62728}"
    ".legend{list-style:none;padding:0;margin:2px 0;display:flex;gap:12px;flex-wrap:wrap}"
    ".sw{display:inline-block;width:10px;height:10px;margin-right:4px}"
    "details.p{border-bottom:1px solid #eee;padding:2px 0}details.p>summary{cursor:pointer}"
    ".b{display:inline-block;padding:0 5px;margin-left:4px;border-radius:3px;font-size:12px}"
    ".r{margin:4px 0 8px 18px}.r h4{margin:6px 0 2px}.r details{margin-left:10px}"
    ".r summary{cursor:pointer;font-family:monospace;font-size:12px}.r i{color:#888}"
    ".y>summary{color:#2a7a2a}.n>summary{color:#b22}.u>summary{color:#888}"
    "pre{white-space:pre-wrap;word-break:break-word;background:#f8f8f8;border:1px solid #eee;"
    "padding:6px;margin:2px 0 6px 14px;max-height:40em;overflow:auto}"
    "code{font-size:12px}";

static void fmt_wall(double s, char *b, size_t n)
{
    if (s >= 3600)
        snprintf(b, n, "%.1f h", s / 3600);
    else if (s >= 60)
        snprintf(b, n, "%.1f min", s / 60);
    else
        snprintf(b, n, "%.1f s", s);
}

/* The summary's cell for ZAYA1-8B's published score (published.h): the
 * score, where it lies against the run's interval, and in its title the
 * source, checkpoint and sampling. */
static void published_cell(FILE *f, const rep_run *r, const met_round *m)
{
    const pub_ref *p = r->pub;
    if (!p) {
        fputs("<td class=\"n\">-</td>", f);
        return;
    }
    pub_verdict v = pub_compare(p, m->avg_lo, m->avg_hi, m->problems);
    static const char *const word[] = {"within the CI", "above the CI", "below the CI",
                                       "subset: not comparable"};
    char smp[64], t[512];
    if (p->temperature >= 0)
        snprintf(smp, sizeof smp, "temperature %g, top-p %g", p->temperature, p->top_p);
    else
        snprintf(smp, sizeof smp, "sampling not stated");
    snprintf(t, sizeof t, "%s, %s: %s; %s checkpoint; %s%s%s", p->benchmark, p->setting,
             p->source, p->checkpoint, smp, p->note ? "; " : "", p->note ? p->note : "");
    fputs("<td class=\"n\" title=\"", f);
    esc(f, t);
    fprintf(f, "\">%.1f%% <small class=\"pub-%s\">%s%s</small></td>", p->score,
            pub_verdict_name(v), word[v], r->pub_sampling_differs ? "; sampled otherwise" : "");
}

static void summary_table(FILE *f, rep_run *r, int nr)
{
    fputs("<h2>Summary</h2>\n<table class=\"summary\"><tr><th>run</th><th>model</th>"
          "<th>checkpoint sha256</th><th>dataset</th><th>RSA setting</th><th>problems</th>"
          "<th>n</th><th>avg@n [95% CI]</th><th>ZAYA1-8B published</th><th>maj@n</th>"
          "<th>pass@n</th>"
          "<th>generated tokens / problem</th><th>samples</th><th>wall</th><th>tokens/s</th>"
          "</tr>\n", f);
    for (int i = 0; i < nr; i++) {
        const met_round *m = &r[i].mr[r[i].nrounds - 1];
        fprintf(f, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>", COLOR(i));
        esc(f, r[i].name);
        if (r[i].finished_at < 0)
            fputs(" <i>(incomplete)</i>", f);
        fputs("</td><td>", f);
        esc(f, r[i].model ? r[i].model : "?");
        fputs("</td><td><code title=\"", f);
        esc(f, r[i].weights ? r[i].weights : "");
        fputs("\">", f);
        if (r[i].weights)
            rep_esc(f, r[i].weights, strlen(r[i].weights) > 12 ? 12 : strlen(r[i].weights));
        else
            fputs("?", f);
        fputs("</code></td><td>", f);
        esc(f, r[i].dataset ? r[i].dataset : "?");
        fputs("</td><td title=\"", f);
        esc(f, r[i].spec ? r[i].spec : "");
        fputs("\">", f);
        esc(f, r[i].setting ? r[i].setting : "?");
        char wall[32];
        fmt_wall(r[i].wall, wall, sizeof wall);
        fprintf(f, "</td><td class=\"n\">%d</td><td class=\"n\">%d</td>"
                   "<td class=\"n\">%.2f%% [%.2f, %.2f]</td>",
                m->problems, m->n_min, 100 * m->avg, 100 * m->avg_lo, 100 * m->avg_hi);
        published_cell(f, &r[i], m);
        fprintf(f, "<td class=\"n\">%.2f%%</td><td class=\"n\">%.2f%%</td><td class=\"n\">%.0f</td>"
                   "<td class=\"n\">%zu</td><td class=\"n\">%s</td><td class=\"n\">%.1f</td>"
                   "</tr>\n",
                100 * m->maj, 100 * m->pass_n, m->tokens_cum, r[i].n, wall, r[i].tok_s);
    }
    fputs("</table>\n<p><small>Final round of each run. avg@n: mean over problems of the share of"
          " correct samples (pass@1); maj@n: majority vote over equivalent answers; pass@n:"
          " unbiased estimator with k = n; ZAYA1-8B published: the score ZR (the ZAYA1-8B"
          " Technical Report) gives for this benchmark and setting, and where it lies against"
          " the run's 95% CI (hover for its source and sampling); generated tokens / problem:"
          " D(q), decode tokens"
          " summed over all rounds. CI: percentile bootstrap over problems (seed 1234)."
          "</small></p>\n", f);
}

/* Writes parents "[0,3]" as "0,3" (digits and commas only). */
static void put_parents(FILE *f, const char *s)
{
    for (; s && *s; s++)
        if ((*s >= '0' && *s <= '9') || *s == ',')
            fputc(*s, f);
}

typedef struct {
    sqlite3_stmt *st;
    long cap;
    long long truncated, samples;
} drill;

static int drill_run(FILE *f, drill *d, const rep_run *r, const char *pid)
{
    sqlite3_stmt *st = d->st;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, d->cap + 1);
    sqlite3_bind_int64(st, 2, r->id);
    sqlite3_bind_text(st, 3, pid, -1, SQLITE_STATIC);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int round = sqlite3_column_int(st, 0), cand = sqlite3_column_int(st, 1);
        const char *parents = (const char *)sqlite3_column_text(st, 2);
        int gen = sqlite3_column_int(st, 3);
        const char *fin = (const char *)sqlite3_column_text(st, 4);
        const char *ex = (const char *)sqlite3_column_text(st, 5);
        int correct = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
        const char *reason = (const char *)sqlite3_column_text(st, 7);
        long long tlen = sqlite3_column_int64(st, 8);
        const char *txt = (const char *)sqlite3_column_blob(st, 9);
        long got = sqlite3_column_bytes(st, 9);
        /* compact: this is repeated for every sample of the database */
        fprintf(f, "<details class=%s><summary>%sr%d c%d", correct == 1 ? "y" : correct == 0
                                                                  ? "n" : "u",
                correct == 1 ? "\u2713" : correct == 0 ? "\u2717" : "?", round, cand);
        if (round > 0) {
            fputs("\u21d0", f);
            put_parents(f, parents);
        }
        if (ex) {
            size_t el = strlen(ex);
            fputs(" <b", f);
            if (el > 40) {
                fputs(" title=\"", f);
                rep_esc(f, ex, el > 400 ? 400 : el);
                fputs("\"", f);
                el = 40;
            }
            fputc('>', f);
            rep_esc(f, ex, el);
            fputs("</b>", f);
        } else
            fputs(" <i>no answer</i>", f);
        fprintf(f, " %dt", gen);
        if (!fin || strcmp(fin, "stop")) {
            fputc(' ', f);
            esc(f, fin ? fin : "?");
        }
        if (correct < 0 && reason) {
            fputs(" (", f);
            esc(f, reason);
            fputc(')', f);
        }
        fputs("</summary><pre>", f);
        long show = got;
        if (got > d->cap) {
            show = d->cap;
            while (show > 0 && ((unsigned char)txt[show] & 0xC0) == 0x80)
                show--;
        }
        if (txt && show > 0)
            rep_esc(f, txt, (size_t)show);
        if (tlen > show) {
            d->truncated++;
            fprintf(f, "</pre><i>%ld/%lldB</i></details>\n", show, tlen);
        } else
            fputs("</pre></details>\n", f);
        d->samples++;
    }
    return s == SQLITE_DONE ? 0 : -1;
}

/* ------------------------------------------------------------- --by FIELD */

/* One run's metrics per value of the --by field. */
typedef struct {
    int ng;
    char **lab;    /* [ng] */
    met_round *gm; /* [ng * nrounds] */
} rep_by;

static void by_free(rep_by *b)
{
    met_groups_free(b->lab, b->ng);
    free(b->gm);
}

/* met_labeller over o->labels for run `run`. */
typedef struct {
    const rep_opts *o;
    const char *run;
} by_lab;

static int by_label(void *ctx, const char *const *pids, size_t n, char **labels, int *order,
                    char *err, size_t errlen)
{
    const by_lab *c = ctx;
    return c->o->labels(c->o->labels_ctx, c->run, pids, n, labels, order, err, errlen);
}

static int by_build(const rep_opts *o, const rep_run *r, rep_by *b, char *err, size_t errlen)
{
    by_lab c = {o, r->name};
    return met_rounds_by(r->ms, r->n, r->nrounds, 1234, by_label, &c, &b->lab, &b->ng, &b->gm,
                         err, errlen);
}

static void by_table(FILE *f, const char *field, const rep_run *r, const rep_by *b, int nr)
{
    fputs("<h2>By ", f);
    esc(f, field);
    fputs("</h2>\n<table class=\"summary by\"><tr><th>run</th><th>", f);
    esc(f, field);
    fputs("</th><th>problems</th><th>n</th><th>round 0 avg@n</th><th>final avg@n [95% CI]</th>"
          "<th>maj@n</th><th>pass@n</th></tr>\n", f);
    for (int i = 0; i < nr; i++)
        for (int g = 0; g < b[i].ng; g++) {
            const met_round *m0 = &b[i].gm[g * r[i].nrounds];
            const met_round *m = m0 + r[i].nrounds - 1;
            fprintf(f, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>", COLOR(i));
            esc(f, r[i].name);
            fputs("</td><td>", f);
            esc(f, b[i].lab[g]);
            fprintf(f, "</td><td class=\"n\">%d</td><td class=\"n\">%d</td>"
                       "<td class=\"n\">%.2f%%</td><td class=\"n\">%.2f%% [%.2f, %.2f]</td>"
                       "<td class=\"n\">%.2f%%</td><td class=\"n\">%.2f%%</td></tr>\n",
                    m->problems, m->n_min, 100 * m0->avg, 100 * m->avg, 100 * m->avg_lo,
                    100 * m->avg_hi, 100 * m->maj, 100 * m->pass_n);
        }
    fputs("</table>\n<p><small>Each run's problems grouped by the value of this field in its"
          " dataset's records, in the order the records give them ((none): problems without"
          " it); metrics as in the summary, over the group's problems.</small></p>\n", f);
}

int rep_report(const rep_opts *o, rep_stats *stats, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    long long *ids = NULL;
    int nr = 0, rc = -1, fd = -1;
    rep_run *r = NULL;
    const char **pids = NULL;
    size_t np = 0;
    FILE *f = NULL;
    char *tmp = NULL;
    drill d = {0};
    rep_stats st = {0};
    rep_by *by = NULL;
    if (rep_db_open(o->db, &db, err, errlen) ||
        rep_resolve(db, o->db, o->runs, o->nruns, &ids, &nr, err, errlen))
        goto done;
    r = calloc((size_t)nr, sizeof *r);
    if (!r)
        goto oom;
    size_t total = 0;
    long long nsamples = 0;
    for (int i = 0; i < nr; i++) {
        if (rep_run_load(db, o->db, ids[i], &r[i], err, errlen))
            goto done;
        total += r[i].np;
        nsamples += (long long)r[i].n;
    }
    if (o->by) { /* before the file is made: a field no problem has is an error */
        if (!o->labels) {
            ut_err(err, errlen, "--by needs the runs' datasets");
            goto done;
        }
        if (!(by = calloc((size_t)nr, sizeof *by)))
            goto oom;
        for (int i = 0; i < nr; i++)
            if (by_build(o, &r[i], &by[i], err, errlen))
                goto done;
    }
    /* the union of problem ids, sorted */
    pids = malloc((total + 1) * sizeof *pids);
    if (!pids)
        goto oom;
    for (int i = 0; i < nr; i++)
        for (size_t k = 0; k < r[i].np; k++)
            pids[np++] = r[i].pid[k];
    qsort(pids, np, sizeof *pids, cmp_str);
    size_t u = 0;
    for (size_t k = 0; k < np; k++)
        if (u == 0 || strcmp(pids[u - 1], pids[k]) != 0)
            pids[u++] = pids[k];
    np = u;
    long tb = o->text_bytes > 0 ? o->text_bytes : 4000;
    long budget = o->text_budget > 0 ? o->text_budget : 4L << 20;
    d.cap = nsamples > 0 && budget / nsamples < tb ? (long)(budget / nsamples) : tb;
    if (d.cap < 48)
        d.cap = 48;
    if (sqlite3_prepare_v2(db, "SELECT round, candidate, parents, gen_tokens, finish_reason,"
                               " extracted, correct, reason, length(CAST(text AS BLOB)),"
                               " substr(CAST(text AS BLOB), 1, ?1) FROM samples"
                               " WHERE run_id = ?2 AND problem_id = ?3 ORDER BY round, candidate",
                           -1, &d.st, NULL) != SQLITE_OK) {
        ut_err(err, errlen, "%s: reading samples: %s", o->db, sqlite3_errmsg(db));
        goto done;
    }
    size_t tl = strlen(o->out) + 16;
    if (!(tmp = malloc(tl)))
        goto oom;
    snprintf(tmp, tl, "%s.tmpXXXXXX", o->out);
    if ((fd = mkstemp(tmp)) < 0 || !(f = fdopen(fd, "w"))) {
        ut_err(err, errlen, "%s: cannot write: %s", o->out, strerror(errno));
        goto done;
    }
    fd = -1;
    fchmod(fileno(f), 0644);
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n<title>zeval report</title>\n<style>", f);
    fputs(css, f);
    fputs("</style></head><body>\n<h1>zeval report</h1>\n<p>Database <code>", f);
    esc(f, o->db);
    fprintf(f, "</code>, %d run%s, %zu problems, %lld samples; zeval %s.</p>\n", nr,
            nr == 1 ? "" : "s", np, nsamples, ZEVAL_VERSION);
    summary_table(f, r, nr);
    if (by)
        by_table(f, o->by, r, by, nr);
    fputs("<h2>Plots</h2>\n<div class=\"figs\">\n", f);
    plot_rounds(f, r, nr);
    plot_compute(f, r, nr);
    plot_hist(f, r, nr);
    plot_finish(f, r, nr);
    fputs("</div>\n<div class=\"figs\">\n", f);
    plot_heat(f, r, nr, pids, np);
    fputs("</div>\n", f);
    st.plots = 5;
    fprintf(f, "<h2>Problems</h2>\n<p><small>Click a problem for every candidate of every run:"
               " verdict (\u2713 correct, \u2717 wrong, ? ungraded), r&lt;round&gt;"
               " c&lt;candidate&gt;, \u21d0 the candidates of the previous round whose tails fed"
               " this aggregation, the extracted answer, generated tokens (t) and the finish"
               " reason when not stop; click a candidate for its text (at most %ld bytes shown;"
               " a cut text ends with shown/total bytes; --text-bytes and --text-budget raise"
               " the limit).</small></p>\n<div id=\"problems\">\n", d.cap);
    char col[32];
    for (size_t k = 0; k < np; k++) {
        fprintf(f, "<details class=\"p\" id=\"p%zu\"><summary><b>", k);
        esc(f, pids[k]);
        fputs("</b>", f);
        for (int i = 0; i < nr; i++) {
            double m = run_fmean(&r[i], pids[k]);
            if (m < -1.5)
                continue;
            heat_color(m, col, sizeof col);
            fprintf(f, "<span class=\"b\" style=\"background:%s;color:#fff\">", col);
            if (m >= 0)
                fprintf(f, "%.2f", m);
            else
                fputs("?", f);
            fputs("</span>", f);
        }
        fputs("</summary>\n", f);
        for (int i = 0; i < nr; i++) {
            if (run_fmean(&r[i], pids[k]) < -1.5)
                continue;
            fputs("<div class=\"r\"><h4>", f);
            esc(f, r[i].name);
            fputs("</h4>\n", f);
            if (drill_run(f, &d, &r[i], pids[k])) {
                ut_err(err, errlen, "%s: reading samples: %s", o->db, sqlite3_errmsg(db));
                goto done;
            }
            fputs("</div>\n", f);
        }
        fputs("</details>\n", f);
    }
    fputs("</div>\n</body></html>\n", f);
    if (ferror(f)) {
        ut_err(err, errlen, "%s: write error", o->out);
        goto done;
    }
    long long bytes = ftell(f);
    int cerr = fclose(f);
    f = NULL;
    if (cerr || rename(tmp, o->out)) {
        ut_err(err, errlen, "%s: cannot write: %s", o->out, strerror(errno));
        goto done;
    }
    free(tmp);
    tmp = NULL;
    st.runs = nr;
    st.problems = (int)np;
    st.samples = d.samples;
    st.text_cap = d.cap;
    st.truncated = d.truncated;
    st.bytes = bytes;
    if (stats)
        *stats = st;
    rc = 0;
    goto done;
oom:
    ut_err(err, errlen, "out of memory");
done:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    sqlite3_finalize(d.st);
    free(pids);
    for (int i = 0; by && i < nr; i++)
        by_free(&by[i]);
    free(by);
    for (int i = 0; r && i < nr; i++)
        rep_run_free(&r[i]);
    free(r);
    free(ids);
    sqlite3_close(db);
    return rc;
}
