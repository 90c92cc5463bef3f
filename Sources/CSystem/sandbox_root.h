// The sandbox's root filesystem (sandbox_root.c), for the launcher alone.
#ifndef TROUPE_SANDBOX_ROOT_H
#define TROUPE_SANDBOX_ROOT_H

/// In a mount namespace of the caller's own, with the working directory at `directory`: builds
/// a new root on a tmpfs mounted over `staging` (read-only binds of `read_only_paths`, /dev,
/// /tmp, an empty /proc for the command to mount, `directory` bound writable at its own path),
/// pivots into it with the old root at /.old, and changes to `directory`. 0, or -1 with errno.
int troupe_build_root(const char *staging, const char *directory, char *const *read_only_paths);

/// Detaches the old root (/.old) once the command has mounted its /proc. 0, or -1 with errno.
int troupe_leave_old_root(void);

#endif
