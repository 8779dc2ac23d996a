#!/usr/bin/env python3
"""The tables of `make bench`, from what the guest measured.

tests/bench/10-bench.sh writes each raw result as a block of the results
console (`=== FILE NAME` ... `=== END FILE`); the kernel's console has the
tcpmig_scale suite's lines. This reads both, prints the tables with the
targets of issue 10 (Documentation/tcpmig/performance.rst), and writes
OUT/results.json, a CSV per scenario and the plots (SVG).

  report.py --results results.log --console console.log --out DIR
"""

import argparse
import csv
import io
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svg  # noqa: E402


def files(results):
    """The FILE blocks of the results console: {name: text}."""
    out, name, lines = {}, None, []
    for line in results.splitlines():
        if line.startswith("=== FILE "):
            name, lines = line[len("=== FILE "):].strip(), []
        elif line == "=== END FILE" and name is not None:
            out[name] = "\n".join(lines) + "\n"
            name = None
        elif name is not None:
            lines.append(line)
    return out


def rows(text):
    """CSV with a header line, as dicts of numbers where they are."""
    out = []
    for r in csv.DictReader(io.StringIO(text)):
        out.append({k: _num(v) for k, v in r.items() if k})
    return out


# `repair-mig front --log`: space-separated, no header.
BASELINE_FRONT = ["port", "t_data", "t_frozen", "t_sent", "t_acked",
                  "t_forwarded", "t_closed", "t_start"]


def front_rows(text):
    """The front's log: mig-bench's CSV, or repair-mig's lines."""
    if text.startswith("port,"):
        return rows(text)
    return [dict(zip(BASELINE_FRONT, map(int, line.split())))
            for line in text.splitlines() if line.strip()]


def _num(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            return float(v)
        except (TypeError, ValueError):
            return v


def pct(values, p):
    """The p-th percentile (nearest rank) of values; None if none."""
    v = sorted(values)
    if not v:
        return None
    k = max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))
    return v[k]


def us(ns):
    return None if ns is None else ns / 1000


def events(text, kind):
    """The monitor's JSON events of `kind`, by client port."""
    out = {}
    for line in text.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("event") == kind and e.get("client"):
            out[int(e["client"].rsplit(":", 1)[1])] = e.get("times", {})
    return out


# The stages of a hand-off, in order: (name, from, to) over the times each
# connection has (the front's and the application's in user space, the
# kernel's stages from the monitor's events).
TCPMIG_STAGES = [
    ("to the kernel", "t_start", "k_start"),
    ("freeze+compile", "k_start", "k_frozen"),
    ("channel wait", "k_frozen", "k_channel"),
    # From the channel, not from `sent`: the peer may read the blob
    # before the front-end's send returns.
    ("to the peer", "k_channel", "k_received"),
    ("inject", "k_received", "k_injected"),
    ("ack back", "k_injected", "k_acked"),
    ("forwarding", "k_acked", "k_forwarding"),
    ("accept", "k_injected", "t_accepted"),
]
BASELINE_STAGES = [
    ("freeze+dump", "t_start", "t_frozen"),
    ("send", "t_frozen", "t_sent"),
    ("rebuild+ack", "t_sent", "t_acked"),
    ("forwarding rule", "t_acked", "t_forwarded"),
    ("accept", "t_start", "t_accepted"),
]


def handoff_runs(blocks):
    """Scenario 1 and 2: per run, each connection's times and hand-off."""
    runs = {}
    for name in blocks:
        m = re.match(r"handoff (\w+) c=(\d+) load=(\w+) clients$", name)
        if not m:
            continue
        mode, conc, load = m.group(1), int(m.group(2)), m.group(3)
        base = f"handoff {mode} c={conc} load={load}"
        clients = rows(blocks[name])
        front = {r["port"]: r for r in front_rows(blocks.get(base + " front", ""))}
        serve = {r["port"]: r for r in rows(blocks.get(base + " serve", ""))}
        fe = events(blocks.get(base + " fe-events", ""), "migrated")
        be = events(blocks.get(base + " be-events", ""), "accepted")
        conns = []
        for c in clients:
            port = c["port"]
            f, s = front.get(port), serve.get(port)
            if not f or not s or not c.get("ok") or not f.get("ok", 1):
                continue
            t = {k: v for k, v in f.items() if k.startswith("t_")}
            t["t_accepted"] = s["t_accepted"]
            for k, v in fe.get(port, {}).items():
                t["k_" + k] = v
            for k, v in be.get(port, {}).items():
                t["k_" + k] = v
            conns.append({"port": port, "times": t,
                          "handoff_ns": t["t_accepted"] - t["t_start"],
                          "client_ns": c["t_answer"] - c["t_connect"]})
        runs[(mode, conc, load)] = {
            "mode": mode, "concurrency": conc, "load": load,
            "connections": len(clients), "measured": len(conns),
            "failed": sum(1 for c in clients if not c.get("ok")),
            "conns": conns,
        }
    for r in runs.values():
        h = [c["handoff_ns"] for c in r["conns"]]
        r["p50_us"], r["p90_us"], r["p99_us"] = (us(pct(h, p)) for p in (50, 90, 99))
        starts = [c["times"]["t_start"] for c in r["conns"]]
        ends = [c["times"]["t_accepted"] for c in r["conns"]]
        span = (max(ends) - min(starts)) / 1e9 if starts else 0
        r["per_second"] = len(starts) / span if span > 0 else None
        stages = TCPMIG_STAGES if r["mode"] == "tcpmig" else BASELINE_STAGES
        r["stages_p50_us"] = {}
        for stage, a, b in stages:
            d = [c["times"][b] - c["times"][a] for c in r["conns"]
                 if a in c["times"] and b in c["times"]]
            r["stages_p50_us"][stage] = us(pct(d, 50))
    return runs


def scale(console):
    """Scenario 4: the tcpmig_scale lines."""
    out = []
    # Not KUnit's own `# tcpmig_scale: pass:2 ...` line.
    for m in re.finditer(r"tcpmig_scale: (table=\S+ .*)", console):
        fields = dict(kv.split("=", 1) for kv in m.group(1).split())
        out.append({k: _num(v) for k, v in fields.items()})
    return out


def fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def table(head, body):
    """Columns as wide as their widest cell, numbers right-aligned."""
    cells = [head] + [[str(c) for c in r] for r in body]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    lines = []
    for j, r in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ratio(a, b):
    return None if a is None or not b else a / b


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--console", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.results, errors="replace") as f:
        blocks = files(f.read())
    with open(args.console, errors="replace") as f:
        console = f.read()
    os.makedirs(args.out, exist_ok=True)
    report, targets = [], []
    say = report.append

    # 0: the floor.
    rtt = {}
    for name, text in blocks.items():
        m = re.match(r"rtt size=(\d+)$", name)
        if m:
            rtt[int(m.group(1))] = json.loads(text)
    say("0. Front-end <-> back-end round trip (a blob out, 64 bytes back)")
    say(table(["blob size", "p50 us", "p90 us", "p99 us"],
              [[f"{s:,} B", fmt(r.get("p50_us"), 1), fmt(r.get("p90_us"), 1),
                fmt(r.get("p99_us"), 1)] for s, r in sorted(rtt.items())]))
    floor = rtt.get(1024, {}).get("p50_us")

    # 1, 2: hand-offs.
    runs = handoff_runs(blocks)
    say("\n1. Hand-off latency (front-end's decision -> back-end "
        "application's accept), us")
    body = []
    keys = sorted({(c, l) for _, c, l in runs}, key=lambda k: (k[1], k[0]))
    for conc, load in keys:
        t, b = runs.get(("tcpmig", conc, load)), runs.get(("baseline", conc, load))
        body.append([f"{conc} at once, {load}",
                     fmt(t and t["p50_us"]), fmt(t and t["p90_us"]), fmt(t and t["p99_us"]),
                     fmt(b and b["p50_us"]), fmt(b and b["p90_us"]), fmt(b and b["p99_us"]),
                     fmt(ratio(b and b["p50_us"], t and t["p50_us"]), 1),
                     fmt(ratio(b and b["p99_us"], t and t["p99_us"]), 1)])
    say(table(["run", "tcpmig p50", "p90", "p99", "baseline p50", "p90", "p99",
               "x p50", "x p99"], body))
    say("   (x: how many times faster tcpmig is; connections that failed "
        "are counted in the JSON)")
    for mode, stages in (("tcpmig", TCPMIG_STAGES), ("baseline", BASELINE_STAGES)):
        sel = [runs[k] for k in sorted(runs, key=lambda k: (k[2], k[1])) if k[0] == mode]
        if not sel:
            continue
        say(f"\n   {mode}: p50 of each stage, us")
        say(table(["stage"] + [f"c={r['concurrency']} {r['load']}" for r in sel],
                  [[s] + [fmt(r["stages_p50_us"].get(s), 1) for r in sel]
                   for s, _, _ in stages]))
    say("\n2. Hand-offs per second (one vCPU)")
    body = []
    for conc, load in keys:
        t, b = runs.get(("tcpmig", conc, load)), runs.get(("baseline", conc, load))
        body.append([f"{conc} at once, {load}", fmt(t and t["per_second"]),
                     fmt(b and b["per_second"]),
                     fmt(ratio(t and t["per_second"], b and b["per_second"]), 1)])
    say(table(["run", "tcpmig", "baseline", "x"], body))

    # 3: forwarding.
    paths = ["tcpmig", "direct", "ipip"]
    fwd = {}
    for p in paths:
        bulk = json.loads(blocks.get(f"bulk {p}", "{}"))
        rr = json.loads(blocks.get(f"rr {p}", "{}"))
        wire = json.loads(blocks.get(f"wire {p}", "{}"))
        over = None
        # What fe sent toward be1 beyond what the client sent it, per
        # client packet (fe's own few packets, ARP say, weigh next to
        # nothing spread over thousands).
        if wire.get("client_tx_packets") and p != "direct":
            over = (wire["fe_tx_bytes"] - wire["client_tx_bytes"]) / wire["client_tx_packets"]
        fwd[p] = {"mbit_per_s": bulk.get("mbit_per_s"), "rr_per_s": rr.get("per_second"),
                  "rr_p99_us": rr.get("p99_us"), "added_bytes_per_packet": over,
                  "wire": wire}
    say("\n3. Forwarding: client -> back-end")
    say(table(["path", "bulk Mbit/s", "req/resp per s", "rr p99 us",
               "bytes added per packet"],
              [[p, fmt(fwd[p]["mbit_per_s"], 1), fmt(fwd[p]["rr_per_s"]),
                fmt(fwd[p]["rr_p99_us"]),
                "0 (no front-end)" if p == "direct" else fmt(fwd[p]["added_bytes_per_packet"], 1)]
               for p in paths]))

    # 4: tables.
    sc = scale(console)
    say("\n4. Flow tables at scale (synthetic entries in tables of the real "
        "shape; beyond its capacity, one raised to the count)")
    say(table(["table", "flows", "capacity", "entry B", "buckets B/flow", "hit ns", "miss ns"],
              [[s["table"], fmt(s["flows"]), fmt(s["capacity"]), s["node_bytes"],
                s["bucket_bytes_per_flow"], s["hit_ns"], s["miss_ns"]] for s in sc]))

    # Targets.
    def run(mode, conc, load="idle"):
        return runs.get((mode, conc, load)) or {}

    t1, b1 = run("tcpmig", 1), run("baseline", 1)
    t100, b100 = run("tcpmig", 100), run("baseline", 100)

    def target(what, value, goal, ok):
        targets.append({"target": what, "value": value, "goal": goal,
                        "met": bool(ok) if value is not None else None})

    v = ratio(t1.get("p50_us"), floor)
    target("hand-off p50 / RTT (1 at once, idle)", v, "<= 1.5", v is not None and v <= 1.5)
    v = ratio(t1.get("p50_us"), b1.get("p50_us"))
    target("hand-off p50 / baseline's", v, "<= 0.2", v is not None and v <= 0.2)
    v = ratio(t1.get("p99_us"), b1.get("p99_us"))
    target("hand-off p99 / baseline's", v, "<= 0.33", v is not None and v <= 1 / 3)
    v = ratio(t100.get("per_second"), b100.get("per_second"))
    target("hand-offs/s / baseline's (100 at once)", v, ">= 5", v is not None and v >= 5)
    v = ratio(fwd["tcpmig"]["mbit_per_s"], fwd["ipip"]["mbit_per_s"])
    target("forwarding / ipip (bulk)", v, ">= 1.0", v is not None and v >= 1.0)
    v = ratio(fwd["tcpmig"]["mbit_per_s"], fwd["direct"]["mbit_per_s"])
    target("forwarding / direct (bulk)", v, ">= 0.8", v is not None and v >= 0.8)
    v = fwd["tcpmig"]["added_bytes_per_packet"]
    target("bytes tcpmig adds per packet", v, "0", v is not None and abs(v) < 1)
    for name in ("forward", "decap"):
        big = [s for s in sc if s["table"] == name]
        if big:
            s = max(big, key=lambda s: s["flows"])
            v = s["node_bytes"] + s["bucket_bytes_per_flow"]
            target(f"{name} table bytes per flow at {s['flows']:,}", v, "<= 128", v <= 128)
            lo = min(big, key=lambda s: s["flows"])
            v = ratio(s["hit_ns"], lo["hit_ns"])
            target(f"{name} lookup {s['flows']:,} / {lo['flows']:,} flows", v,
                   "<= 1.5 (flat)", v is not None and v <= 1.5)
    say("\nTargets")
    say(table(["target", "value", "goal", "met"],
              [[t["target"], fmt(t["value"], 2), t["goal"],
                {True: "yes", False: "NO", None: "-"}[t["met"]]] for t in targets]))
    text = "\n".join(report) + "\n"
    print(text, end="")

    # Files.
    with open(os.path.join(args.out, "report.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "handoffs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        keys_t = sorted({k for r in runs.values() for c in r["conns"] for k in c["times"]})
        w.writerow(["mode", "concurrency", "load", "port", "handoff_us", "client_us"] + keys_t)
        for r in runs.values():
            for c in r["conns"]:
                w.writerow([r["mode"], r["concurrency"], r["load"], c["port"],
                            c["handoff_ns"] / 1000, c["client_ns"] / 1000]
                           + [c["times"].get(k, "") for k in keys_t])
    with open(os.path.join(args.out, "forwarding.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "mbit_per_s", "rr_per_s", "rr_p99_us", "added_bytes_per_packet"])
        for p in paths:
            w.writerow([p, fwd[p]["mbit_per_s"], fwd[p]["rr_per_s"], fwd[p]["rr_p99_us"],
                        fwd[p]["added_bytes_per_packet"]])
    with open(os.path.join(args.out, "scale.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["table", "flows", "node_bytes", "bucket_bytes_per_flow", "hit_ns", "miss_ns"])
        for s in sc:
            w.writerow([s["table"], s["flows"], s["node_bytes"], s["bucket_bytes_per_flow"],
                        s["hit_ns"], s["miss_ns"]])
    summary = {
        "rtt": rtt, "forwarding": fwd, "scale": sc, "targets": targets,
        "handoffs": [{k: v for k, v in r.items() if k != "conns"} for r in runs.values()],
    }
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(summary, f, indent=1)

    # Plots: the latency distributions, and the ratios.
    for conc in sorted({c for _, c, _ in runs}):
        series = []
        for (mode, c, load), r in sorted(runs.items()):
            if c != conc:
                continue
            h = sorted(x["handoff_ns"] / 1000 for x in r["conns"])
            series.append((f"{mode} {load}",
                           [(v, (i + 1) / len(h)) for i, v in enumerate(h)]))
        plot = svg.lines(f"Hand-off latency, {conc} at once", "microseconds",
                         "fraction of hand-offs", series)
        if plot:
            with open(os.path.join(args.out, f"handoff-c{conc}.svg"), "w") as f:
                f.write(plot)
    groups = [
        ("bulk", [ratio(fwd["tcpmig"]["mbit_per_s"], fwd[p]["mbit_per_s"]) for p in ("ipip", "direct")]),
        ("req/resp", [ratio(fwd["tcpmig"]["rr_per_s"], fwd[p]["rr_per_s"]) for p in ("ipip", "direct")]),
    ]
    plot = svg.bars("Forwarding: tcpmig / the others", "ratio", groups,
                    ["tcpmig / ipip", "tcpmig / direct"], reference=1.0)
    if plot:
        with open(os.path.join(args.out, "forwarding.svg"), "w") as f:
            f.write(plot)
    print(f"\nresults: {args.out}/ (report.txt, results.json, *.csv, *.svg)")
    missing = [k for k in ("tcpmig", "baseline") if not any(m == k for m, _, _ in runs)]
    if missing or not rtt or not sc:
        print(f"report: results missing: {missing or ''} "
              f"{'' if rtt else 'rtt'} {'' if sc else 'scale'}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
