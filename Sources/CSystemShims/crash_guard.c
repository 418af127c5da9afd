#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "csystem_shims.h"

// What to print, and whether a guarded call is running. Written only outside the handler (under
// the caller's lock); the handler only reads them, with write(2) and _exit(2), both async-signal-safe.
static char guard_message[2048];
static size_t guard_length;
static volatile sig_atomic_t guard_depth;

static void guard_handler(int sig) {
    if (guard_depth > 0) {
        (void)!write(STDERR_FILENO, guard_message, guard_length);
        _exit(2);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void csys_crash_guard_install(void) {
    static const int signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = guard_handler;
        sigemptyset(&action.sa_mask);
        sigaction(signals[i], &action, NULL);
    }
}

void csys_crash_guard_arm(const char *message) {
    if (guard_depth == 0) {
        size_t length = strlen(message);
        if (length > sizeof guard_message) length = sizeof guard_message;
        memcpy(guard_message, message, length);
        guard_length = length;
    }
    guard_depth = guard_depth + 1;
}

void csys_crash_guard_disarm(void) {
    if (guard_depth > 0) guard_depth = guard_depth - 1;
}
