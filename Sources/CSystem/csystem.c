#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>
#include "csystem.h"

int troupe_accept4(int fd, int flags) { return accept4(fd, NULL, NULL, flags); }

int troupe_pin_current_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

int troupe_schedule_current_thread_idle(void) {
    struct sched_param parameters = {.sched_priority = 0};
    return sched_setscheduler(0, SCHED_IDLE, &parameters);
}

int troupe_pipe(int fds[2], int flags) { return pipe2(fds, flags); }
