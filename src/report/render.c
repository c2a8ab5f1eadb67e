/* kumomori report, writing side: the HTML page. One file, no external asset: the style sheet and
 * the filtering script are inline and allowed by their SHA-256 in the page's
 * Content-Security-Policy (nothing else may run or load, even if an escape were missed). The
 * content is all in the HTML: the script only hides rows, so the page reads the same with
 * JavaScript off and prints every finding. Input strings reach the page only through
 * km_html_escape, never inside the script, a URL or a class name. */
#include "report/internal.h"
#include "audit/util.h"
#include "kumomori/kumomori.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_titles[RP_NSCEN] = {
    "Application vulnerability", "Credential leak", "Misconfiguration", "Insider",
    "Supply chain", "Database and backups", "Log and monitoring tampering"};

static const char css[] =
    ":root{--line:#c9ced6;--muted:#4d5560;--head:#12263a}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;color:#16191d;background:#fff;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans CJK JP',sans-serif}\n"
    "header.top{background:var(--head);color:#fff;padding:14px 24px}\n"
    "header.top h1{margin:0 0 6px;font-size:21px}\n"
    "header.top dl{display:grid;grid-template-columns:max-content 1fr;gap:1px 14px;margin:0}\n"
    "header.top dt{color:#b9c8d8}header.top dd{margin:0}\n"
    "header.top code{background:rgba(255,255,255,.14);color:#fff}\n"
    "nav#toc{background:#eef2f6;padding:6px 24px;border-bottom:1px solid var(--line)}\n"
    "nav#toc a{margin-right:16px;color:#123c69}\n"
    "main{max-width:1400px;margin:0 auto;padding:0 24px 40px}\n"
    "h2{font-size:18px;margin:26px 0 8px;padding-bottom:3px;border-bottom:2px solid var(--head)}\n"
    "table{border-collapse:collapse;width:100%;margin:6px 0 12px}\n"
    "th,td{border:1px solid var(--line);padding:4px 6px;vertical-align:top;text-align:left}\n"
    "thead th{background:#eef2f6;position:sticky;top:0;z-index:1}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "ul.plain{margin:0;padding-left:16px}\n"
    ".badge{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600;white-space:nowrap;border:1px solid rgba(0,0,0,.3)}\n"
    ".st-EXPOSED,.fs-FAIL,.v-AT_RISK{background:#b2182b;color:#fff}\n"
    ".st-GAPS{background:#f4a582;color:#000}\n"
    ".st-INCOMPLETE,.fs-UNKNOWN,.v-UNKNOWN{background:#d9d9d9;color:#000}\n"
    ".st-PROTECTED,.fs-PASS,.v-RECOVERABLE{background:#2166ac;color:#fff}\n"
    ".st-NO_DATA,.fs-NOT_APPLICABLE,.st-other{background:#fff;color:#000}\n"
    ".v-NOT_BACKED_UP{background:#8c510a;color:#fff}\n"
    ".sev-critical{background:#67001f;color:#fff}.sev-high{background:#d6604d;color:#000}\n"
    ".sev-medium{background:#f4a582;color:#000}.sev-low{background:#92c5de;color:#000}\n"
    ".sev-info{background:#e8f1f7;color:#000}.sev-unknown{background:#fff;color:#000}\n"
    "td.fail.l1{background:#fbe3e3}td.fail.l2{background:#f3b6b6}td.fail.l3{background:#e07a7a}td.fail.l4{background:#b2182b;color:#fff}\n"
    "td.pass.l1{background:#e6eef7}td.pass.l2{background:#bcd3ea}td.pass.l3{background:#a9c6e4}td.pass.l4{background:#8fb4dc}\n"
    "td.unknown.l1,td.unknown.l2{background:#eee}td.unknown.l3,td.unknown.l4{background:#bbb}\n"
    "td.na{color:var(--muted)}#heatmap td a{color:inherit}\n"
    "code,.mono{font:12px/1.35 ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace;word-break:break-all}\n"
    "code{background:#f3f4f6;padding:0 2px}\n"
    ".small{font-size:12px;color:var(--muted)}\n"
    ".note{background:#fff8e1;border-left:4px solid #b8860b;padding:6px 10px;margin:8px 0}\n"
    "tr.suppressed{opacity:.7}\n"
    "#filters{position:sticky;top:0;z-index:2;background:#fff;padding:6px 0;border-bottom:1px solid var(--line)}\n"
    "#filters fieldset{display:inline-block;border:1px solid var(--line);margin:0 8px 4px 0;padding:2px 8px}\n"
    "#filters label{margin-right:8px;white-space:nowrap}\n"
    "svg.timeline{width:100%;height:auto;border:1px solid var(--line);background:#fcfcfd}\n"
    "svg.timeline text{font:11px system-ui,sans-serif;fill:#222}\n"
    "svg.timeline .grid{stroke:#e3e6ea}\n"
    "rect.sv-critical{fill:#67001f}rect.sv-high{fill:#d6604d}rect.sv-medium{fill:#f4a582}\n"
    "rect.sv-low{fill:#6aa5cd}rect.sv-info{fill:#a9c9de}rect.sv-unknown{fill:#999}\n"
    ".legend span{margin-right:10px}\n"
    "@media print{\n"
    "  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
    "  @page{size:A4 landscape;margin:11mm}\n"
    "  body{font-size:9.5pt}\n"
    "  header.top{background:none;color:#000;border-bottom:2px solid #000;padding:0 0 6px}\n"
    "  header.top dt{color:#444}\n"
    "  nav#toc,#filters{display:none}\n"
    "  main{max-width:none;padding:0}\n"
    "  tr[hidden]{display:table-row!important}\n"
    "  thead{display:table-header-group}\n"
    "  thead th{position:static}\n"
    "  tr,svg{break-inside:avoid}\n"
    "  h2{break-after:avoid}\n"
    "  #findings-section,#alerts-section{break-before:page}\n"
    "  a{color:inherit;text-decoration:none}\n"
    "}\n";

/* Reads the filter from the check boxes or from the address (#scenario=S6&severity=HIGH&status=FAIL,
 * comma lists, any case) and hides the rows that do not match. It reads only the page's own
 * attributes and never writes markup. */
static const char js[] =
    "(function(){'use strict';\n"
    "var form=document.getElementById('filters');if(!form)return;form.hidden=false;\n"
    "var groups=['scenario','severity','status'];\n"
    "function boxes(g){return Array.prototype.slice.call(form.querySelectorAll('input[name=\"'+g+'\"]'));}\n"
    "function picked(g){var s={},all=true;boxes(g).forEach(function(b){if(b.checked)s[b.value.toUpperCase()]=true;else all=false;});s['*']=all;return s;}\n"
    "function fromHash(){var h=location.hash.replace(/^#/,'');if(h.indexOf('=')<0)return false;\n"
    " var p=new URLSearchParams(h);groups.forEach(function(g){var v=p.get(g),want=null;\n"
    "  if(v!==null&&v!==''&&v.toLowerCase()!=='all'){want={};v.split(',').forEach(function(x){want[x.trim().toUpperCase()]=true;});}\n"
    "  boxes(g).forEach(function(b){b.checked=!want||!!want[b.value.toUpperCase()];});});return true;}\n"
    "function toHash(){var parts=[];groups.forEach(function(g){var bs=boxes(g),on=bs.filter(function(b){return b.checked;});\n"
    "  if(on.length!==bs.length)parts.push(g+'='+on.map(function(b){return b.value;}).join(','));});\n"
    " try{history.replaceState(null,'',parts.length?'#'+parts.join('&'):location.pathname+location.search);}catch(e){}}\n"
    "function match(row,sc,sv,st){var ss=(row.getAttribute('data-scenarios')||'').split(' ').filter(Boolean);\n"
    " var okS=sc['*']||ss.some(function(s){return sc[s.toUpperCase()];});\n"
    " var okV=sv['*']||sv[(row.getAttribute('data-severity')||'').toUpperCase()];\n"
    " var stv=row.getAttribute('data-status');var okT=stv===null||st['*']||st[stv.toUpperCase()];return !!(okS&&okV&&okT);}\n"
    "function apply(){var sc=picked('scenario'),sv=picked('severity'),st=picked('status');\n"
    " groups.forEach(function(g){boxes(g).forEach(function(b){b.toggleAttribute('checked',b.checked);});});\n"
    " [['tr.finding','findings-shown'],['tr.alert','alerts-shown']].forEach(function(k){var n=0,rows=document.querySelectorAll(k[0]);\n"
    "  Array.prototype.forEach.call(rows,function(r){var ok=match(r,sc,sv,st);r.hidden=!ok;if(ok)n++;});\n"
    "  var o=document.getElementById(k[1]);if(o)o.textContent=n+' of '+rows.length+' shown';});}\n"
    "form.addEventListener('change',function(){apply();toHash();});\n"
    "var reset=document.getElementById('filters-reset');if(reset)reset.addEventListener('click',function(){\n"
    " groups.forEach(function(g){boxes(g).forEach(function(b){b.checked=true;});});apply();toHash();});\n"
    "window.addEventListener('hashchange',function(){if(fromHash()){apply();var f=document.getElementById('findings-section');if(f)f.scrollIntoView();}});\n"
    "fromHash();apply();\n"
    "})();\n";

/* base64 SHA-256 of s, for the Content-Security-Policy. */
static void csp_hash(const char *s, char out[64]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = 0;
    if (!EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) return;
    EVP_EncodeBlock((unsigned char *)out, md, 32);
}

/* ---- small writing helpers (errors accumulate in b->failed) ---- */

#define P(s) km_buf_puts(b, (s))
#define F(...) km_buf_printf(b, __VA_ARGS__)

#define RP_TEXT_MAX 4096 /* longest input string shown, in bytes */

static void esc_n(km_buf *b, const char *s, size_t n) {
    if (!s) return;
    if (n <= RP_TEXT_MAX) {
        km_html_escape(b, s, n);
        return;
    }
    size_t cut = RP_TEXT_MAX;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
    km_html_escape(b, s, cut);
    F("\xE2\x80\xA6 <span class=\"small\">(%zu more bytes)</span>", n - cut);
}

static void esc(km_buf *b, const char *s) {
    if (s) esc_n(b, s, strlen(s));
}

/* A JSON value shown as text: strings as they are, numbers as written, others compactly. */
static void esc_v(km_buf *b, const km_json *v) {
    if (!v || v->type == KM_JSON_NULL) return;
    if (v->type == KM_JSON_STRING) {
        esc_n(b, v->u.str.s, v->u.str.len);
        return;
    }
    if (v->type == KM_JSON_NUMBER) {
        esc_n(b, v->u.num.raw, v->u.num.len);
        return;
    }
    km_buf t = KM_BUF_INIT;
    km_buf_init(&t, RP_TEXT_MAX * 4);
    km_json_write(&t, v);
    if (t.data) esc_n(b, t.data, t.len);
    km_buf_free(&t);
}

/* Each item of array a shown as text, wrapped in open and close, items separated by sep. */
static void esc_items(km_buf *b, const km_json *a, const char *sep, const char *open, const char *close) {
    for (size_t i = 0; i < km_json_len(a); i++) {
        if (i) P(sep);
        P(open);
        esc_v(b, km_json_at(a, i));
        P(close);
    }
}

static const char *gs(const km_json *o, const char *k) { return km_json_str(km_json_get(o, k)); }

/* A string member shown with its full decoded length (it may hold NUL characters). */
static void esc_k(km_buf *b, const km_json *o, const char *k) {
    const km_json *v = km_json_get(o, k);
    if (v && v->type == KM_JSON_STRING) esc_n(b, v->u.str.s, v->u.str.len);
}

static int gnum(const km_json *o, const char *k, double *d) {
    const km_json *v = km_json_get(o, k);
    if (!v || v->type != KM_JSON_NUMBER || !isfinite(v->u.num.d)) return 0;
    *d = v->u.num.d;
    return 1;
}

static long long gcount(const km_json *o, const char *k) {
    double d;
    if (!gnum(o, k, &d) || d < 0) return 0;
    return d > 1e15 ? (long long)1e15 : (long long)d;
}

static int is_scen(const char *s) { return s && s[0] == 'S' && s[1] >= '1' && s[1] <= '7' && s[2] == 0; }

static const char *sev_name(int sev) { return sev >= 0 && sev < 5 ? rp_sev_names[sev] : "unknown"; }

static void sev_badge(km_buf *b, int sev) { F("<span class=\"badge sev-%s\">%s</span>", sev_name(sev), sev_name(sev)); }

/* Scenario statuses and finding statuses come from fixed lists; anything else is shown escaped
 * with a neutral class, so input never becomes a class name. */
static const char *const scen_statuses[] = {"EXPOSED", "GAPS", "INCOMPLETE", "PROTECTED", "NO_DATA"};
static const char *const scen_marks[] = {"\xE2\x9C\x96", "\xE2\x96\xB2", "?", "\xE2\x9C\x94", "\xE2\x80\x93"};
static const char *const fstatuses[] = {"FAIL", "UNKNOWN", "PASS", "NOT_APPLICABLE"};
static const char *const fmarks[] = {"\xE2\x9C\x96", "?", "\xE2\x9C\x94", "\xE2\x80\x93"};
static const char *const verdicts[] = {"AT_RISK", "NOT_BACKED_UP", "UNKNOWN", "RECOVERABLE"};
static const char *const vmarks[] = {"\xE2\x9C\x96", "!", "?", "\xE2\x9C\x94"};

static int index_of(const char *s, const char *const *list, int n) {
    if (s)
        for (int i = 0; i < n; i++)
            if (strcmp(s, list[i]) == 0) return i;
    return -1;
}

/* The badge of s, one of the n words of list: class CLS-WORD, its mark and the word; any other
 * s is shown escaped with the neutral class st-other. */
static void list_badge(km_buf *b, const char *s, const char *const *list, const char *const *marks, int n,
                       const char *cls) {
    int i = index_of(s, list, n);
    if (i < 0) {
        P("<span class=\"badge st-other\">");
        esc(b, s ? s : "none");
        P("</span>");
        return;
    }
    F("<span class=\"badge %s-%s\">%s %s</span>", cls, list[i], marks[i], list[i]);
}

static void scen_badge(km_buf *b, const char *st) { list_badge(b, st, scen_statuses, scen_marks, 5, "st"); }
static void verdict_badge(km_buf *b, const char *v) { list_badge(b, v, verdicts, vmarks, 4, "v"); }

/* ---- header ---- */

static void render_header(km_buf *b, const km_report *r, const km_json *root) {
    const km_json *tool = km_json_get(root, "tool");
    P("<header class=\"top\" id=\"report-header\"><h1>kumomori report</h1><dl>");
    const km_json *accts = km_json_get(root, "accounts");
    F("<dt>accounts</dt><dd id=\"accounts\" data-count=\"%zu\">", km_json_len(accts));
    if (!km_json_len(accts)) P("none listed");
    for (size_t i = 0; i < km_json_len(accts); i++) {
        const km_json *a = km_json_at(accts, i);
        if (i) P("; ");
        P("<span class=\"account\">");
        esc_v(b, a->type == KM_JSON_OBJECT ? km_json_get(a, "id") : a);
        const km_json *regs = km_json_get(a, "regions");
        if (km_json_len(regs)) {
            P(" <span class=\"small\">(");
            if (gs(a, "source")) {
                esc_k(b, a, "source");
                P(": ");
            }
            esc_items(b, regs, ", ", "", "");
            P(")</span>");
        }
        P("</span>");
    }
    P("</dd><dt>generated at</dt><dd id=\"generated-at\">");
    if (gs(root, "generated_at")) esc_k(b, root, "generated_at");
    else P("(not given)");
    P("</dd>");
    if (gs(root, "evaluated_at")) {
        P("<dt>snapshot time</dt><dd id=\"evaluated-at\">");
        esc_k(b, root, "evaluated_at");
        P("</dd>");
    }
    P("<dt>kumomori version</dt><dd id=\"kumomori-version\">");
    if (gs(tool, "version")) esc_k(b, tool, "version");
    else P("(not given)");
    F(" <span class=\"small\">(audit); report written by kumomori %s</span></dd>", KUMOMORI_VERSION);
    const km_json *inputs = km_json_get(root, "inputs");
    P("<dt>inputs</dt><dd>");
    esc_items(b, inputs, ", ", "<code>", "</code>");
    P(km_json_len(inputs) ? "; " : "");
    P("audit <code>");
    esc(b, r->audit_name);
    P("</code>");
    if (r->has_alerts) {
        P(", alerts <code>");
        esc(b, r->alerts_name ? r->alerts_name : "(lines)");
        P("</code>");
    }
    P("</dd></dl></header>\n<nav id=\"toc\"><a href=\"#scenarios\">Scenarios</a><a href=\"#fix-first\">Fix first</a>"
      "<a href=\"#recoverability-section\">Recoverability</a><a href=\"#findings-section\">Findings</a>");
    if (r->has_alerts) P("<a href=\"#alerts-section\">Alerts</a>");
    P("<a href=\"#problems\">Input problems</a></nav>\n<main>\n");
}

/* ---- scenario heatmap ---- */

static int level(long long n, long long total) {
    if (n <= 0 || total <= 0) return 0;
    double f = (double)n / (double)total;
    return f < 0.15 ? 1 : f < 0.35 ? 2 : f < 0.6 ? 3 : 4;
}

static void render_heatmap(km_buf *b, const km_json *root) {
    const km_json *ss = km_json_get(root, "scenarios");
    const km_json *sum = km_json_get(root, "summary");
    P("<section id=\"scenarios\"><h2>Scenarios S1\xE2\x80\x93S7</h2>\n");
    if (sum) {
        F("<p id=\"summary\" data-pass=\"%lld\" data-fail=\"%lld\" data-unknown=\"%lld\" data-not-applicable=\"%lld\">"
          "%lld checks: %lld pass, %lld fail, %lld unknown, %lld not applicable, %lld suppressed.</p>\n",
          gcount(sum, "pass"), gcount(sum, "fail"), gcount(sum, "unknown"), gcount(sum, "not_applicable"),
          gcount(sum, "checks"), gcount(sum, "pass"), gcount(sum, "fail"), gcount(sum, "unknown"),
          gcount(sum, "not_applicable"), gcount(sum, "suppressed"));
    }
    P("<table id=\"heatmap\"><thead><tr><th>scenario</th><th>status</th><th class=\"n\">score</th>"
      "<th class=\"n\">FAIL</th><th class=\"n\">UNKNOWN</th><th class=\"n\">PASS</th><th class=\"n\">NOT_APPLICABLE</th>"
      "<th>fix first here</th></tr></thead><tbody>\n");
    for (int k = 0; k < RP_NSCEN; k++) {
        const km_json *s = NULL;
        for (size_t i = 0; i < km_json_len(ss); i++) {
            const char *id = gs(km_json_at(ss, i), "id");
            if (id && id[1] - '1' == k) s = km_json_at(ss, i);
        }
        if (!s) {
            F("<tr class=\"scenario absent\" id=\"heat-S%d\" data-scenario=\"S%d\" data-status=\"\"><th>S%d %s</th>"
              "<td colspan=\"7\" class=\"small\">not in this audit</td></tr>\n",
              k + 1, k + 1, k + 1, default_titles[k]);
            continue;
        }
        const char *st = gs(s, "status");
        int si = index_of(st, scen_statuses, 5);
        F("<tr class=\"scenario\" id=\"heat-S%d\" data-scenario=\"S%d\" data-status=\"%s\"><th>S%d ", k + 1, k + 1,
          si >= 0 ? scen_statuses[si] : "other", k + 1);
        if (gs(s, "title")) esc_k(b, s, "title");
        else P(default_titles[k]);
        P("</th><td class=\"status\">");
        scen_badge(b, st);
        double score;
        if (gnum(s, "score", &score))
            F("</td><td class=\"n score\" data-score=\"%.0f\">%.0f/100</td>", score, score);
        else
            P("</td><td class=\"n score\" data-score=\"\">\xE2\x80\x93</td>");
        long long pass = gcount(s, "pass"), fail = gcount(s, "fail"), unk = gcount(s, "unknown"),
                  na = gcount(s, "not_applicable");
        long long decided = pass + fail + unk;
        F("<td class=\"n fail l%d\" data-count=\"%lld\">", level(fail, decided), fail);
        if (fail) F("<a href=\"#scenario=S%d&amp;status=FAIL\">%lld</a>", k + 1, fail); else F("%lld", fail);
        F("</td><td class=\"n unknown l%d\" data-count=\"%lld\">", level(unk, decided), unk);
        if (unk) F("<a href=\"#scenario=S%d&amp;status=UNKNOWN\">%lld</a>", k + 1, unk); else F("%lld", unk);
        F("</td><td class=\"n pass l%d\" data-count=\"%lld\">%lld</td><td class=\"n na\" data-count=\"%lld\">%lld</td><td>",
          level(pass, decided), pass, pass, na, na);
        const km_json *fx = km_json_get(s, "fixes");
        for (size_t i = 0; i < km_json_len(fx) && i < 3; i++) {
            if (i) P("<br>");
            P("<code>");
            esc_v(b, km_json_get(km_json_at(fx, i), "check_id"));
            P("</code>");
        }
        P("</td></tr>\n");
    }
    P("</tbody></table>\n<p class=\"small\">Status: \xE2\x9C\x96 EXPOSED a critical or high check fails; "
      "\xE2\x96\xB2 GAPS only medium, low or info checks fail; ? INCOMPLETE nothing fails but something could not be "
      "decided; \xE2\x9C\x94 PROTECTED everything decided passes; \xE2\x80\x93 NO_DATA nothing decided. "
      "Score: the severity-weighted share of PASS among decided findings. Shading: the share of the scenario's "
      "findings in that column.</p></section>\n");
}

/* ---- fixes ranked across the audit ---- */

typedef struct fix_group {
    const km_json *first; /* a finding of the check, for title and remediation */
    const char *check_id;
    size_t closes;
    int sev;
    unsigned scen;
} fix_group;

static int cmp_by_check(const void *a, const void *b) {
    const km_json *x = *(const km_json *const *)a, *y = *(const km_json *const *)b;
    int c = strcmp(gs(x, "check_id"), gs(y, "check_id"));
    if (c) return c;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int cmp_fix(const void *a, const void *b) {
    const fix_group *x = a, *y = b;
    if (x->closes != y->closes) return x->closes > y->closes ? -1 : 1;
    if (x->sev != y->sev) return x->sev > y->sev ? -1 : 1;
    return strcmp(x->check_id, y->check_id);
}

static unsigned scen_mask(const km_json *f) {
    unsigned m = 0;
    const km_json *sc = km_json_get(f, "scenarios");
    for (size_t i = 0; i < km_json_len(sc); i++) {
        const char *s = km_json_str(km_json_at(sc, i));
        if (is_scen(s)) m |= 1u << (s[1] - '1');
    }
    return m;
}

static void scen_list(km_buf *b, unsigned m) {
    int first = 1;
    for (int i = 0; i < RP_NSCEN; i++)
        if (m & (1u << i)) {
            F("%sS%d", first ? "" : " ", i + 1);
            first = 0;
        }
}

#define RP_MAX_FIXES 100

static void render_fixes(km_buf *b, const km_json *root) {
    const km_json *fs = km_json_get(root, "findings");
    size_t n = km_json_len(fs), nf = 0;
    P("<section id=\"fix-first\"><h2>Fix first</h2>\n");
    const km_json **fails = n ? calloc(n, sizeof *fails) : NULL;
    fix_group *groups = n ? calloc(n, sizeof *groups) : NULL;
    if (n && (!fails || !groups)) {
        b->failed = 1;
        free(fails);
        free(groups);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const km_json *f = km_json_at(fs, i);
        const km_json *sup = km_json_get(f, "suppressed");
        if (strcmp(gs(f, "status"), "FAIL") == 0 && (!sup || sup->type == KM_JSON_NULL)) fails[nf++] = f;
    }
    if (nf) qsort(fails, nf, sizeof *fails, cmp_by_check);
    size_t ng = 0;
    for (size_t i = 0; i < nf; i++) {
        if (ng == 0 || strcmp(groups[ng - 1].check_id, gs(fails[i], "check_id")) != 0) {
            groups[ng].first = fails[i];
            groups[ng].check_id = gs(fails[i], "check_id");
            groups[ng].sev = -1;
            ng++;
        }
        fix_group *g = &groups[ng - 1];
        g->closes++;
        int sv = rp_severity(gs(fails[i], "severity"));
        if (sv > g->sev) g->sev = sv;
        g->scen |= scen_mask(fails[i]);
    }
    if (ng) qsort(groups, ng, sizeof *groups, cmp_fix);
    F("<p>%zu check(s) fail on %zu finding(s) (not suppressed); each fix below closes the findings of one check, "
      "ranked by how many it closes across the whole audit (then by severity).</p>\n", ng, nf);
    if (ng) {
        P("<table id=\"fixes\"><thead><tr><th class=\"n\">#</th><th class=\"n\">closes</th><th>severity</th><th>check</th>"
          "<th>scenarios</th><th>fix</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < ng && i < RP_MAX_FIXES; i++) {
            const fix_group *g = &groups[i];
            F("<tr class=\"fix\" data-closes=\"%zu\" data-severity=\"%s\" data-scenarios=\"", g->closes, sev_name(g->sev));
            scen_list(b, g->scen);
            F("\"><td class=\"n\">%zu</td><td class=\"n closes\">%zu</td><td>", i + 1, g->closes);
            sev_badge(b, g->sev);
            P("</td><td><code class=\"check-id\">");
            esc(b, g->check_id);
            P("</code><br>");
            esc_k(b, g->first, "title");
            P("</td><td>");
            scen_list(b, g->scen);
            P("</td><td>");
            const km_json *rem = km_json_get(g->first, "remediation");
            esc_k(b, rem, "text");
            if (gs(rem, "cli") && *gs(rem, "cli")) {
                P("<br><code>");
                esc_k(b, rem, "cli");
                P("</code>");
            }
            P("</td></tr>\n");
        }
        P("</tbody></table>\n");
        if (ng > RP_MAX_FIXES) F("<p class=\"note\">%zu more checks fail; see the findings.</p>\n", ng - RP_MAX_FIXES);
    }
    P("</section>\n");
    free(fails);
    free(groups);
}

/* ---- recoverability ---- */

static void render_paths(km_buf *b, const km_json *paths, const char *label) {
    for (size_t i = 0; i < km_json_len(paths); i++) {
        const km_json *p = km_json_at(paths, i);
        P("<li><span class=\"small\">");
        P(label);
        P(":</span> ");
        const km_json *acts = km_json_get(p, "actions");
        esc_items(b, acts, " + ", "<code>", "</code>");
        if (gs(p, "resource")) {
            P(" on <span class=\"mono\">");
            esc_k(b, p, "resource");
            P("</span>");
        }
        const km_json *by = km_json_get(p, "allowed_by");
        if (km_json_len(by)) {
            P(" <span class=\"small\">allowed by ");
            esc_items(b, by, "; ", "", "");
            P("</span>");
        }
        if (km_json_get(p, "conditional") && km_json_get(p, "conditional")->type == KM_JSON_TRUE)
            P(" <em>[conditional]</em>");
        P("</li>");
    }
}

static void render_store(km_buf *b, const km_json *st) {
    const char *v = gs(st, "verdict");
    int vi = index_of(v, verdicts, 4);
    const km_json *pr = km_json_get(st, "principals");
    F("<tr class=\"store\" data-verdict=\"%s\" data-principals=\"%zu\"><td>", vi >= 0 ? verdicts[vi] : "other",
      km_json_len(pr));
    verdict_badge(b, v);
    P("</td><td><strong>");
    esc_k(b, st, gs(st, "name") ? "name" : "arn");
    P("</strong><br><span class=\"small\">");
    esc_k(b, st, "type");
    P("</span><br><span class=\"mono small\">");
    esc_k(b, st, "arn");
    P("</span></td><td>");
    esc_k(b, st, "account");
    P("<br>");
    esc_k(b, st, "region");
    P("</td><td>");
    esc_k(b, st, "reason");
    const km_json *miss = km_json_get(st, "missing");
    if (km_json_len(miss)) {
        P("<br><span class=\"small\">missing:</span><ul class=\"plain missing\">");
        esc_items(b, miss, "", "<li>", "</li>");
        P("</ul>");
    }
    const km_json *copies = km_json_get(st, "copies");
    F("</td><td class=\"copies\" data-count=\"%zu\">", km_json_len(copies));
    if (!km_json_len(copies)) P("none");
    else P("<ul class=\"plain\">");
    for (size_t i = 0; i < km_json_len(copies); i++) {
        const km_json *c = km_json_at(copies, i);
        const km_json *imm = km_json_get(c, "immutable");
        P("<li class=\"copy\">");
        double cnt;
        if (gnum(c, "count", &cnt) && cnt != 1) F("%.0f \xC3\x97 ", cnt);
        esc_k(b, c, "kind");
        if (gs(c, "location")) {
            P(" (");
            esc_k(b, c, "location");
            P(")");
        }
        P(imm && imm->type == KM_JSON_TRUE ? " <strong>immutable</strong>" : " not immutable");
        if (gs(c, "immutability")) {
            P(" <span class=\"small\">");
            esc_k(b, c, "immutability");
            P("</span>");
        }
        if (gs(c, "isolated")) {
            P("; ");
            esc_k(b, c, "isolated");
        }
        double age;
        if (gnum(c, "age_hours", &age)) F("; newest %.1f h old", age);
        else if (gs(c, "newest")) {
            P("; newest ");
            esc_k(b, c, "newest");
        }
        P("</li>");
    }
    if (km_json_len(copies)) P("</ul>");
    double newest;
    if (gnum(st, "newest_copy_age_hours", &newest)) F("<span class=\"small\">newest copy %.1f h old</span>", newest);
    const km_json *plans = km_json_get(st, "backup_plans");
    for (size_t i = 0; i < km_json_len(plans); i++) {
        const km_json *pl = km_json_at(plans, i);
        P("<div class=\"small plan\">backup plan ");
        esc_k(b, pl, "plan");
        if (gs(pl, "selection")) {
            P(" (selection ");
            esc_k(b, pl, "selection");
            P(")");
        }
        if (gs(pl, "vault")) {
            P(" \xE2\x86\x92 vault ");
            esc_k(b, pl, "vault");
        }
        const km_json *to = km_json_get(pl, "copy_to");
        P(km_json_len(to) ? "; copies to " : "; no copy action");
        esc_items(b, to, ", ", "<span class=\"mono\">", "</span>");
        P("</div>");
    }
    P("</td><td class=\"principals\">");
    if (!km_json_len(pr)) P(vi == 0 ? "(not listed)" : "none");
    for (size_t i = 0; i < km_json_len(pr); i++) {
        const km_json *p = km_json_at(pr, i);
        P("<div class=\"principal\"><span class=\"mono\">");
        esc_k(b, p, "arn");
        P("</span>");
        if (gs(p, "credential")) {
            P(" <span class=\"small\">(");
            esc_k(b, p, "credential");
            P(")</span>");
        }
        if (km_json_get(p, "conditional") && km_json_get(p, "conditional")->type == KM_JSON_TRUE)
            P(" <em>[conditional]</em>");
        P("<ul class=\"plain\">");
        render_paths(b, km_json_get(p, "data_paths"), "data");
        render_paths(b, km_json_get(p, "copy_paths"), "copies");
        P("</ul></div>");
    }
    P("</td></tr>\n");
}

static void render_recoverability(km_buf *b, const km_json *root) {
    const km_json *rc = km_json_get(root, "recoverability");
    P("<section id=\"recoverability-section\"><h2>Recoverability: can one stolen credential destroy the data and every "
      "copy?</h2>\n");
    if (!rc || rc->type != KM_JSON_OBJECT) {
        P("<p id=\"recoverability-absent\">recoverability not in this audit (an audit made by a kumomori without the "
          "recoverability analysis)</p></section>\n");
        return;
    }
    double score;
    P("<p id=\"recoverability-score\"");
    if (gnum(rc, "score", &score))
        F(" data-score=\"%.0f\">Score <strong>%.0f/100</strong>: the share of the decided data stores that survive one "
          "stolen credential.",
          score, score);
    else
        P(" data-score=\"\">No score: no data store could be decided.");
    double pe = 0;
    int have_pe = gnum(rc, "principals_evaluated", &pe);
    if (have_pe) F(" %.0f users and roles evaluated", pe);
    if (gs(rc, "snapshot_time")) {
        P(have_pe ? ", ages as of " : " Ages as of ");
        esc_k(b, rc, "snapshot_time");
    }
    if (have_pe || gs(rc, "snapshot_time")) P(".");
    const km_json *counts = km_json_get(rc, "counts");
    P("</p>\n<p id=\"recoverability-counts\">");
    for (int i = 0; i < 4; i++) {
        long long n = gcount(counts, verdicts[i]);
        F("<span class=\"verdict-count\" data-verdict=\"%s\" data-count=\"%lld\">", verdicts[i], n);
        verdict_badge(b, verdicts[i]);
        F(" %lld</span> ", n);
    }
    P("</p>\n");
    const km_json *notes = km_json_get(rc, "notes");
    if (km_json_len(notes)) {
        P("<ul class=\"note\" id=\"recoverability-notes\">");
        esc_items(b, notes, "", "<li>", "</li>");
        P("</ul>\n");
    }
    const km_json *stores = km_json_get(rc, "stores");
    if (!km_json_len(stores)) {
        P("<p id=\"recoverability-empty\">No data store in this audit.</p></section>\n");
        return;
    }
    P("<table id=\"recoverability\"><thead><tr><th>verdict</th><th>data store</th><th>account, region</th><th>why</th>"
      "<th>recovery copies</th><th>who can destroy the data and every copy without MFA</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < km_json_len(stores); i++)
        if (km_json_at(stores, i)->type == KM_JSON_OBJECT) render_store(b, km_json_at(stores, i));
    P("</tbody></table></section>\n");
}

/* ---- findings ---- */

static int status_rank(const km_json *f) {
    int i = index_of(gs(f, "status"), fstatuses, 4);
    return i < 0 ? 4 : i;
}

static int cmp_finding(const void *a, const void *b) {
    const km_json *x = *(const km_json *const *)a, *y = *(const km_json *const *)b;
    int sx = status_rank(x), sy = status_rank(y);
    if (sx != sy) return sx < sy ? -1 : 1;
    int vx = rp_severity(gs(x, "severity")), vy = rp_severity(gs(y, "severity"));
    if (vx != vy) return vx > vy ? -1 : 1;
    int c = strcmp(gs(x, "check_id"), gs(y, "check_id"));
    if (c) return c;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void render_filters(km_buf *b, int with_status) {
    P("<form id=\"filters\" hidden><fieldset><legend>scenario</legend>");
    for (int i = 1; i <= RP_NSCEN; i++)
        F("<label><input type=\"checkbox\" name=\"scenario\" value=\"S%d\" checked> S%d</label>", i, i);
    P("</fieldset><fieldset><legend>severity</legend>");
    for (int i = 4; i >= 0; i--)
        F("<label><input type=\"checkbox\" name=\"severity\" value=\"%s\" checked> %s</label>", rp_sev_names[i],
          rp_sev_names[i]);
    P("</fieldset>");
    if (with_status) {
        P("<fieldset><legend>status (findings)</legend>");
        for (int i = 0; i < 4; i++)
            F("<label><input type=\"checkbox\" name=\"status\" value=\"%s\" checked> %s</label>", fstatuses[i],
              fstatuses[i]);
        P("</fieldset>");
    }
    P(" <button type=\"button\" id=\"filters-reset\">show all</button> <span class=\"small\">The filter applies to the "
      "findings and the alerts; the address keeps it (e.g. #scenario=S6&amp;severity=high). Printing shows every "
      "row.</span></form>\n");
}

static void render_findings(km_buf *b, const km_json *root) {
    const km_json *fs = km_json_get(root, "findings");
    size_t n = km_json_len(fs);
    P("<section id=\"findings-section\"><h2>Findings</h2>\n");
    render_filters(b, 1);
    F("<p>%zu finding(s), failures first. <output id=\"findings-shown\">%zu of %zu shown</output></p>\n", n, n, n);
    if (!n) {
        P("<p>No findings.</p></section>\n");
        return;
    }
    const km_json **v = calloc(n, sizeof *v);
    if (!v) {
        b->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) v[i] = km_json_at(fs, i);
    qsort(v, n, sizeof *v, cmp_finding);
    P("<table id=\"findings\"><thead><tr><th>status</th><th>severity</th><th>check</th><th>scenarios</th>"
      "<th>resource</th><th>what was seen</th><th>fix</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const km_json *f = v[i];
        int si = index_of(gs(f, "status"), fstatuses, 4); /* checked when loading */
        int sv = rp_severity(gs(f, "severity"));
        const km_json *sup = km_json_get(f, "suppressed");
        int suppressed = sup && sup->type == KM_JSON_OBJECT;
        F("<tr class=\"finding%s\" data-status=\"%s\" data-severity=\"%s\" data-scenarios=\"", suppressed ? " suppressed" : "",
          fstatuses[si], sev_name(sv));
        scen_list(b, scen_mask(f));
        F("\"><td><span class=\"badge fs-%s\">%s %s</span>", fstatuses[si], fmarks[si], fstatuses[si]);
        if (suppressed) {
            P("<br><span class=\"small\">suppressed: ");
            esc_k(b, sup, "reason");
            if (gs(sup, "expires")) {
                P(" (until ");
                esc_k(b, sup, "expires");
                P(")");
            }
            P("</span>");
        }
        P("</td><td>");
        sev_badge(b, sv);
        P("</td><td><code class=\"check-id\">");
        esc_k(b, f, "check_id");
        P("</code><br>");
        esc_k(b, f, "title");
        P("</td><td>");
        scen_list(b, scen_mask(f));
        P("</td><td class=\"resource\">");
        const km_json *res = km_json_get(f, "resource");
        const char *nm = gs(res, "name") ? gs(res, "name") : gs(res, "id");
        esc(b, nm);
        P("<br><span class=\"small\">");
        esc_k(b, res, "type");
        P(" ");
        esc_k(b, res, "account");
        P(" ");
        esc_k(b, res, "region");
        P("</span>");
        const char *rid = gs(res, "id");
        if (rid && nm && strcmp(rid, nm) != 0 && (!gs(res, "arn") || strcmp(rid, gs(res, "arn")) != 0)) {
            P("<br><span class=\"small\">id ");
            esc_k(b, res, "id");
            P("</span>");
        }
        if (gs(res, "arn") && (!nm || strcmp(gs(res, "arn"), nm) != 0)) {
            P("<br><span class=\"mono small\">");
            esc_k(b, res, "arn");
            P("</span>");
        }
        P("</td><td>");
        esc_k(b, km_json_get(f, "evidence"), "message");
        P("</td><td>");
        if (si == 0 || si == 1) {
            const km_json *rem = km_json_get(f, "remediation");
            esc_k(b, rem, "text");
            if (gs(rem, "cli") && *gs(rem, "cli")) {
                P("<br><code>");
                esc_k(b, rem, "cli");
                P("</code>");
            }
        }
        P("</td></tr>\n");
    }
    P("</tbody></table></section>\n");
    free(v);
}

/* ---- alerts: timeline and table ---- */

static const int64_t bucket_sizes[] = {60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400,
                                       30 * 86400, 365 * 86400};
#define RP_MAX_BUCKETS 96

static void fmt_span(char *out, size_t n, int64_t s) {
    if (s % 86400 == 0) snprintf(out, n, "%lld day%s", (long long)(s / 86400), s == 86400 ? "" : "s");
    else if (s % 3600 == 0) snprintf(out, n, "%lld hour%s", (long long)(s / 3600), s == 3600 ? "" : "s");
    else snprintf(out, n, "%lld minute%s", (long long)(s / 60), s == 60 ? "" : "s");
}

/* One timeline over the points with lo <= t <= hi. zoom: the close-up's classes and wording. Sets
 * *busy to the start of the bucket with the most critical and high alerts (then the most alerts)
 * and *busy_bs to the bucket size. Returns the number of points drawn. */
static size_t timeline_svg(km_buf *b, const km_report *r, int64_t lo, int64_t hi, int zoom, int64_t *busy,
                           int64_t *busy_bs) {
    size_t lane_total[RP_NSCEN] = {0}, n = 0;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (size_t i = 0; i < r->npoints; i++) {
        int64_t t = (int64_t)(r->points[i] >> 11);
        if (t < lo || t > hi) continue;
        n++;
        if (t < tmin) tmin = t;
        if (t > tmax) tmax = t;
    }
    if (!n) return 0;
    int64_t bs = 0;
    for (size_t i = 0; i < sizeof bucket_sizes / sizeof bucket_sizes[0]; i++)
        if ((tmax / bucket_sizes[i]) - (tmin / bucket_sizes[i]) + 1 <= RP_MAX_BUCKETS) {
            bs = bucket_sizes[i];
            break;
        }
    if (!bs) bs = ((tmax - tmin) / (RP_MAX_BUCKETS - 1)) + 1;
    int64_t start = tmin - tmin % bs;
    size_t nb = (size_t)((tmax - start) / bs) + 1;
    if (nb > RP_MAX_BUCKETS) nb = RP_MAX_BUCKETS;
    size_t *cnt = calloc(nb * (RP_NSCEN + 2), sizeof *cnt); /* per lane, then per bucket: all, high+ */
    signed char *msev = malloc(nb * RP_NSCEN);
    if (!cnt || !msev) {
        free(cnt);
        free(msev);
        b->failed = 1;
        return 0;
    }
    size_t *all = cnt + nb * RP_NSCEN, *severe = all + nb;
    memset(msev, -2, nb * RP_NSCEN);
    size_t maxc = 1;
    for (size_t i = 0; i < r->npoints; i++) {
        uint64_t p = r->points[i];
        int64_t t = (int64_t)(p >> 11);
        if (t < lo || t > hi) continue;
        size_t k = (size_t)((t - start) / bs);
        if (k >= nb) k = nb - 1;
        int sev = (int)((p >> 8) & 7) - 1;
        all[k]++;
        if (sev >= 3) severe[k]++;
        for (int s = 0; s < RP_NSCEN; s++) {
            if (!(p & (1u << s))) continue;
            size_t c = ++cnt[k * RP_NSCEN + s];
            lane_total[s]++;
            if (c > maxc) maxc = c;
            if (sev > msev[k * RP_NSCEN + s]) msev[k * RP_NSCEN + s] = (signed char)sev;
        }
    }
    size_t best = 0;
    for (size_t k = 1; k < nb; k++)
        if (severe[k] > severe[best] || (severe[k] == severe[best] && all[k] > all[best])) best = k;
    *busy = start + (int64_t)best * bs;
    *busy_bs = bs;
    const double W = 1200, L = 235, R = 10, LH = 32, TOP = 8, AX = 30;
    double bw = (W - L - R) / (double)nb, H = TOP + LH * RP_NSCEN + AX;
    char span[32], t0[32], t1[32];
    fmt_span(span, sizeof span, bs);
    km_format_time(start, t0, sizeof t0);
    km_format_time(start + (int64_t)nb * bs, t1, sizeof t1);
    if (zoom)
        F("<p>Close-up of the busiest period, from %s to %s (UTC), one bar per %s: %zu alert(s).</p>\n", t0, t1, span, n);
    else
        F("<p>Alerts per scenario from %s to %s (UTC), one bar per %s; the bar's height grows with the number of "
          "alerts (logarithmically), its colour is the highest severity among them. An alert naming several "
          "scenarios is counted in each.</p>\n",
          t0, t1, span);
    F("<svg id=\"%s\" class=\"timeline\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-labelledby=\"%s-title\" "
      "data-buckets=\"%zu\" data-bucket-seconds=\"%lld\"><title id=\"%s-title\">%s</title>\n",
      zoom ? "timeline-zoom" : "timeline", W, H, zoom ? "timeline-zoom" : "timeline", nb, (long long)bs,
      zoom ? "timeline-zoom" : "timeline",
      zoom ? "Close-up of the busiest period, one lane per scenario" : "Alerts over time, one lane per scenario");
    for (int sc = 0; sc < RP_NSCEN; sc++) {
        double y = TOP + LH * sc;
        F("<g class=\"%s\" data-scenario=\"S%d\" data-alerts=\"%zu\"><line class=\"grid\" x1=\"%.0f\" y1=\"%.1f\" "
          "x2=\"%.0f\" y2=\"%.1f\"/><text x=\"4\" y=\"%.1f\">S%d %s (%zu)</text>",
          zoom ? "zlane" : "lane", sc + 1, lane_total[sc], L, y + LH, W - R, y + LH, y + LH - 10, sc + 1,
          default_titles[sc], lane_total[sc]);
        for (size_t k = 0; k < nb; k++) {
            size_t c = cnt[k * RP_NSCEN + sc];
            if (!c) continue;
            double h = 4 + (LH - 8) * log1p((double)c) / log1p((double)maxc);
            char ta[32];
            km_format_time(start + (int64_t)k * bs, ta, sizeof ta);
            const char *sv = sev_name(msev[k * RP_NSCEN + sc]);
            F("<rect class=\"%s sv-%s\" data-count=\"%zu\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\">"
              "<title>S%d, %s + %s: %zu alert%s, highest severity %s</title></rect>",
              zoom ? "zbar" : "bar", sv, c, L + bw * (double)k + 0.5, y + LH - h, bw > 2 ? bw - 1 : 1, h, sc + 1, ta,
              span, c, c == 1 ? "" : "s", sv);
        }
        P("</g>\n");
    }
    size_t every = (nb + 7) / 8;
    for (size_t k = 0; k < nb; k += every) {
        char ta[32];
        km_format_time(start + (int64_t)k * bs, ta, sizeof ta);
        /* "2025-03-12T16:00:00Z" shown as "03-12 16:00", or as the date alone for day bars */
        F("<line class=\"grid\" x1=\"%.2f\" y1=\"%.0f\" x2=\"%.2f\" y2=\"%.0f\"/><text x=\"%.2f\" y=\"%.0f\">",
          L + bw * (double)k, TOP, L + bw * (double)k, TOP + LH * RP_NSCEN + 4, L + bw * (double)k + 2,
          TOP + LH * RP_NSCEN + 18);
        if (bs >= 86400) F("%.10s</text>", ta);
        else F("%.5s %.5s</text>", ta + 5, ta + 11);
    }
    P("</svg>\n");
    free(cnt);
    free(msev);
    return n;
}

static void render_timeline(km_buf *b, km_report *r) {
    if (!r->npoints) {
        P("<p id=\"timeline-empty\">No alert with a readable eventTime and a scenario S1\xE2\x80\x93S7: no timeline.</p>\n");
        return;
    }
    int64_t busy = 0, bs = 0, zb, zbs;
    size_t n = timeline_svg(b, r, INT64_MIN, INT64_MAX, 0, &busy, &bs);
    P("<p class=\"legend small\">highest severity: <span class=\"badge sev-critical\">critical</span> "
      "<span class=\"badge sev-high\">high</span> <span class=\"badge sev-medium\">medium</span> "
      "<span class=\"badge sev-low\">low</span> <span class=\"badge sev-info\">info</span></p>\n");
    /* When the bars are coarse, a close-up of the busiest bar and its neighbours shows how an
     * attack unfolded within them (in the example account, the intrusion's last hour). */
    if (bs > 300 && n > 1 && busy > INT64_MIN + bs && busy < INT64_MAX - 2 * bs)
        timeline_svg(b, r, busy - bs, busy + 2 * bs - 1, 1, &zb, &zbs);
}

static int cmp_row_time(const void *a, const void *b) {
    const rp_alert *x = *(const rp_alert *const *)a, *y = *(const rp_alert *const *)b;
    int64_t tx = x->t == RP_UNTIMED ? INT64_MAX : x->t, ty = y->t == RP_UNTIMED ? INT64_MAX : y->t;
    if (tx != ty) return tx < ty ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void render_alerts(km_buf *b, km_report *r) {
    P("<section id=\"alerts-section\"><h2>Alerts</h2>\n");
    F("<p id=\"alerts-summary\" data-alerts=\"%zu\" data-skipped=\"%zu\">%zu alert(s) read from <code>", r->alerts, r->bad,
      r->alerts);
    esc(b, r->alerts_name ? r->alerts_name : "(lines)");
    P("</code>.</p>\n");
    if (r->bad) {
        F("<div class=\"note\" id=\"alerts-skipped\" data-count=\"%zu\">%zu alert line(s) could not be read and were "
          "skipped:<ul>",
          r->bad, r->bad);
        for (size_t i = 0; i < r->nbad_msgs; i++) {
            P("<li><code>");
            esc(b, r->bad_msgs[i]);
            P("</code></li>");
        }
        if (r->bad > r->nbad_msgs) F("<li>and %zu more (all are on standard error)</li>", r->bad - r->nbad_msgs);
        P("</ul></div>\n");
    }
    render_timeline(b, r);
    if (r->untimed || r->unlaned || r->points_dropped) {
        P("<p class=\"note\" id=\"timeline-left-out\">Not on the timeline: ");
        F("%zu alert(s) without a readable eventTime, %zu naming no scenario S1\xE2\x80\x93S7", r->untimed, r->unlaned);
        if (r->points_dropped) F(", %zu beyond the timeline's limit of %zu", r->points_dropped, RP_MAX_POINTS);
        P(" (they are in the table).</p>\n");
    }
    if (!r->nrows) {
        P("<p>No alerts.</p></section>\n");
        return;
    }
    /* The heap order is not needed any more: the table reads in time order. */
    qsort(r->rows, r->nrows, sizeof *r->rows, cmp_row_time);
    r->listed = r->nrows;
    if (r->alerts > r->nrows)
        F("<p class=\"note\" id=\"alerts-capped\">The table lists the %zu most severe of the %zu alerts (the timeline "
          "counts them all).</p>\n",
          r->nrows, r->alerts);
    F("<p><output id=\"alerts-shown\">%zu of %zu shown</output></p>\n", r->nrows, r->nrows);
    P("<table id=\"alerts\"><thead><tr><th>eventTime</th><th>severity</th><th>rule</th><th>scenarios</th><th>call</th>"
      "<th>principal</th><th>source IP</th><th>account, region</th><th>resource</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < r->nrows; i++) {
        const rp_alert *a = r->rows[i];
        F("<tr class=\"alert\" data-severity=\"%s\" data-scenarios=\"", sev_name(a->sev));
        scen_list(b, a->scen);
        P("\"><td class=\"mono\">");
        esc(b, a->time);
        P("</td><td>");
        sev_badge(b, a->sev);
        P("</td><td><code>");
        esc(b, a->rule);
        P("</code><br>");
        esc(b, a->title);
        if (a->detail) {
            P("<br><span class=\"small\">");
            esc(b, a->detail);
            P("</span>");
        }
        P("</td><td>");
        scen_list(b, a->scen);
        if (a->scen_other) {
            P(" ");
            esc(b, a->scen_other);
        }
        P("</td><td>");
        esc(b, a->event);
        if (a->source) {
            P("<br><span class=\"small\">");
            esc(b, a->source);
            P("</span>");
        }
        if (a->error) {
            P("<br><span class=\"small\">failed: ");
            esc(b, a->error);
            P("</span>");
        }
        P("</td><td class=\"mono\">");
        esc(b, a->principal);
        P("</td><td class=\"mono\">");
        esc(b, a->ip);
        P("</td><td>");
        esc(b, a->account);
        P("<br>");
        esc(b, a->region);
        P("</td><td class=\"mono\">");
        esc(b, a->resource);
        if (a->nresources > 1) F(" <span class=\"small\">(+%zu)</span>", a->nresources - 1);
        P("</td></tr>\n");
    }
    P("</tbody></table></section>\n");
}

static void render_problems(km_buf *b, const km_report *r, const km_json *root) {
    const km_json *pr = km_json_get(root, "problems");
    F("<section id=\"problems\"><h2>Input problems</h2>\n<p data-count=\"%zu\">", km_json_len(pr));
    if (!km_json_len(pr)) P("The audit reported no unreadable input.");
    else F("The audit could not read %zu input(s); the checks that needed them are UNKNOWN:", km_json_len(pr));
    P("</p>\n");
    if (km_json_len(pr)) {
        P("<ul id=\"audit-problems\">");
        esc_items(b, pr, "", "<li><code>", "</code></li>");
        P("</ul>\n");
    }
    if (r->has_alerts && r->bad) F("<p>%zu alert line(s) were skipped (see <a href=\"#alerts-skipped\">Alerts</a>).</p>\n", r->bad);
    P("</section>\n");
}

int km_report_render(km_report *r, km_buf *b) {
    if (!r->audit) return -1;
    const km_json *root = km_json_root(r->audit);
    char hcss[64], hjs[64];
    csp_hash(css, hcss);
    csp_hash(js, hjs);
    P("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    F("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-%s'; "
      "script-src 'sha256-%s'; img-src data:; base-uri 'none'; form-action 'none'\">\n",
      hcss, hjs);
    P("<meta name=\"referrer\" content=\"no-referrer\">\n<title>kumomori report");
    const km_json *accts = km_json_get(root, "accounts");
    if (km_json_len(accts)) {
        P(": ");
        for (size_t i = 0; i < km_json_len(accts) && i < 3; i++) {
            if (i) P(", ");
            const km_json *a = km_json_at(accts, i);
            esc_v(b, a->type == KM_JSON_OBJECT ? km_json_get(a, "id") : a);
        }
        if (km_json_len(accts) > 3) P(", \xE2\x80\xA6");
    }
    P("</title>\n<style>");
    P(css);
    P("</style>\n</head>\n<body>\n");
    render_header(b, r, root);
    render_heatmap(b, root);
    render_fixes(b, root);
    render_recoverability(b, root);
    render_findings(b, root);
    if (r->has_alerts) render_alerts(b, r);
    render_problems(b, r, root);
    P("</main>\n<footer class=\"small\"><p>&#160;kumomori ");
    P(KUMOMORI_VERSION);
    P(" \xE2\x80\x94 this page loads nothing from the network; its script only filters rows.</p></footer>\n<script>");
    P(js);
    P("</script>\n</body></html>\n");
    return b->failed ? -1 : 0;
}
