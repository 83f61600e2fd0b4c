/* The list of command groups, command lookup and the implemented-command table. */
#include "sim_internal.h"

#include <string.h>

const struct sim_group *const sim_groups[] = {
    &sim_group_basic, &sim_group_tcpip, &sim_group_ssl, &sim_group_cch,
    &sim_group_mqtt,  &sim_group_gnss,  &sim_group_http,
};

const size_t sim_group_count = sizeof(sim_groups) / sizeof(sim_groups[0]);

const struct sim_cmd *sim_find_cmd(const char *name, const struct sim_group **group)
{
    for (size_t g = 0; g < sim_group_count; g++) {
        const struct sim_group *grp = sim_groups[g];
        for (size_t i = 0; i < grp->cmd_count; i++) {
            if (strcmp(grp->cmds[i].name, name) == 0) {
                if (group != NULL) {
                    *group = grp;
                }
                return &grp->cmds[i];
            }
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
