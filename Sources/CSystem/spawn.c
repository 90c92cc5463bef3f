// The sandbox launcher. Everything between the fork and the end of the launcher uses system
// calls only: the server has many threads, so its copy may hold any lock of theirs (malloc's
// among them), and nothing here takes one.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sandbox_root.h"
#include "user_map.h"
#include "troupe_spawn.h"

_Static_assert(TROUPE_NAMESPACES == (CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID), "namespace flags");

/// Set by SIGTERM in the launcher: stop the command now.
static volatile sig_atomic_t stop_requested = 0;

static void on_stop(int signal_number) {
    (void)signal_number;
    stop_requested = 1;
}

static void send_report(int fd, int kind, int value, int detail) {
    struct troupe_spawn_report report = {kind, value, detail};
    ssize_t written;
    do {
        written = write(fd, &report, sizeof report);
    } while (written < 0 && errno == EINTR);
}

static _Noreturn void fail(int fd, int stage) {
    send_report(fd, TROUPE_SPAWN_FAILED, errno, stage);
    send_report(fd, TROUPE_SPAWN_EXITED, 127 << 8, 0);
    _exit(127);
}

static int set_limit(int resource, long long value) {
    if (value < 0) return 0;
    struct rlimit limit = {(rlim_t)value, (rlim_t)value};
    return setrlimit(resource, &limit);
}

/// Reads a small /proc file into `buffer` (NUL-terminated); the length, or -1.
static ssize_t read_proc_file(int proc_fd, const char *pid_name, const char *file, char *buffer, size_t size) {
    char path[64];
    size_t used = 0;
    for (const char *c = pid_name; *c && used < sizeof path - 16; c++) path[used++] = *c;
    path[used++] = '/';
    for (const char *c = file; *c && used < sizeof path - 1; c++) path[used++] = *c;
    path[used] = 0;
    int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t length = read(fd, buffer, size - 1);
    close(fd);
    if (length < 0) return -1;
    buffer[length] = 0;
    return length;
}

static long parse_long(const char **cursor) {
    const char *c = *cursor;
    while (*c == ' ' || *c == '\t') c++;
    long value = 0;
    while (*c >= '0' && *c <= '9') value = value * 10 + (*c++ - '0');
    *cursor = c;
    return value;
}

/// Whether process `pid_name` belongs to the command: a child of the launcher, or in the
/// command's process group.
static int belongs_to_command(int proc_fd, const char *pid_name, pid_t launcher, pid_t group) {
    char buffer[1024];
    if (read_proc_file(proc_fd, pid_name, "stat", buffer, sizeof buffer) <= 0) return 0;
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
    const char *close_paren = strrchr(buffer, ')');
    if (!close_paren || close_paren[1] != ' ' || !close_paren[2]) return 0;
    const char *cursor = close_paren + 3;
    while (*cursor && *cursor != ' ') cursor++;
    long parent = parse_long(&cursor);
    long process_group = parse_long(&cursor);
    return parent == launcher || process_group == group;
}

/// SIGKILLs every process that belongs to the command (see `belongs_to_command`).
static void kill_listed(int proc_fd, pid_t launcher, pid_t group) {
    char entries[4096];
    if (lseek(proc_fd, 0, SEEK_SET) < 0) return;
    for (;;) {
        long length = syscall(SYS_getdents64, proc_fd, entries, sizeof entries);
        if (length <= 0) return;
        for (long offset = 0; offset < length;) {
            struct {
                unsigned long long inode;
                long long next;
                unsigned short length;
                unsigned char type;
                char name[];
            } *entry = (void *)(entries + offset);
            offset += entry->length;
            if (entry->name[0] < '1' || entry->name[0] > '9') continue;
            const char *cursor = entry->name;
            long pid = parse_long(&cursor);
            if (*cursor || pid == launcher) continue;
            if (belongs_to_command(proc_fd, entry->name, launcher, group)) kill((pid_t)pid, SIGKILL);
        }
    }
}

/// SIGKILLs every process of `uid` at once: a helper that becomes `uid` and signals -1, which
/// reaches exactly the processes that uid may signal (its own), atomically with respect to
/// fork, so a fork bomb cannot outrun it.
static void kill_user(uid_t uid) {
    pid_t helper = vfork();
    if (helper == 0) {
        if (syscall(SYS_setresuid, uid, uid, uid) == 0) kill(-1, SIGKILL);
        _exit(0);
    }
    if (helper > 0) waitpid(helper, NULL, __WALL);
}

/// Kills and reaps everything the command left; records the command's own status if it is
/// reaped here. In a pid namespace of its own the command is the namespace's init, and the
/// kernel kills every other process in it when the command dies: nothing else to find. Else,
/// with a uid of its own, every process of that uid goes; else (no root) /proc is searched for
/// the launcher's children and group.
static void end_command(int proc_fd, pid_t command, const struct troupe_spawn_request *request, int own_pid_namespace,
                        int *status, int *reaped) {
    pid_t launcher = getpid();
    for (;;) {
        kill(command, SIGKILL);
        if (!own_pid_namespace) {
            if (request->has_user) {
                kill_user(request->uid);
            } else if (proc_fd >= 0) {
                // The command shares the launcher's group: every member but the launcher.
                kill_listed(proc_fd, launcher, launcher);
            }
        }
        int child_status = 0;
        pid_t pid = waitpid(-1, &child_status, __WALL);
        if (pid < 0 && errno == ECHILD) return;
        if (pid == command) {
            *status = child_status;
            *reaped = 1;
        }
    }
}

/// The command's side of the vfork: limits, identity, exec. Writes only `*exec_error`.
static _Noreturn void exec_command(const struct troupe_spawn_request *request, volatile int *exec_error,
                                   volatile int *exec_stage) {
    if ((request->namespaces & CLONE_NEWPID) && (request->namespaces & CLONE_NEWNS)) {
        // Pid 1 of its own namespace: a /proc that shows only the sandbox's processes. The old
        // root goes only after: a user namespace may mount a proc only while one is visible.
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0 || troupe_leave_old_root() != 0) {
            *exec_error = errno;
            *exec_stage = TROUPE_STAGE_MOUNTS;
            _exit(127);
        }
    }
    // The first the kernel kills when the sandbox's group runs out of memory, before the
    // launcher that must clean up after it (raising it needs no privilege; children inherit it).
    if (request->cgroup_fd_count > 0) {
        int score = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (score < 0 || write(score, "1000", 4) != 4) {
            *exec_error = errno;
            *exec_stage = TROUPE_STAGE_CGROUP;
            _exit(127);
        }
        close(score);
    }
    const struct troupe_spawn_limits *limits = &request->limits;
    if (set_limit(RLIMIT_CPU, limits->cpu_seconds) || set_limit(RLIMIT_AS, limits->address_space_bytes) ||
        set_limit(RLIMIT_FSIZE, limits->file_size_bytes) || set_limit(RLIMIT_NPROC, limits->processes) ||
        set_limit(RLIMIT_NOFILE, limits->open_files) || set_limit(RLIMIT_CORE, 0)) {
        *exec_error = errno;
        *exec_stage = TROUPE_STAGE_LIMITS;
        _exit(127);
    }
    // Far below the server's threads (SCHED_BATCH at nice 19: a share of 15 against a thread's
    // 1024, and a waking server thread preempts it): a command (a fork bomb, a spin) runs on
    // what the server leaves, yet a killed one still gets the moment it needs to exit, which
    // SCHED_IDLE denied it on a busy host.
    struct sched_param batch = {.sched_priority = 0};
    if (sched_setscheduler(0, SCHED_BATCH, &batch) != 0 || setpriority(PRIO_PROCESS, 0, 19) != 0) {
        *exec_error = errno;
        *exec_stage = TROUPE_STAGE_LIMITS;
        _exit(127);
    }
    // Raw system calls: glibc's set*id wrappers signal every thread they think exists. In a user
    // namespace the launcher's map already made it `uid`: nothing to change.
    if (request->has_user && !request->user_namespace && (syscall(SYS_setgroups, 0, NULL) != 0 ||
                              syscall(SYS_setresgid, request->gid, request->gid, request->gid) != 0)) {
        *exec_error = errno;
        *exec_stage = TROUPE_STAGE_IDENTITY;
        _exit(127);
    }
    if (request->has_user && !request->user_namespace && syscall(SYS_setresuid, request->uid, request->uid, request->uid) != 0) {
        *exec_error = errno;
        *exec_stage = TROUPE_STAGE_IDENTITY;
        _exit(127);
    }
    // After the identity change, which clears it. No exec from here on gains a privilege (a
    // setuid program, file capabilities).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        *exec_error = errno;
        *exec_stage = TROUPE_STAGE_IDENTITY;
        _exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int error = ENOENT;
    for (char *const *candidate = request->candidates; *candidate; candidate++) {
        execve(*candidate, request->argv, request->envp);
        if (errno == EACCES) error = EACCES;
        else if (errno != ENOENT && errno != ENOTDIR) {
            error = errno;
            break;
        }
    }
    *exec_error = error;
    *exec_stage = TROUPE_STAGE_EXEC;
    _exit(127);
}

static int move_descriptors(const struct troupe_spawn_request *request) {
    int high[4] = {
        fcntl(request->stdin_fd, F_DUPFD, 10), fcntl(request->stdout_fd, F_DUPFD, 10),
        fcntl(request->stderr_fd, F_DUPFD, 10), fcntl(request->report_fd, F_DUPFD, 10),
    };
    for (int target = 0; target < 4; target++) {
        if (high[target] < 0 || dup2(high[target], target) < 0) return -1;
    }
    if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0) return -1;
    return (int)syscall(SYS_close_range, 4U, ~0U, 0U);
}

static _Noreturn void launcher(const struct troupe_spawn_request *request, pid_t server) {
    int report = request->report_fd;
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    for (int number = 1; number < _NSIG; number++) {
        if (number != SIGKILL && number != SIGSTOP) sigaction(number, &default_action, NULL);
    }
    struct sigaction stop_action;
    memset(&stop_action, 0, sizeof stop_action);
    stop_action.sa_handler = on_stop;  // no SA_RESTART: waitpid returns EINTR
    sigaction(SIGTERM, &stop_action, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != server) fail(report, TROUPE_STAGE_PARENT_GONE);
    // "0" names the writer: the launcher moves itself, before it starts anything.
    for (int index = 0; index < request->cgroup_fd_count; index++) {
        if (write(request->cgroup_fds[index], "0", 1) != 1) fail(report, TROUPE_STAGE_CGROUP);
    }
    setpgid(0, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (move_descriptors(request) != 0) fail(report, TROUPE_STAGE_DESCRIPTORS);
    report = 3;
    uid_t outer_uid = getuid();
    gid_t outer_gid = getgid();
    int user_flag = request->user_namespace ? TROUPE_NEW_USER_NAMESPACE : 0;
    if ((request->namespaces || user_flag) && unshare(request->namespaces | user_flag) != 0) fail(report, TROUPE_STAGE_NAMESPACES);
    if (user_flag && troupe_map_user(outer_uid, outer_gid, request->uid, request->gid) != 0) fail(report, TROUPE_STAGE_USER_MAP);
    // Searched only without a pid namespace or a uid of its own; opened before the command
    // mounts its own /proc, so that pids here are the launcher's.
    int own_pid_namespace = (request->namespaces & CLONE_NEWPID) != 0;
    int proc_fd = own_pid_namespace || request->has_user ? -1 : open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (chdir(request->directory) != 0) fail(report, TROUPE_STAGE_DIRECTORY);
    umask(022);
    if ((request->namespaces & CLONE_NEWNS) &&
        (!request->staging || troupe_build_root(request->staging, request->directory, request->read_only_paths) != 0)) {
        fail(report, TROUPE_STAGE_MOUNTS);
    }

    volatile int exec_error = 0;
    volatile int exec_stage = 0;
    pid_t command = vfork();
    if (command == 0) exec_command(request, &exec_error, &exec_stage);
    if (command < 0) fail(report, TROUPE_STAGE_FORK);
    close(0);
    close(1);
    close(2);
    if (exec_error) {
        send_report(report, TROUPE_SPAWN_FAILED, exec_error, exec_stage);
    } else {
        send_report(report, TROUPE_SPAWN_STARTED, command, 0);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int status = 0;
    int reaped = 0;
    while (!stop_requested) {
        int child_status = 0;
        pid_t pid = waitpid(-1, &child_status, __WALL);
        if (pid == command) {
            status = child_status;
            reaped = 1;
            break;
        }
        if (pid < 0 && errno == ECHILD) break;
    }
    int stopped = !reaped;
    end_command(proc_fd, command, request, own_pid_namespace, &status, &reaped);
    send_report(report, TROUPE_SPAWN_EXITED, status, stopped);
    _exit(0);
}

pid_t troupe_spawn(const struct troupe_spawn_request *request, int *pidfd) {
    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    // No handler of the server's may run in the launcher before it resets them.
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t server = getpid();
    // A plain clone rather than fork(): no atfork handler runs, in the server or the copy.
    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) launcher(request, server);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (pid < 0) {
        errno = saved;
        return -1;
    }
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        saved = errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        errno = saved;
        return -1;
    }
    *pidfd = fd;
    return pid;
}

int troupe_probe_namespaces(int flags, int user_namespace) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        if (unshare(flags | (user_namespace ? TROUPE_NEW_USER_NAMESPACE : 0)) != 0) _exit(errno);
        if (user_namespace && troupe_map_user(uid, gid, 1000, 1000) != 0) _exit(errno);
        if ((flags & CLONE_NEWNS) && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) _exit(errno);
        _exit(0);
    }
    if (pid < 0) return errno;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return errno;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : EPERM;
}

int troupe_set_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0); }
