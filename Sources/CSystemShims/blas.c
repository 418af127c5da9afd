#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "csystem_shims.h"

// OpenBLAS is loaded on the first matrix product, not linked: a linked libopenblas starts its
// thread pool in a library constructor, before main, and those threads spin in sched_yield for a
// while on every run, including the commands that never multiply (inspect, convert). That was
// 45 ms of CPU per `inspect`. Loaded here, it starts with one thread (the forward runs experts on
// parallel workers of its own).

// cblas_sgemm with the CBLAS enums as ints (CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112).
typedef void (*csys_sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static csys_sgemm_fn blas_sgemm;
static char blas_error[512];

static void blas_load(void) {
    // Read by OpenBLAS's constructor when the library loads; a value the user set is kept.
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
    void *library = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !library; i++) library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        snprintf(blas_error, sizeof blas_error, "cannot load OpenBLAS (libopenblas.so.0): %s; install libopenblas0 (Debian)",
                 reason ? reason : "not found");
        return;
    }
    void (*set_threads)(int) = (void (*)(int))dlsym(library, "openblas_set_num_threads");
    if (set_threads) set_threads(1);
    blas_sgemm = (csys_sgemm_fn)dlsym(library, "cblas_sgemm");
    if (!blas_sgemm) snprintf(blas_error, sizeof blas_error, "libopenblas.so.0 has no cblas_sgemm");
}

const char *csys_blas_load_error(void) {
    pthread_once(&blas_once, blas_load);
    return blas_sgemm ? NULL : blas_error;
}

void csys_sgemm_nt(int m, int n, int k, const float *a, const float *b, float *c, int ldc) {
    pthread_once(&blas_once, blas_load);
    if (!blas_sgemm) {
        fprintf(stderr, "moe-ckpt: error: %s\n", blas_error);
        exit(2);
    }
    blas_sgemm(101, 111, 112, m, n, k, 1.0f, a, k, b, k, 0.0f, c, ldc);
}
