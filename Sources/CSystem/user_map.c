// The user namespace's id maps, written by the launcher (and the start-up probe) for itself.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "user_map.h"

/// Writes `text` to the /proc file `path`; 0 or -1 with errno.
static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t length = (ssize_t)strlen(text);
    ssize_t written = write(fd, text, (size_t)length);
    int saved = errno;
    close(fd);
    errno = saved;
    return written == length ? 0 : -1;
}

/// "<inside> <outside> 1\n" into `out` (64 bytes).
static void map_line(char *out, unsigned inside, unsigned outside) {
    char digits[2][16];
    unsigned values[2] = {inside, outside};
    size_t used = 0;
    for (int which = 0; which < 2; which++) {
        int count = 0;
        do {
            digits[which][count++] = (char)('0' + values[which] % 10);
            values[which] /= 10;
        } while (values[which] && count < 15);
        while (count) out[used++] = digits[which][--count];
        out[used++] = ' ';
    }
    out[used++] = '1';
    out[used++] = '\n';
    out[used] = 0;
}

int troupe_map_user(uid_t outer_uid, gid_t outer_gid, uid_t uid, gid_t gid) {
    char line[64];
    if (prctl(PR_SET_DUMPABLE, 1) != 0) return -1;
    int result = write_file("/proc/self/setgroups", "deny");
    if (result == 0) {
        map_line(line, uid, outer_uid);
        result = write_file("/proc/self/uid_map", line);
    }
    if (result == 0) {
        map_line(line, gid, outer_gid);
        result = write_file("/proc/self/gid_map", line);
    }
    int saved = errno;
    prctl(PR_SET_DUMPABLE, 0);
    errno = saved;
    return result;
}
