/*
 * libFuzzer target for the scenario loader: any bytes go through
 * scenario_load_text (JSON parsing, every check, predicate parsing) and must
 * give either a scenario or an error message, without crashing or leaking.
 * Relative trace and picture names resolve under the source tree's scenarios/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scenario.h"

#ifndef CELLBENCH_SOURCE_DIR
#define CELLBENCH_SOURCE_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scenario s;
    struct scenario_error err;
    if (scenario_load_text((const char *)data, size, "fuzz.json", CELLBENCH_SOURCE_DIR "/scenarios", &s, &err) == 0) {
        scenario_free(&s);
    } else if (strlen(err.message) == 0) {
        __builtin_trap(); /* every refusal must say why */
    }
    return 0;
}
