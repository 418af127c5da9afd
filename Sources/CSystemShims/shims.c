#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include "csystem_shims.h"

ssize_t csys_copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len) {
    loff_t in = off_in ? (loff_t)*off_in : 0;
    loff_t out = off_out ? (loff_t)*off_out : 0;
    ssize_t n = copy_file_range(fd_in, off_in ? &in : NULL, fd_out, off_out ? &out : NULL, len, 0);
    if (n > 0) {
        if (off_in) *off_in = in;
        if (off_out) *off_out = out;
    }
    return n;
}

int csys_start_writeback(int fd, int64_t offset, int64_t count) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)count, SYNC_FILE_RANGE_WRITE);
}
