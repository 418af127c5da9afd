import ArgumentParser
import Foundation
import MoECheckpoint

#if canImport(Glibc)
import Glibc
#endif

/// The root command. It overrides `main()` because `cli.md` wants exit code 2 for usage errors
/// (ArgumentParser uses 64) and exactly one stderr line for every failure, never a backtrace.
@main
struct MoECkpt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moe-ckpt",
        abstract: "Inspect, convert and verify Mixture-of-Experts checkpoints without Python.",
        version: "0.1.0",
        subcommands: [Inspect.self, Convert.self, Forward.self, Verify.self])

    static func main() {
        // A write past `ulimit -f` must fail with EFBIG (and exit 2), not kill the process.
        signal(SIGXFSZ, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        // libhdf5 can crash on a hostile file; inside its calls that ends as exit 2 and one line.
        CrashGuard.install()
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(2)
        }
        do {
            var command = command
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            // `--help` of a subcommand reaches here: ArgumentParser's help command throws it.
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            Diagnostics.fail(error)
        }
    }
}

/// One place that turns errors into the single stderr line of `cli.md`.
enum Diagnostics {
    static func fail(_ error: Error) -> Never {
        FileHandle.standardError.write(Data(("moe-ckpt: error: " + describe(error) + "\n").utf8))
        Foundation.exit(2)
    }

    static func warn(_ message: String) {
        FileHandle.standardError.write(Data(("moe-ckpt: warning: " + message + "\n").utf8))
    }

    static func describe(_ error: Error) -> String {
        let text = String(describing: error)
        return text.replacingOccurrences(of: "\n", with: " ")
    }
}
