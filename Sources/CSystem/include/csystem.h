// Linux calls the Swift Glibc module does not export (they need _GNU_SOURCE).
#ifndef TROUPE_CSYSTEM_H
#define TROUPE_CSYSTEM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>

/// accept4(2) with no peer address: the new fd gets `flags` (SOCK_NONBLOCK | SOCK_CLOEXEC)
/// atomically, so no other thread's fork/exec can inherit it in between.
int troupe_accept4(int fd, int flags);

#endif
