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

/// `certroll runs` lists runs oldest first even when their ids (which order
/// only to the second) say otherwise.
@Suite struct RunListOrderTests {
    func write(_ store: RunStore, id: String, time: String) throws {
        try store.create(id)
        let header = #"{"kind":"run","header":{"runID":"\#(id)","command":"apply","controller":"ctl","user":"ops","clusters":[],"chainFingerprints":[],"chainSHA256":"","keySHA256":"","keyEncrypted":false},"time":"\#(time)"}"#
        try Data(header.utf8 + [0x0A]).write(to: URL(fileURLWithPath: store.journalPath(id)))
    }

    @Test func runsInOneSecondAreListedByTheirStartTime() throws {
        let store = RunStore(root: try Scratch.directory("runs").path)
        try write(store, id: "20261130T100000Z-ffffff", time: "2026-11-30T10:00:00.100Z")
        try write(store, id: "20261130T100000Z-000000", time: "2026-11-30T10:00:00.900Z")
        #expect(store.list().map(\.runID) == ["20261130T100000Z-ffffff", "20261130T100000Z-000000"])
    }
}
