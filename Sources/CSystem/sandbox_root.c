// The sandbox's root filesystem, built by the launcher in the command's own mount namespace:
// a fresh tmpfs holding read-only binds of the system's directories, a few device nodes, a
// fresh /tmp and /dev/shm, and the sandbox's own directory — the only place on disk it may
// write. The server's files, its database among them, are simply not there. Like the rest of
// the launcher, system calls only (no malloc: the server's threads may hold its lock).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "sandbox_root.h"

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_pivot_root
#define SYS_pivot_root 155
#endif

/// mount_setattr(2)'s argument (<linux/mount.h>, spelt out: not every libc has it).
struct root_mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};
enum { ROOT_ATTR_RDONLY = 0x1, ROOT_ATTR_NOSUID = 0x2, ROOT_ATTR_NODEV = 0x4, ROOT_AT_RECURSIVE = 0x8000 };

/// `base` + `path` into `out` (PATH_MAX); -1 with ENAMETOOLONG when it does not fit.
static int join(char *out, const char *base, const char *path) {
    size_t base_length = strlen(base);
    size_t path_length = strlen(path);
    if (base_length + path_length + 1 > PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(out, base, base_length);
    memcpy(out + base_length, path, path_length + 1);
    return 0;
}

/// mkdir -p of an absolute path, each new directory 0755.
static int make_path(const char *path) {
    char partial[PATH_MAX];
    size_t length = strlen(path);
    if (length >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (size_t index = 1; index <= length; index++) {
        if (path[index] != '/' && path[index] != 0) continue;
        memcpy(partial, path, index);
        partial[index] = 0;
        if (mkdir(partial, 0755) != 0 && errno != EEXIST) return -1;
    }
    return 0;
}

/// Adds `set` (ROOT_ATTR_*) to the mount at `path` and, with `recursive`, every mount below it.
/// Adding restrictions is what a user namespace may do to mounts it inherited; an older kernel
/// without mount_setattr(2) gets a bind remount that keeps the mount's own flags.
static int restrict_mount(const char *path, uint64_t set, int recursive) {
    struct root_mount_attr attr = {.attr_set = set};
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? ROOT_AT_RECURSIVE : 0, &attr, sizeof attr) == 0) return 0;
    if (errno != ENOSYS) return -1;
    struct statvfs status;
    if (statvfs(path, &status) != 0) return -1;
    unsigned long flags = MS_REMOUNT | MS_BIND;
    if (status.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (status.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (status.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (status.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (status.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (status.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    if (set & ROOT_ATTR_RDONLY) flags |= MS_RDONLY;
    if (set & ROOT_ATTR_NOSUID) flags |= MS_NOSUID;
    if (set & ROOT_ATTR_NODEV) flags |= MS_NODEV;
    return mount(NULL, path, NULL, flags, NULL);
}

/// Binds the system path `path` read-only at the same path under `root`; a symbolic link (a
/// merged /usr's /bin) is made again as a link; an absent path is left out.
static int bind_read_only(const char *root, const char *path) {
    char target[PATH_MAX];
    if (join(target, root, path) != 0) return -1;
    struct stat status;
    if (lstat(path, &status) != 0) return errno == ENOENT ? 0 : -1;
    if (S_ISLNK(status.st_mode)) {
        char link[PATH_MAX];
        ssize_t length = readlink(path, link, sizeof link - 1);
        if (length < 0) return -1;
        link[length] = 0;
        return symlink(link, target);
    }
    if (!S_ISDIR(status.st_mode)) return 0;
    if (make_path(target) != 0) return -1;
    if (mount(path, target, NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
    return restrict_mount(target, ROOT_ATTR_RDONLY | ROOT_ATTR_NOSUID, 1);
}

/// /dev as a small tmpfs with only the harmless character devices bound in.
static int make_devices(const char *root) {
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty", NULL};
    char dev[PATH_MAX];
    if (join(dev, root, "/dev") != 0 || mkdir(dev, 0755) != 0) return -1;
    if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0) return -1;
    for (const char *const *node = nodes; *node; node++) {
        char source[64] = "/dev/";
        char target[PATH_MAX];
        size_t length = strlen(*node);
        memcpy(source + 5, *node, length + 1);
        if (join(target, dev, source + 4) != 0) return -1;
        int fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
        if (fd < 0) return -1;
        close(fd);
        if (mount(source, target, NULL, MS_BIND, NULL) != 0 && errno != ENOENT) return -1;
    }
    static const char *const links[][2] = {
        {"/proc/self/fd", "/fd"}, {"/proc/self/fd/0", "/stdin"}, {"/proc/self/fd/1", "/stdout"}, {"/proc/self/fd/2", "/stderr"},
    };
    for (size_t index = 0; index < sizeof links / sizeof links[0]; index++) {
        char target[PATH_MAX];
        if (join(target, dev, links[index][1]) != 0 || symlink(links[index][0], target) != 0) return -1;
    }
    char shm[PATH_MAX];
    if (join(shm, dev, "/shm") != 0 || mkdir(shm, 01777) != 0) return -1;
    return mount("tmpfs", shm, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m");
}

int troupe_build_root(const char *staging, const char *directory, char *const *read_only_paths) {
    // Nothing mounted here may reach the server's namespace, and nothing of its later mounts here.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return -1;
    // Over the sandboxes' root: every sandbox directory, this one's included, vanishes under
    // it; the working directory still holds this one's, bound back below.
    if (mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") != 0) return -1;
    if (read_only_paths) {
        for (char *const *path = read_only_paths; *path; path++) {
            if (bind_read_only(staging, *path) != 0) return -1;
        }
    }
    if (make_devices(staging) != 0) return -1;
    char path[PATH_MAX];
    if (join(path, staging, "/tmp") != 0 || mkdir(path, 01777) != 0) return -1;
    if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m") != 0) return -1;
    if (join(path, staging, "/proc") != 0 || mkdir(path, 0555) != 0) return -1;
    if (join(path, staging, "/.old") != 0 || mkdir(path, 0700) != 0) return -1;
    if (join(path, staging, directory) != 0 || make_path(path) != 0) return -1;
    if (mount(".", path, NULL, MS_BIND, NULL) != 0) return -1;
    if (restrict_mount(path, ROOT_ATTR_NOSUID | ROOT_ATTR_NODEV, 0) != 0) return -1;
    if (restrict_mount(staging, ROOT_ATTR_RDONLY, 0) != 0) return -1;
    if (join(path, staging, "/.old") != 0) return -1;
    if (syscall(SYS_pivot_root, staging, path) != 0) return -1;
    return chdir(directory);
}

int troupe_leave_old_root(void) { return umount2("/.old", MNT_DETACH); }
