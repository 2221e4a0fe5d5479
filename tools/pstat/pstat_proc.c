/*
 * pstat_proc.c -- what the kernel says of the server's processes: CPU
 * time and memory of each child (/proc/PID/stat, statm, smaps_rollup,
 * status), and whether the process that wrote the segment still runs.
 *
 * These figures do not come from the segment, so a processor cannot make
 * them up; they come from the kernel, as far as the user running pstat
 * may read them: stat, statm and status are readable by anyone, Pss
 * (smaps_rollup) only by root or the process's own user, so PSS is
 * "unknown" (-1) otherwise.  Every file is read with a bounded buffer and
 * parsed defensively: a process can exit between two reads, or its comm
 * (in stat) can hold spaces and parentheses.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pstat.h"

/* A /proc file into buf (NUL-terminated): its length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
    ssize_t n, got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -1;
    }
    while ((size_t)got < len - 1) {
        n = read(fd, buf + got, len - 1 - (size_t)got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += n;
    }
    close(fd);
    buf[got] = '\0';
    return got > 0 ? got : -1;
}

long pstat_proc_hz(void)
{
    static long hz;

    if (hz <= 0) {
        hz = sysconf(_SC_CLK_TCK);
        if (hz <= 0) {
            hz = 100;
        }
    }
    return hz;
}

/* Fields of /proc/PID/stat after "(comm)": field 3 (state) is words[0].
 * utime 14, stime 15, starttime 22. */
static int read_stat(int32_t pid, uint64_t *cpu, uint64_t *start,
                     char *state)
{
    char path[64], buf[1024], *p, *end;
    unsigned long long v;
    int field;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof(buf)) < 0
        || (p = strrchr(buf, ')')) == NULL) {
        return -1;
    }
    *cpu = 0;
    *start = 0;
    p++;
    *state = p[0] == ' ' ? p[1] : '?';
    for (field = 3; field <= 22; field++) {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            return -1;
        }
        errno = 0;
        v = strtoull(p, &end, 10);
        if (field == 14 || field == 15) {
            if (end == p || errno != 0) {
                return -1;
            }
            *cpu += v;
        }
        else if (field == 22) {
            if (end == p || errno != 0) {
                return -1;
            }
            *start = v;
        }
        p = strchr(p, ' ');
        if (p == NULL && field < 22) {
            return -1;
        }
        if (p == NULL) {
            break;
        }
    }
    return 0;
}

/* Resident bytes from statm (its second number, in pages). */
static int64_t read_rss(int32_t pid)
{
    char path[64], buf[256];
    unsigned long long size, resident;

    snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
    if (read_small(path, buf, sizeof(buf)) < 0
        || sscanf(buf, "%llu %llu", &size, &resident) != 2) {
        return -1;
    }
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

/* "Pss: N kB" from smaps_rollup, or -1 (not readable for this user). */
static int64_t read_pss(int32_t pid)
{
    char path[64], buf[4096], *p;
    unsigned long long kb;

    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    if (read_small(path, buf, sizeof(buf)) < 0
        || (p = strstr(buf, "\nPss:")) == NULL
        || sscanf(p + 5, "%llu", &kb) != 1) {
        return -1;
    }
    return (int64_t)kb * 1024;
}

/* The effective uid, from the "Uid:" line of status. */
static int64_t read_uid(int32_t pid)
{
    char path[64], buf[4096], *p;
    unsigned long real, eff;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (read_small(path, buf, sizeof(buf)) < 0
        || (p = strstr(buf, "\nUid:")) == NULL
        || sscanf(p + 5, "%lu %lu", &real, &eff) != 2) {
        return -1;
    }
    return (int64_t)eff;
}

int pstat_proc_read(int32_t pid, pstat_proc *out)
{
    char state;

    memset(out, 0, sizeof(*out));
    out->pid = pid;
    out->rss_bytes = -1;
    out->pss_bytes = -1;
    out->uid = -1;
    if (pid <= 0
        || read_stat(pid, &out->cpu_ticks, &out->start_ticks, &state) != 0) {
        return -1;
    }
    out->ok = 1;
    out->rss_bytes = read_rss(pid);
    out->pss_bytes = read_pss(pid);
    out->uid = read_uid(pid);
    return 0;
}

/* When the machine booted, wall clock seconds: the wall clock now less
 * the time since boot (/proc/stat's btime line can sit past the first
 * pages of a big machine's file). */
static double boot_time_s(void)
{
    struct timespec wall, boot;

    if (clock_gettime(CLOCK_REALTIME, &wall) != 0
        || clock_gettime(CLOCK_BOOTTIME, &boot) != 0) {
        return -1.0;
    }
    return (double)(wall.tv_sec - boot.tv_sec)
           + (double)(wall.tv_nsec - boot.tv_nsec) / 1e9;
}

/*
 * The writer of the segment is its creator, the server's parent: if no
 * process has its pid, or it is a zombie (killed, not yet reaped: in a
 * container whose init does not reap), or the process with that pid
 * started after the segment was born (the pid was reused), the server is
 * dead and the figures in the segment are frozen.  kill(pid, 0) failing with EPERM
 * still says the process exists.
 */
int pstat_server_alive(int64_t pid, int64_t birth_time_us)
{
    uint64_t cpu, start;
    double boot;
    char state;
    double started_s;

    if (pid <= 0 || pid > INT32_MAX) {
        return 0;
    }
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
        return 0;
    }
    if (read_stat((int32_t)pid, &cpu, &start, &state) != 0) {
        return 1;               /* exists, but /proc hidden: trust kill */
    }
    if (state == 'Z' || state == 'X') {
        return 0;               /* killed, not yet reaped */
    }
    boot = boot_time_s();
    if (boot < 0.0 || birth_time_us <= 0) {
        return 1;
    }
    started_s = boot + (double)start / (double)pstat_proc_hz();
    /* The parent creates the segment after it started; a process that
     * started later holds a reused pid.  Two seconds of slack for the
     * rounding of btime. */
    return started_s <= (double)birth_time_us / 1e6 + 2.0;
}
