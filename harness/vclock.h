/*
 * vclock — the shared virtual clock of a cellbench run (DESIGN.md §Time).
 *
 * The harness owns a small file holding an anchor (virtual time, the host's
 * CLOCK_MONOTONIC at that instant, and a rate) guarded by a sequence counter
 * (a seqlock). Every other component (simulator, broker plugin, firmware host
 * port) maps the file read-only and computes
 *
 *     virtual = anchor_virtual + (monotonic_now - anchor_monotonic) * rate
 *
 * without any round trip. A jump or a rate change is one re-anchoring.
 * A NULL clock means real time (CLOCK_REALTIME) at rate 1 everywhere.
 *
 * File layout (little-endian host order, 64 bytes):
 *   0  char     magic[8]  "CBVCLK01"
 *   8  uint64   seq       odd while the writer is re-anchoring
 *   16 int64    anchor_virtual_ns   virtual Unix time in ns
 *   24 int64    anchor_mono_ns      CLOCK_MONOTONIC in ns at the anchor
 *   32 int64    rate_micro          rate x 1,000,000 (0 = frozen)
 *   40..63      reserved, zero
 */
#ifndef CELLBENCH_VCLOCK_H
#define CELLBENCH_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size in bytes of a clock file. */
#define VCLOCK_FILE_SIZE 64

/** Rate scale: a rate of 1.0 is stored as VCLOCK_RATE_ONE. */
#define VCLOCK_RATE_ONE 1000000LL

/** Nanoseconds per second and per millisecond. */
#define VCLOCK_NS_PER_S  1000000000LL
#define VCLOCK_NS_PER_MS 1000000LL

/** An open virtual clock (file-backed or private to the process). */
struct vclock;

/**
 * Create (or take over) the clock file at path as its owner, anchored at
 * virtual_ns with the given rate (rate_micro = rate x 1e6).
 * Returns NULL and sets errno on failure.
 */
struct vclock *vclock_create(const char *path, int64_t virtual_ns, int64_t rate_micro);

/**
 * Open an existing clock file read-only. Returns NULL and sets errno on
 * failure (EINVAL when the file is not a clock file).
 */
struct vclock *vclock_open(const char *path);

/**
 * Make a clock private to this process (for tests and for programs run
 * without a clock file), anchored at virtual_ns with rate_micro. Writable.
 */
struct vclock *vclock_new_private(int64_t virtual_ns, int64_t rate_micro);

/** Close a clock. The owner does not remove the file. NULL is ignored. */
void vclock_close(struct vclock *clock);

/** Current virtual Unix time in nanoseconds; real time when clock is NULL. */
int64_t vclock_now_ns(const struct vclock *clock);

/** Current virtual Unix time in milliseconds; real time when clock is NULL. */
int64_t vclock_now_ms(const struct vclock *clock);

/** Current rate x 1e6 (VCLOCK_RATE_ONE when clock is NULL). */
int64_t vclock_rate_micro(const struct vclock *clock);

/**
 * Sequence number of the current anchor: it changes whenever the owner jumps
 * or changes the rate, so a waiter can tell that its deadlines moved.
 */
uint64_t vclock_generation(const struct vclock *clock);

/**
 * Real nanoseconds until virtual time reaches virtual_deadline_ns at the
 * current rate: 0 when already reached, -1 when the clock is frozen (rate 0).
 */
int64_t vclock_real_ns_until(const struct vclock *clock, int64_t virtual_deadline_ns);

/**
 * Re-anchor: from now on virtual time is virtual_ns advancing at rate_micro.
 * Returns 0, or -1 with errno EPERM for a read-only clock, EINVAL for a
 * negative rate.
 */
int vclock_set(struct vclock *clock, int64_t virtual_ns, int64_t rate_micro);

/** Move virtual time by delta_ns (may be negative) keeping the rate. Returns as vclock_set. */
int vclock_jump(struct vclock *clock, int64_t delta_ns);

/** Change the rate keeping the current virtual time. Returns as vclock_set. */
int vclock_set_rate(struct vclock *clock, int64_t rate_micro);

/** Parse a rate like "1", "1000", "0.5" or "1000x" into rate_micro. Returns 0 or -1. */
int vclock_parse_rate(const char *text, int64_t *rate_micro);

/** Host CLOCK_MONOTONIC in nanoseconds (the reference every clock file is anchored to). */
int64_t vclock_monotonic_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* CELLBENCH_VCLOCK_H */
