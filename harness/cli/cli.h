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

/**
 * `cellbench run SCENARIO... [--rate X] [--keep] [--verbose] [--target host|qemu|hil
 *  [--serial DEV]]`: replay each
 * scenario end to end (broker, simulators, firmware, cloud application on a
 * virtual clock) and print a verdict per expectation. 0 only when all hold.
 */
int cli_run_main(int argc, char **argv);

/**
 * `cellbench hil --probe openocd|pyocd [--serial DEV] [--probe-id ID] [--map FILE]
 *  [--junit FILE] [--dry-run] SCENARIO`: flash the nRF52840 image through a
 * CMSIS-DAP probe and run the scenario against the board (hil.c).
 */
int cli_hil_main(int argc, char **argv);

/** `cellbench validate SCENARIO...`: check files without running them (0 all valid, 1 some invalid). */
int cli_validate_main(int argc, char **argv);

/** `cellbench list [DIR]`: the scenarios of DIR (default scenarios) with their descriptions. */
int cli_list_main(int argc, char **argv);

#endif /* CELLBENCH_CLI_H */
