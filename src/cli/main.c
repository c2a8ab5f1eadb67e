/* kumomori: one binary, one command per file. */
#include "cli/commands.h"
#include "kumomori/kumomori.h"
#include "util/limits.h"
#include "util/term.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const km_command *commands[64];
static size_t ncommands;

void km_command_register(const km_command *c) {
    if (ncommands >= sizeof commands / sizeof commands[0]) return;
    size_t i = ncommands++;
    while (i > 0 && (commands[i - 1]->order > c->order ||
                     (commands[i - 1]->order == c->order && strcmp(commands[i - 1]->name, c->name) > 0))) {
        commands[i] = commands[i - 1];
        i--;
    }
    commands[i] = c;
}

KM_COMMAND(version, 1000, "print the version")

static const km_command *find_command(const char *name) {
    for (size_t i = 0; i < ncommands; i++)
        if (strcmp(commands[i]->name, name) == 0) return commands[i];
    return NULL;
}

static void usage(FILE *f) {
    fprintf(f,
            "kumomori %s - defend AWS accounts against ransomware\n\n"
            "usage: kumomori [--no-color] COMMAND [ARGS...]\n"
            "       kumomori COMMAND --help\n\n"
            "commands:\n",
            KUMOMORI_VERSION);
    for (size_t i = 0; i < ncommands; i++)
        fprintf(f, "  %-15s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f,
            "\nexit status: 0 nothing found, 1 findings (alerts, failed checks, invalid logs),\n"
            "2 usage or input error.\n"
            "Colour is used only on a terminal; set NO_COLOR=1 or pass --no-color to turn it off.\n"
            "Every command takes --limit NAME=VALUE (repeatable) or KUMOMORI_LIMITS=\"NAME=VALUE,...\" to\n"
            "change a limit on untrusted input: depth, string, record, fields, file, rules, patterns,\n"
            "groups, pending (docs/security.md).\n");
}

void km_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kumomori %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(try 'kumomori %s --help')\n", cmd);
    va_end(ap);
}

int km_cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    }
    return 0;
}

int km_cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("kumomori %s\n", KUMOMORI_VERSION);
    return 0;
}

/* harden helper: resource limits (docs/security.md). KUMOMORI_LIMITS first, then every
 * `--limit NAME=VALUE` (or --limit=NAME=VALUE) before a "--" of the command's arguments, which are
 * taken out of argv so that each command sees only its own options. *end is the new argc. */
static int apply_limits(const char *cmd, int argc, char **argv, int *end) {
    km_error e;
    const char *env = getenv("KUMOMORI_LIMITS");
    if (env && km_limits_set_list(env, &e)) {
        fprintf(stderr, "kumomori %s: KUMOMORI_LIMITS: %s\n", cmd, e.msg);
        return -1;
    }
    if (km_threads_check(&e)) {
        fprintf(stderr, "kumomori %s: KUMOMORI_THREADS: %s\n", cmd, e.msg);
        return -1;
    }
    int out = 1, i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *spec = NULL;
        if (strcmp(argv[i], "--limit") == 0) {
            if (i + 1 >= argc) {
                km_cli_usage_error(cmd, "--limit needs a value: --limit NAME=VALUE");
                return -1;
            }
            spec = argv[++i];
        } else if (strncmp(argv[i], "--limit=", 8) == 0) {
            spec = argv[i] + 8;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (km_limit_set(spec, &e)) {
            km_cli_usage_error(cmd, "--limit: %s", e.msg);
            return -1;
        }
    }
    for (; i < argc; i++) argv[out++] = argv[i];
    *end -= argc - out;
    argv[out] = NULL;
    return 0;
}

int main(int argc, char **argv) {
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            return km_cmd_version(0, NULL);
        } else if (strcmp(argv[i], "--no-color") == 0) {
            km_term_set_color(0);
        } else {
            fprintf(stderr, "kumomori: unknown option '%s'\n(try 'kumomori --help')\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const km_command *c = find_command(argv[i]);
    if (c) {
        if (apply_limits(argv[i], argc - i, argv + i, &argc) != 0) return 2;
        return c->fn(argc - i, argv + i);
    }
    if (strcmp(argv[i], "help") == 0) {
        if (i + 1 < argc && (c = find_command(argv[i + 1])) != NULL) {
            char help[] = "--help";
            char *hargv[] = {argv[i + 1], help, NULL};
            return c->fn(2, hargv);
        }
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "kumomori: unknown command '%s'\n(try 'kumomori --help')\n", argv[i]);
    return 2;
}
