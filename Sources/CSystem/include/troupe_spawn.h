// Starting a sandboxed command without fork() in Swift: the launcher process (spawn.c).
#ifndef TROUPE_SPAWN_H
#define TROUPE_SPAWN_H

#include <sys/types.h>

/// CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID (spelt out: <sched.h> has them only with _GNU_SOURCE).
enum { TROUPE_NAMESPACES = 0x00020000 | 0x40000000 | 0x20000000 };
/// CLONE_NEWUSER.
enum { TROUPE_NEW_USER_NAMESPACE = 0x10000000 };

/// Resource limits of the command, each soft = hard; a negative value leaves that limit as it is.
struct troupe_spawn_limits {
    long long cpu_seconds;
    long long address_space_bytes;
    long long file_size_bytes;
    long long processes;
    long long open_files;
};

/// What to run, where, and under which limits. Every list is NULL-terminated.
struct troupe_spawn_request {
    /// Paths to try in order with execve(2) (argv[0] resolved against PATH by the caller).
    char *const *candidates;
    char *const *argv;
    char *const *envp;
    /// The sandbox's private directory: the command's working directory.
    const char *directory;
    /// With a mount namespace: where the command's new root is built (a fresh tmpfs mounted
    /// over this directory, the sandboxes' root, in the command's namespace only); may be NULL
    /// without one.
    const char *staging;
    /// Directories (or symbolic links, such as /bin on a merged /usr) bound read-only into the
    /// new root at their own paths; NULL-terminated; may be NULL.
    char *const *read_only_paths;
    /// The command's standard input, output and error (the child's ends of pipes).
    int stdin_fd, stdout_fd, stderr_fd;
    /// Where the launcher writes its `troupe_spawn_report`s.
    int report_fd;
    struct troupe_spawn_limits limits;
    /// Whether the command runs as `uid` and `gid` (else it keeps the server's identity). A flag
    /// of its own, since every uid_t but (uid_t)-1 is a uid. With `user_namespace` they are the
    /// ids inside the namespace, mapped to the server's own.
    int has_user;
    uid_t uid;
    gid_t gid;
    /// CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID, or any subset (0: no namespaces). With
    /// CLONE_NEWNS the command gets the read-only root built at `staging`.
    int namespaces;
    /// Whether the launcher first unshares a user namespace of its own (CLONE_NEWUSER), mapping
    /// `uid` and `gid` inside to the server's (no root needed).
    int user_namespace;
    /// Open `cgroup.procs` files of the sandbox's control groups (one per hierarchy; none when
    /// the server has no cgroups to give): the launcher joins each before anything else, so the
    /// command and all it starts are counted and bounded there.
    const int *cgroup_fds;
    int cgroup_fd_count;
};

/// The launcher's reports, in this order: one `started` or `failed`, then one `exited`.
enum troupe_spawn_report_kind {
    /// `value`: the command's pid.
    TROUPE_SPAWN_STARTED = 1,
    /// `value`: errno; `detail`: the `troupe_spawn_stage` that failed.
    TROUPE_SPAWN_FAILED = 2,
    /// `value`: the command's wait status; `detail`: 1 when it was stopped by SIGTERM to the
    /// launcher (timeout, delete, cancel), else 0.
    TROUPE_SPAWN_EXITED = 3,
};

/// The step of the launcher's setup that failed.
enum troupe_spawn_stage {
    TROUPE_STAGE_PARENT_GONE = 1,
    TROUPE_STAGE_NAMESPACES = 2,
    TROUPE_STAGE_MOUNTS = 3,
    TROUPE_STAGE_DIRECTORY = 4,
    TROUPE_STAGE_DESCRIPTORS = 5,
    TROUPE_STAGE_FORK = 6,
    TROUPE_STAGE_LIMITS = 7,
    TROUPE_STAGE_IDENTITY = 8,
    TROUPE_STAGE_EXEC = 9,
    TROUPE_STAGE_USER_MAP = 10,
    TROUPE_STAGE_CGROUP = 11,
};

/// One report: three 32-bit integers, written at once (below PIPE_BUF, so never torn).
struct troupe_spawn_report {
    int kind;
    int value;
    int detail;
};

/// Forks the launcher for `request`: returns its pid and stores a pidfd for it in `*pidfd`, or
/// returns -1 with errno. Call from a thread that lives as long as the command may (the
/// launcher's parent-death signal follows the thread that forked it).
///
/// The launcher is a subreaper in its own process group, keeps the server's identity, and
/// vforks the command, which stays in the launcher's group and gets the limits, the uid and gid, an
/// environment of exactly `envp`, and SIGKILL when the launcher dies. When the command exits,
/// or the launcher gets SIGTERM, the launcher kills every process the command left (its
/// descendants, its group, and every process of `uid` when that is the sandbox's own), reaps
/// them, reports, and exits.
pid_t troupe_spawn(const struct troupe_spawn_request *request, int *pidfd);

/// Unshares `flags` in a throwaway child (with `user_namespace`, inside a user namespace of its
/// own, its ids mapped as the launcher maps them) and makes its mounts private: 0 when that
/// worked, else an errno.
int troupe_probe_namespaces(int flags, int user_namespace);

/// Makes this process not dumpable (prctl PR_SET_DUMPABLE 0): its /proc files (environ, mem)
/// belong to root and no process of the same uid may attach to it. 0 or -1 with errno.
int troupe_set_not_dumpable(void);

#endif
