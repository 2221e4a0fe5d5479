/*
 * shm_fixture.c -- what the shm unit tests share: segment files under the
 * run's temporary directory, a clock, memory shared with forked children.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "shm_tests.h"

char ph_shm_fx_base[64];

void ph_shm_fx_path(char *path, size_t len, const char *stem)
{
    static unsigned serial;

    snprintf(path, len, "%s/%s.%ld.%u.shm", ph_shm_fx_base, stem,
             (long)getpid(), serial++);
}

void ph_shm_fx_open(ph_shm_fx *fx, uint32_t envs, uint32_t children,
                    uint32_t muxes, uint32_t tickets)
{
    ph_shm_geometry g;

    g.env_capacity = envs;
    g.child_capacity = children;
    g.mux_capacity = muxes;
    g.tickets_per_partition = tickets;
    ph_shm_fx_path(fx->path, sizeof(fx->path), "seg");
    CU_ASSERT_FATAL(ph_shm_create(&fx->shm, fx->path, &g, (gid_t)-1) == 0);
}

void ph_shm_fx_close(ph_shm_fx *fx)
{
    if (fx->shm.magic == PH_SHM_MAP_MAGIC) {
        ph_shm_unlink_env_files(&fx->shm);
    }
    ph_shm_unmap(&fx->shm);
    unlink(fx->path);
}

int64_t ph_shm_fx_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void *ph_shm_fx_shared_page(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    CU_ASSERT_FATAL(p != MAP_FAILED);
    memset(p, 0, size);
    return p;
}
