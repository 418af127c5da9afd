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

/// A guard around calls into C libraries that are not hardened against hostile files (libhdf5):
/// once installed (by the command-line tool only), SIGSEGV, SIGBUS, SIGABRT, SIGFPE and SIGILL
/// while armed print `message` to stderr and exit with status 2; unarmed, they crash as before.
void csys_crash_guard_install(void);
/// Arms the guard (nestable); the message of the outermost arm is the one printed.
void csys_crash_guard_arm(const char *message);
void csys_crash_guard_disarm(void);

/// Loads OpenBLAS on first use (`blas.c` says why it is not linked). Returns NULL when it is
/// available, else a line saying why not.
const char *csys_blas_load_error(void);
/// `c[m, n] = a[m, k] · b[n, k]ᵀ`, row-major float32, `c`'s rows `ldc` apart (cblas_sgemm).
/// Call `csys_blas_load_error` first: without OpenBLAS this prints that line and exits 2.
void csys_sgemm_nt(int m, int n, int k, const float *a, const float *b, float *c, int ldc);

#endif
