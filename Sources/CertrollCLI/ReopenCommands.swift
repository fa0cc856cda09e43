import ArgumentParser
import CertrollCore
import CertrollRollout
import Foundation

/// `certroll rollback RUN_ID`: restore what a run replaced, on every node it touched.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Restore what run RUN_ID replaced, on every node it touched (also after it succeeded).",
        discussion: """
            Reads the run's journal (the inventory is not needed), reconnects and puts \
            back the backed-up certificate, key and conf, starting the primary first and \
            verifying the old certificate is served. Without --yes it shows the run and asks.
            """)

    @OptionGroup var reopen: ReopenOptions

    func run() async throws {
        try await reopen.run(command: "rollback") { engine, secrets, sink, cancellation in
            try await engine.rollback(runID: reopen.runID, secrets: secrets, events: sink, cancellation: cancellation)
        }
    }
}

/// `certroll resume RUN_ID`: finish or roll back an interrupted run, whichever is safe.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Finish or roll back run RUN_ID after it was interrupted, whichever is safe.",
        discussion: """
            Per cluster: a run whose every node was swapped is finished (start, verify); \
            one that stopped part-way is rolled back; one that only staged files has them \
            removed. Clusters that ended are left alone. Without --yes it shows the run and asks.
            """)

    @OptionGroup var reopen: ReopenOptions

    func run() async throws {
        try await reopen.run(command: "resume") { engine, secrets, sink, cancellation in
            try await engine.resume(runID: reopen.runID, secrets: secrets, events: sink, cancellation: cancellation)
        }
    }
}

/// What rollback and resume share: the run id, secrets, confirmation, output, state dir.
struct ReopenOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The run (certroll runs lists them).", valueName: "run-id"))
    var runID: String

    @OptionGroup var secrets: NodeSecretOptions
    @OptionGroup var confirm: ConfirmOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var state: StateDirOptions

    typealias Body = @Sendable (RolloutEngine, RolloutSecrets, StreamEventSink, RolloutCancellation) async throws -> RunReport

    func run(command: String, _ body: @escaping Body) async throws {
        try confirm.requireTerminalUnlessYes(command, then: "certroll runs lists the run")
        let store = state.store
        let entries = try store.readJournal(runID)
        guard let header = entries.first(where: { $0.kind == .run })?.header else {
            throw CLIError.conflictingOptions("the journal of run \(runID) has no header, so it cannot be reopened; certroll runs lists the runs.")
        }
        let oldKeyEncrypted = entries.contains { $0.facts?.currentKeyEncrypted == true }
        var current = try secrets.currentKeyPassphrase()
        if oldKeyEncrypted && current == nil { current = try secrets.currentKeySource.readIfGiven() }
        let engine = RolloutTools(store: store, ssh: try secrets.sshSecrets(for: header.clusters)).engine()
        let nodes = header.clusters.map { "\($0.name) (\($0.nodes.map(\.host).joined(separator: ", ")))" }
        if !confirm.yes {
            Console.note("\(command) of run \(runID) (\(header.command) by \(header.user)@\(header.controller)) on: \(nodes.joined(separator: "; ")).")
            try confirm.confirm("Go ahead with the \(command)?", declined: command)
        }
        let nodeSecrets = RolloutSecrets(currentKeyPassphrase: current)
        let report = try await LiveRun.run(output.renderer()) { sink, cancellation in
            try await body(engine, nodeSecrets, sink, cancellation)
        }
        try LiveRun.finish(report)
    }
}

/// `certroll runs`: every run with its outcome.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List runs with their outcome, oldest first.",
        discussion: "An unfinished run (no report) can be finished with certroll resume RUN_ID.")

    @Flag(help: "One JSON object per run.")
    var json = false

    @OptionGroup var state: StateDirOptions

    func run() async throws {
        let store = state.store
        let runs = store.list()
        if json {
            runs.map { EventText.json(RunJSON($0)) }.forEach(Console.out)
        } else if runs.isEmpty {
            Console.out("no runs in \(store.root)/runs yet.")
        } else {
            RunsText.lines(runs).forEach(Console.out)
        }
    }
}

/// `certroll runs` as a table.
enum RunsText {
    static func lines(_ runs: [RunStore.RunSummary]) -> [String] {
        let header = ["RUN ID", "COMMAND", "EXIT", "OUTCOME", "CLUSTERS"]
        let rows = runs.map { [$0.runID, $0.command, $0.exitCode.map(String.init) ?? "-", $0.outcome, $0.clusters.joined(separator: ",")] }
        let widths = (0..<header.count - 1).map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            (0..<header.count - 1).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                + "  " + row[header.count - 1]
        }
    }
}

/// `certroll runs --json`: one run.
struct RunJSON: Encodable {
    var runID: String
    var command: String
    var clusters: [String]
    var exitCode: Int32?
    var outcome: String

    init(_ run: RunStore.RunSummary) {
        runID = run.runID
        command = run.command
        clusters = run.clusters
        exitCode = run.exitCode
        outcome = run.outcome
    }
}
