/* The list of command groups, command lookup and the implemented-command table. */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>

const struct sim_group *const sim_groups[] = {
    &sim_group_basic, &sim_group_tcpip, &sim_group_ssl, &sim_group_cch,
    &sim_group_mqtt,  &sim_group_gnss,  &sim_group_http,
};

const size_t sim_group_count = sizeof(sim_groups) / sizeof(sim_groups[0]);

static int compare_cmd_names(const void *a, const void *b)
{
    const struct sim_cmd *const *x = a;
    const struct sim_cmd *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

int sim_cmd_index_build(struct sim_modem *m)
{
    size_t count = 0;
    for (size_t g = 0; g < sim_group_count; g++) {
        count += sim_groups[g]->cmd_count;
    }
    m->cmd_index = calloc(count > 0 ? count : 1, sizeof(*m->cmd_index));
    if (m->cmd_index == NULL) {
        return -1;
    }
    size_t n = 0;
    for (size_t g = 0; g < sim_group_count; g++) {
        for (size_t i = 0; i < sim_groups[g]->cmd_count; i++) {
            m->cmd_index[n++] = &sim_groups[g]->cmds[i];
        }
    }
    qsort(m->cmd_index, n, sizeof(*m->cmd_index), compare_cmd_names);
    m->cmd_index_count = n;
    return 0;
}

const struct sim_cmd *sim_find_cmd(const struct sim_modem *m, const char *name)
{
    size_t lo = 0;
    size_t hi = m->cmd_index_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int order = strcmp(name, m->cmd_index[mid]->name);
        if (order == 0) {
            return m->cmd_index[mid];
        }
        if (order < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

static const char *forms_text(unsigned forms, char *buf)
{
    /* "exec", "?", "=?", "=" in the order a manual lists them */
    buf[0] = '\0';
    if (forms & SIM_FORM_EXEC) {
        strcat(buf, "exec ");
    }
    if (forms & SIM_FORM_SET) {
        strcat(buf, "= ");
    }
    if (forms & SIM_FORM_READ) {
        strcat(buf, "? ");
    }
    if (forms & SIM_FORM_TEST) {
        strcat(buf, "=? ");
    }
    size_t n = strlen(buf);
    if (n > 0) {
        buf[n - 1] = '\0';
    }
    return buf;
}

void sim_commands_foreach(void (*fn)(void *ctx, const struct sim_command_info *info), void *ctx)
{
    for (size_t g = 0; g < sim_group_count; g++) {
        const struct sim_group *grp = sim_groups[g];
        for (size_t i = 0; i < grp->cmd_count; i++) {
            char forms[32];
            struct sim_command_info info = {
                .name = grp->cmds[i].name,
                .group = grp->name,
                .forms = forms_text(grp->cmds[i].forms, forms),
                .summary = grp->cmds[i].summary,
            };
            fn(ctx, &info);
        }
    }
}
