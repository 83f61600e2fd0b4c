/* vclock — shared virtual clock: a seqlock-guarded anchor in a mapped file. */
#include "vclock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char vclock_magic[8] = { 'C', 'B', 'V', 'C', 'L', 'K', '0', '1' };

/* The mapped layout; every field is accessed with __atomic builtins. */
struct vclock_shared {
    char magic[8];
    uint64_t seq;
    int64_t anchor_virtual_ns;
    int64_t anchor_mono_ns;
    int64_t rate_micro;
    int64_t reserved[3];
};

struct vclock {
    struct vclock_shared *shared;
    bool writable;
    bool mapped; /* false: private, heap memory */
};

_Static_assert(sizeof(struct vclock_shared) == VCLOCK_FILE_SIZE, "clock file layout");

int64_t vclock_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * VCLOCK_NS_PER_S + ts.tv_nsec;
}

static int64_t real_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * VCLOCK_NS_PER_S + ts.tv_nsec;
}

/* A consistent copy of the anchor (seqlock read side). */
struct anchor {
    uint64_t seq;
    int64_t virtual_ns;
    int64_t mono_ns;
    int64_t rate_micro;
};

static struct anchor read_anchor(const struct vclock_shared *s)
{
    struct anchor a;
    for (;;) {
        uint64_t before = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        if (before & 1u) {
            continue; /* writer in progress: it is a handful of stores */
        }
        a.virtual_ns = __atomic_load_n(&s->anchor_virtual_ns, __ATOMIC_RELAXED);
        a.mono_ns = __atomic_load_n(&s->anchor_mono_ns, __ATOMIC_RELAXED);
        a.rate_micro = __atomic_load_n(&s->rate_micro, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == before) {
            a.seq = before;
            return a;
        }
    }
}

static void write_anchor(struct vclock_shared *s, int64_t virtual_ns, int64_t mono_ns, int64_t rate_micro)
{
    uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&s->anchor_virtual_ns, virtual_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&s->anchor_mono_ns, mono_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&s->rate_micro, rate_micro, __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

static int64_t virtual_at(const struct anchor *a, int64_t mono_ns)
{
    __int128 elapsed = (__int128)(mono_ns - a->mono_ns) * a->rate_micro / VCLOCK_RATE_ONE;
    return a->virtual_ns + (int64_t)elapsed;
}

struct vclock *vclock_create(const char *path, int64_t virtual_ns, int64_t rate_micro)
{
    if (rate_micro < 0) {
        errno = EINVAL;
        return NULL;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return NULL;
    }
    if (ftruncate(fd, VCLOCK_FILE_SIZE) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    void *map = mmap(NULL, VCLOCK_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int saved = errno;
    close(fd);
    if (map == MAP_FAILED) {
        errno = saved;
        return NULL;
    }
    struct vclock *clock = calloc(1, sizeof(*clock));
    if (clock == NULL) {
        munmap(map, VCLOCK_FILE_SIZE);
        errno = ENOMEM;
        return NULL;
    }
    clock->shared = map;
    clock->writable = true;
    clock->mapped = true;
    write_anchor(clock->shared, virtual_ns, vclock_monotonic_ns(), rate_micro);
    memcpy(clock->shared->magic, vclock_magic, sizeof(vclock_magic));
    return clock;
}

struct vclock *vclock_open(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < VCLOCK_FILE_SIZE) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    void *map = mmap(NULL, VCLOCK_FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    int saved = errno;
    close(fd);
    if (map == MAP_FAILED) {
        errno = saved;
        return NULL;
    }
    if (memcmp(map, vclock_magic, sizeof(vclock_magic)) != 0) {
        munmap(map, VCLOCK_FILE_SIZE);
        errno = EINVAL;
        return NULL;
    }
    struct vclock *clock = calloc(1, sizeof(*clock));
    if (clock == NULL) {
        munmap(map, VCLOCK_FILE_SIZE);
        errno = ENOMEM;
        return NULL;
    }
    clock->shared = map;
    clock->mapped = true;
    return clock;
}

struct vclock *vclock_new_private(int64_t virtual_ns, int64_t rate_micro)
{
    if (rate_micro < 0) {
        errno = EINVAL;
        return NULL;
    }
    struct vclock *clock = calloc(1, sizeof(*clock));
    struct vclock_shared *shared = calloc(1, sizeof(*shared));
    if (clock == NULL || shared == NULL) {
        free(clock);
        free(shared);
        errno = ENOMEM;
        return NULL;
    }
    memcpy(shared->magic, vclock_magic, sizeof(vclock_magic));
    clock->shared = shared;
    clock->writable = true;
    write_anchor(shared, virtual_ns, vclock_monotonic_ns(), rate_micro);
    return clock;
}

void vclock_close(struct vclock *clock)
{
    if (clock == NULL) {
        return;
    }
    if (clock->mapped) {
        munmap(clock->shared, VCLOCK_FILE_SIZE);
    } else {
        free(clock->shared);
    }
    free(clock);
}

int64_t vclock_now_ns(const struct vclock *clock)
{
    if (clock == NULL) {
        return real_now_ns();
    }
    struct anchor a = read_anchor(clock->shared);
    return virtual_at(&a, vclock_monotonic_ns());
}

int64_t vclock_now_ms(const struct vclock *clock)
{
    int64_t ns = vclock_now_ns(clock);
    return ns >= 0 ? ns / VCLOCK_NS_PER_MS : -((-ns + VCLOCK_NS_PER_MS - 1) / VCLOCK_NS_PER_MS);
}

int64_t vclock_rate_micro(const struct vclock *clock)
{
    if (clock == NULL) {
        return VCLOCK_RATE_ONE;
    }
    return read_anchor(clock->shared).rate_micro;
}

uint64_t vclock_generation(const struct vclock *clock)
{
    if (clock == NULL) {
        return 0;
    }
    return read_anchor(clock->shared).seq;
}

int64_t vclock_real_ns_until(const struct vclock *clock, int64_t virtual_deadline_ns)
{
    int64_t now = vclock_now_ns(clock);
    if (virtual_deadline_ns <= now) {
        return 0;
    }
    int64_t rate = vclock_rate_micro(clock);
    if (rate == 0) {
        return -1;
    }
    __int128 real = (__int128)(virtual_deadline_ns - now) * VCLOCK_RATE_ONE / rate;
    if (real > INT64_MAX) {
        return INT64_MAX;
    }
    return real < 1 ? 1 : (int64_t)real;
}

int vclock_set(struct vclock *clock, int64_t virtual_ns, int64_t rate_micro)
{
    if (clock == NULL || !clock->writable) {
        errno = EPERM;
        return -1;
    }
    if (rate_micro < 0) {
        errno = EINVAL;
        return -1;
    }
    write_anchor(clock->shared, virtual_ns, vclock_monotonic_ns(), rate_micro);
    return 0;
}

int vclock_jump(struct vclock *clock, int64_t delta_ns)
{
    if (clock == NULL || !clock->writable) {
        errno = EPERM;
        return -1;
    }
    struct anchor a = read_anchor(clock->shared);
    int64_t mono = vclock_monotonic_ns();
    write_anchor(clock->shared, virtual_at(&a, mono) + delta_ns, mono, a.rate_micro);
    return 0;
}

int vclock_set_rate(struct vclock *clock, int64_t rate_micro)
{
    if (clock == NULL || !clock->writable) {
        errno = EPERM;
        return -1;
    }
    if (rate_micro < 0) {
        errno = EINVAL;
        return -1;
    }
    struct anchor a = read_anchor(clock->shared);
    int64_t mono = vclock_monotonic_ns();
    write_anchor(clock->shared, virtual_at(&a, mono), mono, rate_micro);
    return 0;
}

int vclock_parse_rate(const char *text, int64_t *rate_micro)
{
    if (text == NULL || *text == '\0') {
        return -1;
    }
    char *end = NULL;
    errno = 0;
    double rate = strtod(text, &end);
    if (errno != 0 || end == text) {
        return -1;
    }
    if (*end == 'x' || *end == 'X') {
        end++;
    }
    if (*end != '\0' || !(rate >= 0.0) || rate > 1e9) {
        return -1;
    }
    *rate_micro = (int64_t)(rate * (double)VCLOCK_RATE_ONE + 0.5);
    return 0;
}
