/*
 * cli — the subcommands of the `cellbench` program (harness/cellbench.c).
 * Each takes the arguments after its name (argv[0] is the subcommand) and
 * returns the process exit status.
 */
#ifndef CELLBENCH_CLI_H
#define CELLBENCH_CLI_H

/**
 * `cellbench broker --profile aws|gcp --port N --registry FILE
 *  [--admin-port M] [--dir DIR] [--clock FILE] [--certs DIR] [--plugin SO]`:
 * run Mosquitto with the cloud-rules plugin in the foreground.
 */
int cli_broker_main(int argc, char **argv);

#endif /* CELLBENCH_CLI_H */
