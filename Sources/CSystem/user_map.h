// The user namespace's id maps (user_map.c), for the launcher alone.
#ifndef TROUPE_USER_MAP_H
#define TROUPE_USER_MAP_H

#include <sys/types.h>

/// In a user namespace just unshared: maps `uid` and `gid` inside to `outer_uid` and
/// `outer_gid`, the caller's own ids outside (the one mapping an unprivileged process may
/// write), with setgroups denied first as the kernel requires. The caller is briefly dumpable:
/// a process that is not has its /proc files owned by root, which the namespace cannot write.
/// 0, or -1 with errno.
int troupe_map_user(uid_t outer_uid, gid_t outer_gid, uid_t uid, gid_t gid);

#endif
