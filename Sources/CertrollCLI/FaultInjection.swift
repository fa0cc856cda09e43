import CertrollRollout
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Test-only fault injection, read from the environment and nowhere else.
///
/// `CERTROLL_TEST_KILL_AFTER_JOURNAL_LINES=k` makes the process send itself
/// SIGKILL right after the k-th journal line it appended is fsync'd: the
/// deterministic "controller crashed here" of the crash/resume tests
/// (`Tests/RolloutFaultTests`). Nobody sets a `CERTROLL_TEST_*` variable by
/// accident; when it is set, certroll says so on stderr before anything runs.
enum FaultInjection {
    static let killAfterJournalLines = "CERTROLL_TEST_KILL_AFTER_JOURNAL_LINES"

    /// The journal decorator the environment asks for, nil when none (the normal case).
    static func journalDecorator(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 die: @escaping @Sendable () -> Void = { _ = kill(getpid(), SIGKILL) })
        -> (@Sendable (any JournalWriter) -> any JournalWriter)? {
        guard let text = environment[killAfterJournalLines] else { return nil }
        guard let limit = Int(text), limit > 0 else {
            Console.note("certroll: ignoring \(killAfterJournalLines)=\(text): not a positive line count.")
            return nil
        }
        Console.note("certroll: FAULT INJECTION: \(killAfterJournalLines)=\(limit): this process kills itself (SIGKILL) after journal line \(limit). Unset it unless you are testing crash recovery.")
        return { JournalThatKillsAfter($0, lines: limit, die: die) }
    }
}

/// Passes every line to the real journal, then calls `die` once the line
/// numbered `lines` (counting this process's appends) is durable.
final class JournalThatKillsAfter: JournalWriter, @unchecked Sendable {
    private let inner: any JournalWriter
    private let lines: Int
    private let die: @Sendable () -> Void
    private let lock = NSLock()
    private var written = 0

    init(_ inner: any JournalWriter, lines: Int, die: @escaping @Sendable () -> Void) {
        self.inner = inner
        self.lines = lines
        self.die = die
    }

    func append(_ entry: JournalEntry) throws {
        // Under the lock, so no other line can follow line k before the process dies.
        try lock.withLock {
            try inner.append(entry)
            written += 1
            if written == lines { die() }
        }
    }
}
