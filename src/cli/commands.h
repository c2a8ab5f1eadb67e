/* One entry point per command, each in its own file src/cli/cmd_<name>.c. A command gets
 * argv with argv[0] = the command's name and returns the process exit status:
 * 0 success / nothing found, 1 findings (alerts, failed checks, invalid logs), 2 usage or
 * input error. The table in main.c drives `kumomori --help`. */
#ifndef KM_COMMANDS_H
#define KM_COMMANDS_H

typedef int (*km_cmd_fn)(int argc, char **argv);

typedef struct km_command {
    const char *name;
    km_cmd_fn fn;
    const char *summary;
} km_command;

extern const km_command km_commands[];

/* Shared helpers for commands. */
void km_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int km_cli_wants_help(int argc, char **argv);

/* Commands (add yours here and in the table in main.c). */
int km_cmd_version(int argc, char **argv);
#endif
