/* One entry point per command, each in its own file src/cli/cmd_<name>.c. A command gets
 * argv with argv[0] = the command's name and returns the process exit status:
 * 0 success / nothing found, 1 findings (alerts, failed checks, invalid logs), 2 usage or
 * input error. The registrations drive `kumomori --help`. */
#ifndef KM_COMMANDS_H
#define KM_COMMANDS_H

typedef int (*km_cmd_fn)(int argc, char **argv);

typedef struct km_command {
    const char *name;
    km_cmd_fn fn;
    const char *summary;
    int order; /* position in `kumomori --help` (lower first) */
} km_command;

/* Each command file registers itself, so adding a command touches no shared file:
 *   KM_COMMAND(detect, 10, "raise alerts on ransomware behaviour in CloudTrail logs")
 * defines the registration for `int km_cmd_detect(int argc, char **argv)`. */
void km_command_register(const km_command *c);
#define KM_COMMAND(NAME, ORDER, SUMMARY)                                              \
    int km_cmd_##NAME(int argc, char **argv);                                         \
    __attribute__((constructor)) static void km_register_cmd_##NAME(void) {           \
        static const km_command c = {#NAME, km_cmd_##NAME, SUMMARY, ORDER};           \
        km_command_register(&c);                                                      \
    }

/* Shared helpers for commands. */
void km_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int km_cli_wants_help(int argc, char **argv);

#endif
