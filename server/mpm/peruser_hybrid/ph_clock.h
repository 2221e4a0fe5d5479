/*
 * ph_clock.h -- the monotonic millisecond clock every deadline in the MPM
 * uses (timeouts must not jump with the wall clock), and the process's CPU
 * time for debug timings.
 */
#ifndef PH_CLOCK_H
#define PH_CLOCK_H

#include <time.h>

static inline long long ph_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The CPU time this process has used (all its threads), in microseconds:
 * for debug timings that the machine's other load does not inflate (a
 * forked child starts from 0; an exec keeps the count). */
static inline long long ph_cpu_us(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
        return -1;
    }
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif /* PH_CLOCK_H */
