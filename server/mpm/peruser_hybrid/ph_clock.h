/*
 * ph_clock.h -- the monotonic millisecond clock every deadline in the MPM
 * uses (timeouts must not jump with the wall clock).
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

#endif /* PH_CLOCK_H */
