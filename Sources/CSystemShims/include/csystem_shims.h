#ifndef MOECKPT_CSYSTEM_SHIMS_H
#define MOECKPT_CSYSTEM_SHIMS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// copy_file_range(2), which Swift's Glibc module hides behind _GNU_SOURCE.
/// Returns bytes copied, or -1 with errno set.
ssize_t csys_copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len);

/// sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE): starts writeback of a written
/// range without waiting for it. Returns 0, or -1 with errno set.
int csys_start_writeback(int fd, int64_t offset, int64_t count);

#endif
