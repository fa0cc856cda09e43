import CertrollCore

/// How a cluster ended, and what a person does when a rollback could not finish.
extension ClusterDriver {
    /// A reason followed by another sentence ends with its own full stop.
    private func sentence(_ reason: String) -> String {
        reason.hasSuffix(".") || reason.hasSuffix("?") || reason.hasSuffix("!") ? reason : reason + "."
    }

    func outcome(_ ending: ClusterRollout.Ending, state: MutableState) -> ClusterOutcome {
        let name = "cluster \(context.cluster.name)"
        switch ending {
        case .done:
            return ClusterOutcome(.done, warnings: state.warnings)
        case .refused(let f):
            return ClusterOutcome(.preflightFailed, reason: f.reason, warnings: state.warnings)
        case .abandoned(let f):
            return ClusterOutcome(.rolledBack, reason: "\(sentence(f.reason)) No node was stopped; staged files were removed.", warnings: state.warnings)
        case .rolledBack(let f):
            return ClusterOutcome(.rolledBack, reason: "\(sentence(f.reason)) \(name) was rolled back: every node serves its old certificate again.",
                                  warnings: state.warnings)
        case .needsPerson(let f, let stranded):
            var steps: [String: [String]] = [:]
            for (i, left) in stranded {
                steps[context.cluster.nodes[i].host] = manualSteps(i, left, state: state)
            }
            let who = stranded.keys.sorted().map { context.cluster.nodes[$0].host }.joined(separator: ", ")
            return ClusterOutcome(.needsPerson,
                                  reason: "\(f.reason) The rollback of \(name) did not complete on \(who): the report lists the steps left; `certroll resume \(context.runID)` retries once the node is reachable.",
                                  manualSteps: steps, warnings: state.warnings)
        case .interrupted:
            return ClusterOutcome(.interrupted, reason: "\(name) was interrupted; `certroll resume \(context.runID)` finishes or rolls it back.",
                                  warnings: state.warnings)
        }
    }

    /// The exact commands a person runs on node `i` for the steps left.
    func manualSteps(_ i: Int, _ left: [Step], state: MutableState) -> [String] {
        let node = context.cluster.nodes[i]
        let x = node.xsoar
        let q = ShellQuote.quote
        var out: [String] = []
        for step in left {
            switch step {
            case .rollbackStop:
                out.append("stop the service: \(x.stopCommand)")
            case .restore:
                for f in state.backups[i] ?? [] {
                    if let b = f.backupPath {
                        out.append("restore \(f.path): cp -p \(q(b)) \(q(f.path))")
                    } else {
                        out.append("remove \(f.path), which did not exist before: rm -f \(q(f.path))")
                    }
                }
                if state.backups[i] == nil {
                    out.append("restore cert, key and conf from \(NodeCommands(x).backupDirectory(runID: context.runID)) (cp -p)")
                }
                out.append("remove staged files: rm -f \(ShellQuote.join(NodeCommands(x).stagedFiles))")
                out.append("remove the new OTC: rm -f \(q(x.otcPath))")
                if let facts = context.facts[i], facts.currentKeyEncrypted {
                    let which = facts.currentKeyOpenedWith == .newKey ? "the new key's passphrase, which opens it" : "current key passphrase"
                    out.append("the old key is encrypted: write {\"keypass\":\"<\(which)>\"} to \(x.otcPath), owner \(x.owner):\(x.group), mode 0600")
                }
            case .rollbackStart:
                out.append((i == 0 ? "start the service: " : "once the primary serves again, start the service: ") + x.startCommand)
                if let fp = context.facts[i]?.diskFingerprint {
                    out.append("check it serves the old certificate (SHA-256 \(fp)) on port \(x.httpsPort)")
                }
            case .unlock:
                out.append("release the lock: rm -f \(q(NodeCommands(x).lockPath)) (or `certroll resume \(context.runID)`)")
            case .preflight, .lock, .stage, .backup, .stop, .swap, .start, .verify, .endpoints, .afterSuccess, .discard:
                out.append("\(step.rawValue) (see docs/rollout.md)")
            }
        }
        return out
    }
}
