/* kumomori keygen: the Ed25519 key pair that seals kumomori's output (--seal) and verifies it. */
#include "cli/commands.h"
#include "kumomori/seal.h"

#include <stdio.h>
#include <string.h>

KM_COMMAND(keygen, 62, "make the Ed25519 key pair that seals kumomori's output")

int km_cmd_keygen(int argc, char **argv) {
    if (km_cli_wants_help(argc, argv)) {
        printf("usage: kumomori keygen --out PREFIX\n"
               "\n"
               "Writes PREFIX.key (the private Ed25519 key, PEM, mode 0600) and PREFIX.pub (the public\n"
               "key). Seal with `--seal PREFIX.key` (detect, watch, audit) or `kumomori seal`; verify with\n"
               "`kumomori verify --sealed FILE --public-key PREFIX.pub`. Keep the private key where the\n"
               "attacker you fear cannot read it, and the public key where they cannot change it.\n"
               "Existing files are never overwritten; the private key is never printed.\n");
        return 0;
    }
    const char *prefix = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) prefix = argv[++i];
        else {
            km_cli_usage_error("keygen", "unknown option or missing value: '%s'", argv[i]);
            return 2;
        }
    }
    if (!prefix || !*prefix) {
        km_cli_usage_error("keygen", "give --out PREFIX (writes PREFIX.key and PREFIX.pub)");
        return 2;
    }
    char priv[4096], pub[4096];
    if (snprintf(priv, sizeof priv, "%s.key", prefix) >= (int)sizeof priv ||
        snprintf(pub, sizeof pub, "%s.pub", prefix) >= (int)sizeof pub) {
        km_cli_usage_error("keygen", "--out: path too long");
        return 2;
    }
    km_error err;
    km_error_clear(&err);
    char id[65];
    if (km_seal_keygen(priv, pub, id, &err)) {
        fprintf(stderr, "kumomori keygen: %s\n", err.msg);
        return 2;
    }
    printf("wrote %s (private: keep it secret) and %s\nkey id %s\n", priv, pub, id);
    return 0;
}
