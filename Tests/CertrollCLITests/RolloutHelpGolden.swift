// Golden help text of the rollout commands: compared whole.
// Regenerate by running `certroll COMMAND --help` with stdout not a terminal, and review the diff.
enum RolloutHelpGolden {
    static let texts: [String: String] = [
        "plan": #"""
        OVERVIEW: Show what apply would do on every node (changes nothing).

        Runs the local checks, connects to every node and runs the preflight, then
        prints per node the certificate served and on disk (fingerprint, expiry), what
        would change (files, conf edit, OTC) and whether it restarts. Nothing is
        changed on the nodes or under the state directory. Without --cert/--key each
        cluster's certificate: source is planned. Exits 0, 2 when the input is bad or a
        local check FAILs, 3 when a cluster would be refused.

        USAGE: certroll plan --inventory <file> [--cert <file>] [--key <file>] [--key-passphrase-file <file>] [--cluster <name> ...] [--become-password-file <file>] [--ssh-key-passphrase-file <file>] [--current-key-passphrase-file <file>] [--json] [--state-dir <dir>]

        OPTIONS:
          -i, --inventory <file>  The inventory (YAML) of clusters and nodes.
          --cert <file>           The certificate chain to install on every selected
                                  cluster (leaf, intermediates, root); else each
                                  cluster's certificate: source.
          --key <file>            The private key of the leaf (legacy encrypted PEM or
                                  unencrypted).
          --key-passphrase-file <file>
                                  File whose first line is the key passphrase (else
                                  CERTROLL_KEY_PASSPHRASE, else a prompt on a terminal).
          --cluster <name>        Only this cluster (repeatable; default all).
          --become-password-file <file>
                                  File whose first line is the sudo password (else
                                  CERTROLL_BECOME_PASSWORD, else, except in renew, a
                                  prompt on a terminal when a node uses 'become: sudo').
          --ssh-key-passphrase-file <file>
                                  File whose first line is the passphrase of the SSH
                                  identity (else CERTROLL_SSH_KEY_PASSPHRASE, else,
                                  except in renew, a prompt on a terminal when the
                                  identity is encrypted and no agent is used).
          --current-key-passphrase-file <file>
                                  File whose first line is the passphrase of the key
                                  the nodes use now (else
                                  CERTROLL_CURRENT_KEY_PASSPHRASE); needed when that
                                  key is encrypted.
          --json                  One JSON object per event on stdout, the final report
                                  last.
          --state-dir <dir>       Where runs are journaled (else
                                  $XDG_STATE_HOME/certroll, else
                                  ~/.local/state/certroll).
          --version               Show the version.
          -h, --help              Show help information.

        """#,
        "apply": #"""
        OVERVIEW: Install the certificate on every node of the selected clusters,
        safely.

        Local checks, then preflight on every node; per cluster: stage and back up
        while XSOAR runs, stop every node, swap, start the primary and wait until it
        serves the new certificate, then the backups, verify each by a TLS handshake.
        Any failure after the first stop rolls the whole cluster back. Without
        --cert/--key each cluster gets its own certificate: source from the inventory;
        a cluster already serving its certificate is skipped. Without --yes it shows
        the plan and asks. Exit codes: 0 done or nothing to do, 1 a cluster failed and
        was rolled back, 2 bad input, 3 preflight refused, 4 a rollback needs a person,
        130 interrupted (certroll resume RUN_ID finishes).

        USAGE: certroll apply [<options>] --inventory <file>

        OPTIONS:
          -i, --inventory <file>  The inventory (YAML) of clusters and nodes.
          --cert <file>           The certificate chain to install on every selected
                                  cluster (leaf, intermediates, root); else each
                                  cluster's certificate: source.
          --key <file>            The private key of the leaf (legacy encrypted PEM or
                                  unencrypted).
          --key-passphrase-file <file>
                                  File whose first line is the key passphrase (else
                                  CERTROLL_KEY_PASSPHRASE, else a prompt on a terminal).
          --cluster <name>        Only this cluster (repeatable; default all).
          --parallel <n>          Clusters rolled out at once. (default: 4)
          --canary                Roll out the first cluster alone, then the rest only
                                  if it succeeded.
          --max-failures <k>      Start no new cluster after this many failed.
          --force                 Roll out clusters that already serve their
                                  certificate (renew: also one issued before what they
                                  serve).
          --break-lock <run-id>   Clear a lock left on the nodes by this dead run.
          --accept-manual-rollback
                                  Go on when a node's current key is encrypted and its
                                  passphrase is not given (a rollback then needs a
                                  person).
          --become-password-file <file>
                                  File whose first line is the sudo password (else
                                  CERTROLL_BECOME_PASSWORD, else, except in renew, a
                                  prompt on a terminal when a node uses 'become: sudo').
          --ssh-key-passphrase-file <file>
                                  File whose first line is the passphrase of the SSH
                                  identity (else CERTROLL_SSH_KEY_PASSPHRASE, else,
                                  except in renew, a prompt on a terminal when the
                                  identity is encrypted and no agent is used).
          --current-key-passphrase-file <file>
                                  File whose first line is the passphrase of the key
                                  the nodes use now (else
                                  CERTROLL_CURRENT_KEY_PASSPHRASE); needed when that
                                  key is encrypted.
          -y, --yes               Do not ask before changing nodes (needed when there
                                  is no terminal).
          --json                  One JSON object per event on stdout, the final report
                                  last.
          --state-dir <dir>       Where runs are journaled (else
                                  $XDG_STATE_HOME/certroll, else
                                  ~/.local/state/certroll).
          --version               Show the version.
          -h, --help              Show help information.

        """#,
        "renew": #"""
        OVERVIEW: Roll each cluster's certificate: source out where its nodes do not
        serve it yet; never asks.

        Per cluster: reads its certificate: source, preflights its nodes, skips it when
        every node already serves and stores that certificate (no secret is needed
        then), refuses a source issued before the certificate served now (unless
        --force), else runs the local checks and rolls it out as apply does. Run from
        an ACME deploy hook (certbot RENEWED_LINEAGE, lego LEGO_CERT_PATH, acme.sh
        CERT_FULLCHAIN_PATH), only the clusters whose source is the renewed certificate
        are renewed. Secrets come from files or the environment only. Exit codes as
        apply, per cluster, worst wins; a bad source is 2.

        USAGE: certroll renew --inventory <file> [--cluster <name> ...] [--parallel <n>] [--canary] [--max-failures <k>] [--force] [--prometheus <file>] [--become-password-file <file>] [--ssh-key-passphrase-file <file>] [--current-key-passphrase-file <file>] [--json] [--state-dir <dir>]

        OPTIONS:
          -i, --inventory <file>  The inventory (YAML) of clusters and nodes.
          --cluster <name>        Only this cluster (repeatable; default all).
          --parallel <n>          Clusters rolled out at once. (default: 4)
          --canary                Roll out the first cluster alone, then the rest only
                                  if it succeeded.
          --max-failures <k>      Start no new cluster after this many failed.
          --force                 Roll out clusters that already serve their
                                  certificate (renew: also one issued before what they
                                  serve).
          --prometheus <file>     At the end, rewrite this Prometheus textfile as
                                  certroll status --prometheus does.
          --become-password-file <file>
                                  File whose first line is the sudo password (else
                                  CERTROLL_BECOME_PASSWORD, else, except in renew, a
                                  prompt on a terminal when a node uses 'become: sudo').
          --ssh-key-passphrase-file <file>
                                  File whose first line is the passphrase of the SSH
                                  identity (else CERTROLL_SSH_KEY_PASSPHRASE, else,
                                  except in renew, a prompt on a terminal when the
                                  identity is encrypted and no agent is used).
          --current-key-passphrase-file <file>
                                  File whose first line is the passphrase of the key
                                  the nodes use now (else
                                  CERTROLL_CURRENT_KEY_PASSPHRASE); needed when that
                                  key is encrypted.
          --json                  One JSON object per event on stdout, the final report
                                  last.
          --state-dir <dir>       Where runs are journaled (else
                                  $XDG_STATE_HOME/certroll, else
                                  ~/.local/state/certroll).
          --version               Show the version.
          -h, --help              Show help information.

        """#,
        "rollback": #"""
        OVERVIEW: Restore what run RUN_ID replaced, on every node it touched (also
        after it succeeded).

        Reads the run's journal (the inventory is not needed), reconnects and puts back
        the backed-up certificate, key and conf, starting the primary first and
        verifying the old certificate is served. Without --yes it shows the run and
        asks.

        USAGE: certroll rollback <run-id> [--become-password-file <file>] [--ssh-key-passphrase-file <file>] [--current-key-passphrase-file <file>] [--yes] [--json] [--state-dir <dir>]

        ARGUMENTS:
          <run-id>                The run (certroll runs lists them).

        OPTIONS:
          --become-password-file <file>
                                  File whose first line is the sudo password (else
                                  CERTROLL_BECOME_PASSWORD, else, except in renew, a
                                  prompt on a terminal when a node uses 'become: sudo').
          --ssh-key-passphrase-file <file>
                                  File whose first line is the passphrase of the SSH
                                  identity (else CERTROLL_SSH_KEY_PASSPHRASE, else,
                                  except in renew, a prompt on a terminal when the
                                  identity is encrypted and no agent is used).
          --current-key-passphrase-file <file>
                                  File whose first line is the passphrase of the key
                                  the nodes use now (else
                                  CERTROLL_CURRENT_KEY_PASSPHRASE); needed when that
                                  key is encrypted.
          -y, --yes               Do not ask before changing nodes (needed when there
                                  is no terminal).
          --json                  One JSON object per event on stdout, the final report
                                  last.
          --state-dir <dir>       Where runs are journaled (else
                                  $XDG_STATE_HOME/certroll, else
                                  ~/.local/state/certroll).
          --version               Show the version.
          -h, --help              Show help information.

        """#,
        "resume": #"""
        OVERVIEW: Finish or roll back run RUN_ID after it was interrupted, whichever is
        safe.

        Per cluster: a run whose every node was swapped is finished (start, verify);
        one that stopped part-way is rolled back; one that only staged files has them
        removed. Clusters that ended are left alone. Without --yes it shows the run and
        asks.

        USAGE: certroll resume <run-id> [--become-password-file <file>] [--ssh-key-passphrase-file <file>] [--current-key-passphrase-file <file>] [--yes] [--json] [--state-dir <dir>]

        ARGUMENTS:
          <run-id>                The run (certroll runs lists them).

        OPTIONS:
          --become-password-file <file>
                                  File whose first line is the sudo password (else
                                  CERTROLL_BECOME_PASSWORD, else, except in renew, a
                                  prompt on a terminal when a node uses 'become: sudo').
          --ssh-key-passphrase-file <file>
                                  File whose first line is the passphrase of the SSH
                                  identity (else CERTROLL_SSH_KEY_PASSPHRASE, else,
                                  except in renew, a prompt on a terminal when the
                                  identity is encrypted and no agent is used).
          --current-key-passphrase-file <file>
                                  File whose first line is the passphrase of the key
                                  the nodes use now (else
                                  CERTROLL_CURRENT_KEY_PASSPHRASE); needed when that
                                  key is encrypted.
          -y, --yes               Do not ask before changing nodes (needed when there
                                  is no terminal).
          --json                  One JSON object per event on stdout, the final report
                                  last.
          --state-dir <dir>       Where runs are journaled (else
                                  $XDG_STATE_HOME/certroll, else
                                  ~/.local/state/certroll).
          --version               Show the version.
          -h, --help              Show help information.

        """#,
        "runs": #"""
        OVERVIEW: List runs with their outcome, oldest first.

        An unfinished run (no report) can be finished with certroll resume RUN_ID.

        USAGE: certroll runs [--json] [--state-dir <dir>]

        OPTIONS:
          --json                  One JSON object per run.
          --state-dir <dir>       Where runs are journaled (else
                                  $XDG_STATE_HOME/certroll, else
                                  ~/.local/state/certroll).
          --version               Show the version.
          -h, --help              Show help information.

        """#,
        "demo": #"""
        OVERVIEW: Roll a new certificate out to a local two-node sandbox (needs root).

        Brings up two simulated XSOAR nodes (primary + live backup) with
        scripts/sandbox (network and mount namespaces, a real sshd each), makes a test
        CA and a certificate for them with a legacy-encrypted key, runs plan and then
        apply --yes, shows the certificate each node serves before and after, and tears
        the sandbox down (also when something fails).

        USAGE: certroll demo [--name <name>]

        OPTIONS:
          --name <name>           Sandbox name (1-8 lowercase letters or digits).
                                  (default: crdemo)
          --version               Show the version.
          -h, --help              Show help information.

        """#,
    ]
}
