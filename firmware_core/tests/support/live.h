/*
 * live.h - processes for the firmware's live tests: spawn a program with its
 * output on a pipe, wait for text in that output (real-time guard only), stop
 * them all, talk to the simulator's control socket, find a free port.
 */
#ifndef FW_TEST_LIVE_H
#define FW_TEST_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** A program started by live_spawn(). */
struct live_child {
    pid_t pid;
    int out;                 /* stdout and stderr of the child */
    char seen[65536];        /* everything read so far */
    size_t len;
};

/** Monotonic real time in ms (for hang guards only). */
int64_t live_real_ms(void);
/** A free TCP port on 127.0.0.1. */
int live_free_port(void);
/** Start argv[0] with stdout and stderr on c->out (killed when the test dies). */
void live_spawn(struct live_child *c, char *const argv[]);
/** Read c's output until needle shows up; false after guard_ms or when it ended. */
bool live_wait_for(struct live_child *c, const char *needle, int64_t guard_ms);
/** SIGTERM, reap and forget every started child of the array. */
void live_stop_children(struct live_child *children, size_t count);
/** Send one control verb to the simulator's socket at path and read its reply line. */
void live_control(const char *path, const char *verb, char *reply, size_t cap);
/** Publish text on topic at QoS 1 as the cloud, through the broker's admin
 *  listener on 127.0.0.1:admin_port (mosquitto_pub, user "cloud" with
 *  password); fails the test unless mosquitto_pub succeeds. */
void live_cloud_publish(const char *admin_port, const char *password, const char *topic,
                        const char *text);

#endif /* FW_TEST_LIVE_H */
