/* cellbench — the bench's command: dispatch to its subcommands (harness/cli/). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
    { "broker", cli_broker_main, "run Mosquitto behaving like AWS IoT Core or GCP IoT Core" },
    { "run", cli_run_main, "replay scenarios end to end and judge their expectations" },
    { "hil", cli_hil_main, "flash an nRF52840 board through a CMSIS-DAP probe and run a scenario on it" },
    { "validate", cli_validate_main, "check scenario files without running them" },
    { "list", cli_list_main, "list the scenarios of a directory with their descriptions" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cellbench <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "cellbench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
