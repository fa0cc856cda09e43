import CertrollRollout
import CertrollTestKit
import Foundation
import Testing

/// The journal is where the outage is measured (first stop → last verify):
/// whole seconds cannot show a sub-second gap.
@Suite struct JournalTimeTests {
    func temporaryJournal() throws -> String {
        let dir = try Scratch.directory("journal")
        return dir.appendingPathComponent("journal.jsonl").path
    }

    @Test func timesKeepMilliseconds() throws {
        let path = try temporaryJournal()
        let journal = try FileJournal(path: path)
        let time = Date(timeIntervalSince1970: 1_764_000_000.125)
        try journal.append(JournalEntry(kind: .note, time: time))
        let line = try String(contentsOfFile: path, encoding: .utf8)
        #expect(line.contains("\"time\":\"2025-11-24T16:00:00.125Z\""), "\(line)")
        let read = try FileJournal.read(path: path)
        #expect(abs(try #require(read.first).time.timeIntervalSince(time)) < 0.001)
    }

    @Test func journalsWithWholeSecondsStillRead() throws {
        let path = try temporaryJournal()
        try Data(#"{"kind":"note","time":"2025-11-24T16:00:00Z"}"#.utf8 + [0x0A]).write(to: URL(fileURLWithPath: path))
        let read = try FileJournal.read(path: path)
        #expect(read.first?.time == Date(timeIntervalSince1970: 1_764_000_000))
    }
}
