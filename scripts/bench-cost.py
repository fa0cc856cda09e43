"""scripts/bench-cost's arithmetic: one JSON record per measured run, the
strace'd pair read by step, the CPU sampler, the replay of a node's commands,
and the markdown report. Run by scripts/bench-cost, not by hand."""
import json, os, re, statistics, sys, time
from datetime import datetime

TICK = os.sysconf("SC_CLK_TCK")


def arg(name, default=None):
    a = sys.argv
    return a[a.index(name) + 1] if name in a else default


def t(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def snapshot(path):
    nodes, values = {}, {}
    for line in open(path):
        w = line.split()
        if w[0] == "node":
            nodes[int(w[1])] = tuple(map(int, w[2:7]))
        else:
            values[w[0]] = float(w[1])
    return nodes, values


def log_counts(text):
    c = dict(connections=0, commands=0, sftp_sessions=0)
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Accepted publickey"): c["connections"] += 1
        elif line.startswith("Starting session: command"): c["commands"] += 1
        elif line.startswith("Starting session: subsystem"): c["sftp_sessions"] += 1
    return c


def journal(state, run_id):
    return [json.loads(l) for l in open(f"{state}/runs/{run_id}/journal.jsonl") if l.strip()]


def intervals(lines):
    """(label, start, end) for every node step and each cluster's preflight (header → its facts)."""
    header = t(lines[0]["time"])
    out, open_steps, facts_at = [], {}, {}
    for e in lines:
        if e.get("kind") == "facts":
            facts_at[e["cluster"]] = max(facts_at.get(e["cluster"], 0), t(e["time"]))
        if e.get("kind") != "step": continue
        key = (e["cluster"], e.get("node"), e["step"])
        if e["phase"] == "begin": open_steps[key] = t(e["time"])
        elif key in open_steps: out.append((e["step"], open_steps.pop(key), t(e["time"]), e.get("node")))
    for cluster, end in facts_at.items():
        out.append(("preflight", header, end, None))
    return header, out


def cpu_by_step(samples, col, lines):
    """CPU seconds by step from cumulative counters sampled over the run (`col`
    of each sample, ns): each interval is shared among the journal steps running
    in it by overlap. Before the journal's header is 'startup', after the last
    step 'finish'."""
    header, spans = intervals(lines)
    last = max((e for _, _, e, _ in spans), default=header)
    out = {}
    for a, b in zip(samples, samples[1:]):
        t0, t1, d = a[0], b[0], (b[col] - a[col]) / 1e9
        if d <= 0: continue
        if t1 <= header: label_w = {"startup": 1}
        elif t0 >= last: label_w = {"finish": 1}
        else:
            label_w = {}
            for label, s, e, _ in spans:
                ov = min(e, t1) - max(s, t0)
                if ov > 0: label_w[label] = label_w.get(label, 0) + ov
            label_w = label_w or {"between steps": 1}
        tw = sum(label_w.values())
        for label, x in label_w.items(): out[label] = out.get(label, 0) + d * x / tw
    return out


def cmd_record():
    work, d = arg("--work"), arg("--dir")
    before, b = snapshot(f"{work}/before")
    after, a = snapshot(f"{work}/after")
    per_node = {}
    for i, (off0, rx0, tx0, rxp0, txp0) in before.items():
        off1, rx1, tx1, rxp1, txp1 = after[i]
        with open(f"{d}/node{i}/sshd.log", "rb") as f:
            f.seek(off0)
            text = f.read(off1 - off0).decode("utf-8", "replace")
        c = log_counts(text)
        c["veth_from_node"], c["veth_to_node"] = rx1 - rx0, tx1 - tx0
        c["packets_from_node"], c["packets_to_node"] = rxp1 - rxp0, txp1 - txp0
        per_node[i] = c
    rec = dict(kind=arg("--kind"), run=int(arg("--run")), nodes=int(arg("--nodes")), exit=int(arg("--exit")),
               load=arg("--load"), wall=a["time"] - b["time"], busy_s=(a["busy"] - b["busy"]) / TICK,
               cg_nodes_s=(a["cg_nodes"] - b["cg_nodes"]) / 1e9, cg_ctl_s=(a["cg_ctl"] - b["cg_ctl"]) / 1e9,
               per_node=per_node)
    if rec["kind"] == "floor" and os.path.exists(f"{work}/floor-stop-begin"):
        rec["floor_outage"] = a["time"] - float(open(f"{work}/floor-stop-begin").read())
    if rec["kind"] == "certroll" and os.path.exists(f"{work}/time.txt"):
        tt = {k.strip(): v.strip() for k, v in (l.split(": ", 1) for l in open(f"{work}/time.txt") if ": " in l)}
        p = tt["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")
        rec["wall"] = sum(float(x) * 60 ** (len(p) - 1 - k) for k, x in enumerate(p))
        rec["ctl_cpu_s"] = float(tt["User time (seconds)"]) + float(tt["System time (seconds)"])
        rec["rss_mb"] = int(tt["Maximum resident set size (kbytes)"]) / 1024
        try:
            run_id = json.loads(open(f"{work}/out.json").read().strip().splitlines()[-1])["runID"]
            lines = journal(f"{work}/state", run_id)
            rec["run_id"] = run_id
            # From the snapshot before certroll started to the one after it ended.
            samples = [(b["time"], b["cg_ctl"], b["cg_nodes"])] + [
                x for x in (tuple(map(float, l.split())) for l in open(f"{work}/samples")) if b["time"] < x[0] < a["time"]
            ] + [(a["time"], a["cg_ctl"], a["cg_nodes"])]
            rec["cpu_by_step"] = cpu_by_step(samples, 1, lines)
            rec["node_cpu_by_step"] = cpu_by_step(samples, 2, lines)
            rec["outcomes"] = [e["outcome"]["kind"] for e in lines if e.get("kind") == "outcome"]
            rec.update(outage(lines))
            rec["wall_by_step"] = wall_by_step(lines, b["time"], a["time"])
        except (OSError, ValueError, KeyError, IndexError) as e:
            rec["error"] = f"journal: {e}"
    print(json.dumps(rec))


def outage(lines):
    """Per cluster: first stop begins → last verify ends, and the sums of stop/start steps."""
    by = {}
    for e in lines:
        if e.get("kind") != "step" or not e.get("node"): continue
        c = by.setdefault(e["cluster"], {"stop": [], "verify": [], "steps": {}})
        if e["step"] == "stop" and e["phase"] == "begin": c["stop"].append(t(e["time"]))
        if e["step"] == "verify" and e["phase"] == "end": c["verify"].append(t(e["time"]))
        c["steps"].setdefault((e["step"], e["node"]), {})[e["phase"]] = t(e["time"])
    out = []
    for c in by.values():
        if not c["stop"] or not c["verify"]: continue
        tot = lambda s: sum(p["end"] - p["begin"] for (k, _), p in c["steps"].items() if k == s and "end" in p and "begin" in p)
        out.append(dict(outage=max(c["verify"]) - min(c["stop"]), stop_steps=tot("stop"), start_steps=tot("start")))
    return {"outages": out}


def wall_by_step(lines, started, ended):
    """Where a single cluster's wall time goes: before the header, preflight (header →
    last facts), each step's wall (the union of its nodes' spans: a step that runs on
    both nodes at once counts once), the rest between them, after the outcome."""
    header, spans = intervals(lines)
    out = {"startup": header - started, "finish": ended - t(lines[-1]["time"])}
    by = {}
    for label, s, e, _ in spans: by.setdefault(label, []).append((s, e))
    for label, ivs in by.items():
        total, reach = 0.0, None
        for s, e in sorted(ivs):
            if reach is None or s > reach:
                total += e - s
                reach = e
            elif e > reach:
                total += e - reach
                reach = e
        out[label] = total
    out["between steps"] = (ended - started) - sum(out.values())
    return out


def cg_usage(path):
    """CPU used by a cgroup's processes so far, ns: v1 cpuacct or v2 cpu.stat."""
    try:
        return int(open(f"{path}/cpuacct.usage").read())
    except FileNotFoundError:
        stat = dict(l.split() for l in open(f"{path}/cpu.stat"))
        return int(stat["usage_usec"]) * 1000


def cmd_sample():
    """Until file STOP exists: time, the controller's and the nodes' cgroup CPU (ns), every 20 ms."""
    path, ctl, nodes, stop = sys.argv[2:6]
    with open(path, "w", buffering=1) as out:
        while not os.path.exists(stop):
            out.write(f"{time.time():.6f} {cg_usage(ctl)} {cg_usage(nodes)}\n")
            time.sleep(0.02)


STRACE = re.compile(r"^(\d+)\s+(\d+\.\d+) (\w+)\((.*)$")
# What internal-sftp touches for certroll: the XSOAR files, work_dir, and the
# folders `mkdir -p` walks through on the way there.
SFTP_PATHS = ("/usr/local/demisto", "/var/lib/certroll", "/var/lib/demisto", "/etc/demisto.conf")
SFTP_CALLS = {"openat": "open", "newfstatat": "stat", "statx": "stat", "fstat": "fstat", "fchmod": "setstat",
              "fchown": "setstat", "read": "read", "write": "write", "close": "close", "rename": "rename",
              "renameat2": "rename", "unlink": "remove", "unlinkat": "remove", "mkdir": "mkdir", "mkdirat": "mkdir"}


def unescape(s):
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape", "replace")


def sftp_path(rest):
    """The file a traced call works on: a fd's path (strace -y) or the first path argument."""
    m = re.match(r'(?:\d+<([^>]*)>|AT_FDCWD<[^>]*>, "([^"]*)"|"([^"]*)")', rest)
    return next((g for g in m.groups() if g), None) if m else None


def cmd_trace():
    """Per node of the traced pair, by journal step: the commands its sshd ran,
    every process started, sessions, and the SFTP server's file work."""
    work, d = arg("--work"), arg("--dir")
    run_id = json.loads(open(f"{work}/out.json").read().strip().splitlines()[-1])["runID"]
    lines = journal(f"{work}/state", run_id)
    header, spans = intervals(lines)
    nodes = json.load(open(f"{d}/sandbox.json"))["nodes"]
    result = {"run_id": run_id, "nodes": {}}
    def stepper(address):
        mine = sorted((s, e, label) for label, s, e, node in spans if node == address)
        first = mine[0][0] if mine else float("inf")

        def step_at(when):
            cur = "preflight"
            for s, e, label in mine:
                if when >= s: cur = label
            return cur if when >= first else "preflight"
        return step_at
    new_step = lambda: dict(commands=[], processes=0, sessions=0, sftp=[], connections=0, tls=0)
    for n in nodes[:2]:
        step_at = stepper(n["address"])
        parsed = [m.groups() for m in map(STRACE.match, open(f"{work}/trace.node{n['index']}")) if m]
        exec_pids = {pid for pid, _, call, rest in parsed if call == "execve" and not rest.startswith('"/usr/sbin/sshd"')}
        steps = {}
        for pid, when, call, rest in parsed:
            when = float(when)
            if when < header: continue
            st = steps.setdefault(step_at(when), new_step())
            if call == "execve":
                if rest.startswith('"/usr/sbin/sshd"'): continue
                st["processes"] += 1
                am = re.match(r'"[^"]*", \["(?:-?\w+)", "-c", "((?:[^"\\]|\\.)*)"', rest)
                if am: st["commands"].append(unescape(am.group(1)))
            elif call == "write" and "sshd.log>" in rest:
                wm = re.search(r'sshd\.log>, "((?:[^"\\]|\\.)*)"', rest)
                text = unescape(wm.group(1)).strip() if wm else ""
                if text.startswith("Starting session"): st["sessions"] += 1
                elif text.startswith("Accepted publickey"): st["connections"] += 1
            elif call in SFTP_CALLS and pid not in exec_pids and "resumed>" not in rest:
                path = sftp_path(rest)
                if path and (path.startswith(SFTP_PATHS) or path in ("/var", "/var/lib")):
                    st["sftp"].append(SFTP_CALLS[call])
        result["nodes"][n["address"]] = {"role": n["role"], "steps": steps}
    # The controller's TCP connects (strace -f -ttt -e connect): SSH and TLS probes, by node and step.
    if os.path.exists(f"{work}/ctl.trace"):
        conns = {}
        for line in open(f"{work}/ctl.trace"):
            m = re.search(r'^\d+\s+(\d+\.\d+) connect\(.*sin_port=htons\((\d+)\), sin_addr=inet_addr\("([\d.]+)"\)', line)
            if not m: continue
            when, port, addr = float(m.group(1)), m.group(2), m.group(3)
            conns[f"{addr} port {port}"] = conns.get(f"{addr} port {port}", 0) + 1
            if port == "443" and addr in result["nodes"]:
                result["nodes"][addr]["steps"].setdefault(stepper(addr)(when), new_step())["tls"] += 1
        result["controller_connects"] = conns
    print(json.dumps(result))


def cmd_replay():
    """Replays on node 1, over an open ControlMaster connection, each command the
    traced apply ran there (not the service's own stop/start), alone and then each
    step's commands as one shell: the nodes' cgroup CPU of each, median of 5."""
    work, d, cm, cg = arg("--work"), arg("--dir"), arg("--cm"), arg("--cgroup")
    import subprocess
    tr = json.load(open(f"{work}/trace.json"))
    first = next(iter(tr["nodes"].values()))
    node = json.load(open(f"{d}/sandbox.json"))["nodes"][0]["name"]
    usage = lambda: cg_usage(cg)

    def cost(command):
        runs = []
        for _ in range(5):
            before = usage()
            subprocess.run(["ssh", "-F", f"{d}/ssh_config", "-o", "ControlMaster=no", "-o", f"ControlPath={cm}/%h", node, command],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            runs.append((usage() - before) / 1e9)
            # The lock command refuses a second time unless its lock is gone.
            if "set -C" in command:
                subprocess.run(["ssh", "-F", f"{d}/ssh_config", "-o", "ControlMaster=no", "-o", f"ControlPath={cm}/%h", node,
                                "rm -f /var/lib/certroll/lock"], stdin=subprocess.DEVNULL)
        return statistics.median(runs)
    out = {"commands": [], "steps": {}}
    for step in ["preflight", "lock", "stage", "backup", "stop", "swap", "start", "verify", "unlock"]:
        cmds = [c for c in first["steps"].get(step, {}).get("commands", []) if not re.search(r"demisto (stop|start)$", c)]
        if not cmds: continue
        alone = [cost(c) for c in cmds]
        out["commands"] += [dict(step=step, command=" ".join(c.split())[:90], cpu=x) for c, x in zip(cmds, alone)]
        out["steps"][step] = dict(count=len(cmds), alone=sum(alone), together=cost("\n".join(cmds)) if len(cmds) > 1 else alone[0],
                                  commands=cmds)
    # Stage's checks and the backup need nothing from each other's answers: one shell for both.
    if "stage" in out["steps"] and "backup" in out["steps"]:
        both = out["steps"]["stage"]["commands"] + out["steps"]["backup"]["commands"]
        out["steps"]["stage + backup"] = dict(count=len(both), together=cost("\n".join(both)),
                                              alone=out["steps"]["stage"]["alone"] + out["steps"]["backup"]["alone"])
    for v in out["steps"].values(): v.pop("commands", None)
    print(json.dumps(out))


def cmd_adopt():
    """Every process in the sandbox's node network namespaces, into the nodes' cgroup."""
    d, cg = arg("--dir"), arg("--cgroup")
    want = {os.stat(f"/run/netns/{n['netns']}").st_ino for n in json.load(open(f"{d}/sandbox.json"))["nodes"]}
    moved = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino in want:
                with open(f"{cg}/cgroup.procs", "w") as f: f.write(pid)
                moved += 1
        except OSError:
            pass
    print(moved)


STEPS = ["startup", "preflight", "lock", "stage", "backup", "stop", "swap", "start", "verify", "endpoints", "after-success",
         "unlock", "between steps", "finish"]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ms(s):
    return "–" if s is None else f"{s * 1000:.0f} ms"


def per_node_avg(rec, key):
    return sum(c[key] for c in rec["per_node"].values()) / rec["nodes"]


def step_table(recs, sizes, key, extra, extras):
    """One row per size: the median per node of each step's CPU under `key`, then `extras(record)` per node."""
    cols = [s for s in STEPS if any(r.get(key, {}).get(s) for r in recs)]
    print("| nodes | " + " | ".join(cols + extra) + " |")
    print("|---:|" + "---:|" * (len(cols) + len(extra)))
    for n in sizes:
        c = [r for r in recs if r["nodes"] == n and r["kind"] == "certroll"]
        cells = [ms(med([r.get(key, {}).get(s, 0) / n for r in c])) for s in cols]
        cells += [ms(med([extras(r)[k] / n for r in c])) for k in range(len(extra))]
        print(f"| {n} | " + " | ".join(cells) + " |")
    print()


def cmd_report():
    work = arg("--work")
    recs = [json.loads(l) for l in open(f"{work}/records.jsonl")]
    sizes = sorted({r["nodes"] for r in recs})
    by = lambda n, k: [r for r in recs if r["nodes"] == n and r["kind"] == k]
    print(f"Measured {datetime.utcnow():%Y-%m-%d %H:%M} UTC; release build; sandbox nodes in live-backup pairs; "
          f"{len(by(sizes[0], 'certroll'))} runs of each, alternating (medians). Floor: plain `ssh`, one ControlMaster connection per node, "
          "then over it `service demisto stop` on every node, `service demisto start` on the primaries, then on the backups. "
          "certroll: `apply` of a new leaf (two EC P-256 leaves alternate). Machine CPU: busy jiffies of `/proc/stat` "
          "(everything on the machine, other builds included); sandbox CPU: the nodes' and the controller's cpuacct cgroups only.\n")
    print("| nodes | load before | floor wall | certroll wall | ratio | machine CPU/node: floor | certroll | over floor "
          "| sandbox CPU/node: floor | certroll | over floor | of which controller | controller peak RSS | certroll exits |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in sizes:
        f, c = by(n, "floor"), by(n, "certroll")
        fw, cw = med([r["wall"] for r in f]), med([r["wall"] for r in c])
        fb, cb = med([r["busy_s"] / n for r in f]), med([r["busy_s"] / n for r in c])
        fs, cs = med([(r["cg_nodes_s"] + r["cg_ctl_s"]) / n for r in f]), med([(r["cg_nodes_s"] + r["cg_ctl_s"]) / n for r in c])
        ctl = med([r.get("ctl_cpu_s", 0) / n for r in c])
        rss = max((r.get("rss_mb", 0) for r in c), default=0)
        exits = ",".join(str(r["exit"]) for r in c)
        print(f"| {n} ({n // 2} pairs, `--parallel {max(1, n // 2)}`) | {c[0]['load'] if c else '?'} | {fw:.2f} s | {cw:.2f} s | "
              f"**{cw / fw:.2f}×** | {ms(fb)} | {ms(cb)} | **{ms(cb - fb)}** | {ms(fs)} | {ms(cs)} | {ms(cs - fs)} | {ms(ctl)} | "
              f"{rss:.0f} MB | {exits} |")
    print()
    verdicts = []
    for n in sizes:
        f, c = by(n, "floor"), by(n, "certroll")
        ratio = med([r["wall"] for r in c]) / med([r["wall"] for r in f])
        if n == 10:
            verdicts.append(f"- 10 nodes: certroll {ratio:.2f}× the floor's wall — target ≤ 1.1×: {'met' if ratio <= 1.1 else 'not met'}.")
        if n == 100:
            over_m = med([r["busy_s"] / n for r in c]) - med([r["busy_s"] / n for r in f])
            over_s = med([(r["cg_nodes_s"] + r["cg_ctl_s"]) / n for r in c]) - med([(r["cg_nodes_s"] + r["cg_ctl_s"]) / n for r in f])
            rss = max(r.get("rss_mb", 0) for r in c)
            verdicts.append(f"- 100 nodes: {ratio:.2f}× the floor's wall — target ≤ 1.25×: {'met' if ratio <= 1.25 else 'not met'}; "
                  f"{ms(over_m)} of machine CPU per node over the floor ({ms(over_s)} by the sandbox's cgroups) — target ≤ 30 ms: "
                  f"{'met' if max(over_m, over_s) <= 0.03 else 'not met'}; controller peak RSS {rss:.0f} MB — target ≤ 64 MB: "
                  f"{'met' if rss <= 64 else 'not met'}.")
    if verdicts: print("\n".join(verdicts) + "\n")

    print("Per node, per run (average over the nodes, median of the runs; from each node's sshd log at VERBOSE and its veth counters: SSH and TLS, headers included):\n")
    print("| nodes | who | connections | commands (exec channels) | SFTP channels | bytes to the node | from the node | packets to the node | from the node |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        for k in ("floor", "certroll"):
            rs = by(n, k)
            v = lambda key: med([per_node_avg(r, key) for r in rs])
            print(f"| {n} | {k} | {v('connections'):.1f} | {v('commands'):.1f} | {v('sftp_sessions'):.1f} | "
                  f"{v('veth_to_node'):.0f} | {v('veth_from_node'):.0f} | {v('packets_to_node'):.0f} | {v('packets_from_node'):.0f} |")
    print()

    print("Controller CPU per node by step (its cgroup's CPU sampled every 20 ms; each interval shared among the journal "
          "steps running in it; preflight = header → the cluster's facts; startup = before the journal's header: inventory, "
          "certificate checks; finish = after the last step: report, closing connections):\n")
    step_table(recs, sizes, "cpu_by_step", ["total (time -v)"], lambda r: [r.get("ctl_cpu_s", 0)])
    print("The nodes' CPU per node by step, the same way from their cgroup (sshd, shells, commands, xsoar-sim; the floor's "
          "whole run beside it):\n")
    floor_nodes = {n: med([r["cg_nodes_s"] for r in by(n, "floor")]) for n in sizes}
    step_table(recs, sizes, "node_cpu_by_step", ["total", "floor's total"], lambda r: [r["cg_nodes_s"], floor_nodes[r["nodes"]]])

    svc_path = f"{work}/service-times.2"
    if 2 in sizes and os.path.exists(svc_path):
        svc = [list(map(float, l.split())) for l in open(svc_path) if l.strip()]
        stop = statistics.median(b - a for a, b, c in svc)
        start = statistics.median(c - b for a, b, c in svc)
        base = stop + 2 * start
        c, f = by(2, "certroll"), by(2, "floor")
        outages = [o["outage"] for r in c for o in r.get("outages", [])]
        fo = [r["floor_outage"] for r in f if "floor_outage" in r]
        print(f"A single pair. The service's own stop {ms(stop)} and start {ms(start)} (inside node 1, no SSH, median of {len(svc)}); "
              f"what no tool can avoid: one stop (both nodes' stops may overlap) and two starts (the backup only after the primary) = {ms(base)}.\n")
        print("| | certroll | floor |")
        print("|---|---:|---:|")
        print(f"| wall | {ms(med([r['wall'] for r in c]))} | {ms(med([r['wall'] for r in f]))} |")
        print(f"| wall − (stop + 2 starts) | **{ms(med([r['wall'] for r in c]) - base)}** | {ms(med([r['wall'] for r in f]) - base)} |")
        print(f"| outage: first stop → last node verified (certroll), first stop → last start returned (floor) | {ms(med(outages))} | {ms(med(fo))} |")
        print(f"| outage − (stop + 2 starts) | **{ms(med(outages) - base if outages else None)}** | {ms(med(fo) - base if fo else None)} |")
        print()
        over_w = med([r["wall"] for r in c]) - base
        over_o = med(outages) - base if outages else float("inf")
        print(f"- Pair: wall {ms(over_w)} above the service's own stop and two starts — target ≤ 0.3 s: "
              f"{'met' if over_w <= 0.3 else 'not met'}; outage minus them {ms(over_o)} — target < 0.1 s: "
              f"{'met' if over_o < 0.1 else 'not met'}.")
        print()
        print("Where the pair's wall time goes (journal; a step's wall is the union of its nodes' spans: stage, backup, stop, swap and verify run on both nodes at once, start one node after the other):\n")
        cols = [s for s in STEPS if any(s in r.get("wall_by_step", {}) for r in c)]
        print("| " + " | ".join(cols) + " | wall |")
        print("|" + "---:|" * (len(cols) + 1))
        print("| " + " | ".join(ms(med([r.get("wall_by_step", {}).get(s, 0) for r in c])) for s in cols)
              + f" | {ms(med([r['wall'] for r in c]))} |")
        print()

    if os.path.exists(f"{work}/trace.json"):
        tr = json.load(open(f"{work}/trace.json"))
        print(f"What one pair apply does on each node, by step (an extra run under strace, not timed: every process the node's sshd "
              f"starts, and the SFTP server's file system calls on the XSOAR files and work_dir):\n")
        print("| node | step | commands | processes | channels | TLS handshakes | SFTP requests |")
        print("|---|---|---:|---:|---:|---:|---|")
        order = ["preflight", "lock", "stage", "backup", "stop", "swap", "start", "verify", "unlock"]
        for addr, nd in tr["nodes"].items():
            tot = dict(commands=0, processes=0, sessions=0, sftp=0, tls=0)
            for step in order + [s for s in nd["steps"] if s not in order]:
                st = nd["steps"].get(step)
                if not st: continue
                ops = {}
                for o in st["sftp"]: ops[o] = ops.get(o, 0) + 1
                tot["commands"] += len(st["commands"]); tot["processes"] += st["processes"]
                tot["sessions"] += st["sessions"]; tot["sftp"] += len(st["sftp"]); tot["tls"] += st.get("tls", 0)
                print(f"| {nd['role']} | {step} | {len(st['commands'])} | {st['processes']} | {st['sessions']} | {st.get('tls', 0)} | "
                      f"{len(st['sftp'])}{' (' + ', '.join(f'{k} {v}' for k, v in sorted(ops.items())) + ')' if ops else ''} |")
            print(f"| {nd['role']} | **all** | **{tot['commands']}** | **{tot['processes']}** | **{tot['sessions']}** | **{tot['tls']}** | **{tot['sftp']}** |")
        if tr.get("controller_connects"):
            print("\nTCP connections the controller opened, per node: " +
                  ", ".join(f"{k} × {v}" for k, v in sorted(tr["controller_connects"].items())) + ".")
        first = next(iter(tr["nodes"].values()))
        print("\nThe commands, in order, on the primary:\n")
        print("```")
        for step in order:
            for cmd in first["steps"].get(step, {}).get("commands", []):
                one = " ".join(cmd.split())
                print(f"{step:9} {one[:150]}{'…' if len(one) > 150 else ''}")
        print("```\n")

    if os.path.exists(f"{work}/replay.json"):
        rp = json.load(open(f"{work}/replay.json"))
        print("Each of those commands replayed alone on node 1 over an open connection (the nodes' CPU: sshd's channel, "
              "the shell, what it runs; median of 5; the service's own stop and start left out), and each step's commands "
              "as one shell:\n")
        print("| step | command | node CPU |")
        print("|---|---|---:|")
        for c in rp["commands"]:
            shown = c["command"].replace("|", "\\|")
            print(f"| {c['step']} | `{shown}` | {c['cpu'] * 1000:.1f} ms |")
        print()
        print("| step | commands | alone, summed | as one shell | saved |")
        print("|---|---:|---:|---:|---:|")
        for step, v in rp["steps"].items():
            print(f"| {step} | {v['count']} | {v['alone'] * 1000:.1f} ms | {v['together'] * 1000:.1f} ms | {(v['alone'] - v['together']) * 1000:.1f} ms |")
        print()

    if os.path.exists(f"{work}/units"):
        u = {l.split()[0]: int(l.split()[1]) / 1e9 for l in open(f"{work}/units") if l.strip()}
        print("Unit costs on a node (node 1's side only, from the nodes' cgroup, averaged over 20 repetitions, 99 for SFTP): "
              f"one command over an open connection (`true`) {ms(u.get('exec'))}; `service demisto status` {ms(u.get('status'))}; "
              f"a new connection with one command {ms(u.get('connection'))}; an SFTP channel {ms(u.get('sftp_subsystem'))} "
              f"(with its first request); one more SFTP request {u.get('sftp_request', 0) * 1000:.2f} ms; "
              f"one TLS handshake (xsoar-sim's side) {ms(u.get('tls'))}.\n")


if __name__ == "__main__":
    {"record": cmd_record, "sample": cmd_sample, "trace": cmd_trace, "adopt": cmd_adopt, "replay": cmd_replay, "report": cmd_report}[sys.argv[1]]()
