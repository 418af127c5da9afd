import CSystemShims

/// Turns a crash inside a C library that is not hardened against hostile files (libhdf5) into
/// one error line and exit 2, as `cli.md` promises for bad input. Only the command-line tool
/// installs it; library users keep their own signal handling. Calls into such a library arm it
/// (`HDF5Library.withLock`); a crash anywhere else is not masked.
public enum CrashGuard {
    public static func install() {
        csys_crash_guard_install()
    }
}
