// Linux calls the Swift Glibc module does not export (they need _GNU_SOURCE).
#ifndef TROUPE_CSYSTEM_H
#define TROUPE_CSYSTEM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>

/// accept4(2) with no peer address: the new fd gets `flags` (SOCK_NONBLOCK | SOCK_CLOEXEC)
/// atomically, so no other thread's fork/exec can inherit it in between.
int troupe_accept4(int fd, int flags);

/// Pins the calling thread to core `cpu` (sched_setaffinity(2)); 0 or -1 with errno.
int troupe_pin_current_thread(int cpu);

/// Moves the calling thread to SCHED_IDLE (sched(7)): it runs only when no normal thread wants
/// the CPU. 0 or -1 with errno.
int troupe_schedule_current_thread_idle(void);

/// pipe2(2): both ends get `flags` (O_CLOEXEC, O_NONBLOCK) atomically.
int troupe_pipe(int fds[2], int flags);

#endif
