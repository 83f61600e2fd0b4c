/* §? gnss commands — being written; this empty group keeps the library linking. */
#include "sim_internal.h"

const struct sim_group sim_group_gnss = {
    .name = "gnss",
};
