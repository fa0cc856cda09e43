@testable import CertrollCLI
import CertrollCore
import CertrollRollout
import Foundation
import Testing

/// Collects lines instead of writing a file.
final class LinesJournal: JournalWriter, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [JournalEntry] = []
    var count: Int { lock.withLock { entries.count } }
    func append(_ entry: JournalEntry) throws { lock.withLock { entries.append(entry) } }
}

/// Counts calls of the injected `die`.
final class DeathCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [Int] = []
    func died(after lines: Int) { lock.withLock { calls.append(lines) } }
    var deaths: [Int] { lock.withLock { calls } }
}

@Suite struct FaultInjectionTests {
    @Test func noVariableNoDecorator() {
        #expect(FaultInjection.journalDecorator(environment: [:]) == nil)
        #expect(FaultInjection.journalDecorator(environment: ["CERTROLL_TEST_KILL_AFTER_JOURNAL_LINES": "zero"]) == nil)
        #expect(FaultInjection.journalDecorator(environment: ["CERTROLL_TEST_KILL_AFTER_JOURNAL_LINES": "0"]) == nil)
    }

    @Test func diesRightAfterTheKthLineIsWritten() throws {
        let inner = LinesJournal()
        let counter = DeathCounter()
        let die: @Sendable () -> Void = { [inner] in counter.died(after: inner.count) }
        let decorator = FaultInjection.journalDecorator(environment: ["CERTROLL_TEST_KILL_AFTER_JOURNAL_LINES": "3"], die: die)
        let decorate = try #require(decorator)
        let journal = decorate(inner)
        for _ in 0..<5 { try journal.append(JournalEntry(kind: .note)) }
        #expect(counter.deaths == [3], "die is called once, with line 3 already in the journal")
    }
}
