"""bench/report.py - turns the JSON lines of bench/run.sh into the results:
<date>.json (every run, medians with min-max, the target ratios, the machine),
latest.md (tables) and the data files of bench/chart.gp.

Standard library only (run with /usr/bin/python3).
"""
import argparse
import json
import os
import platform
import statistics

SERVERS = ["sio-c", "node", "python", "raw"]
CASES = [
    # case, title, [(field, label, scale, format)]
    ("tool-ceiling", "The tool's own ceiling: raw echo, 100 connections x 200 in flight, 16 B",
     [("ops_per_s", "round trips/s", 1, "{:,.0f}"), ("tool_cpu", "tool CPU", 100, "{:.0f}%"),
      ("tool_cpu_us_per_op", "tool us/rt", 1, "{:,.3f}"),
      ("tool_capacity_ops_per_s", "tool capacity (rt/s on one core)", 1, "{:,.0f}"),
      ("server_core_busy", "server core busy", 100, "{:.0f}%")]),
    ("connect", "connect: N connections (WebSocket + namespace CONNECT; raw: the 101)",
     [("ops_per_s", "connections/s", 1, "{:,.0f}"), ("lat_us.p50", "p50 us", 1, "{:,.0f}"),
      ("lat_us.p99", "p99 us", 1, "{:,.0f}"), ("server_cpu_us_per_op", "server core us/conn", 1, "{:,.1f}"),
      ("server_proc_us_per_op", "server process us/conn", 1, "{:,.1f}"),
      ("tool_cpu", "tool CPU", 100, "{:.0f}%")]),
    ("echo", "echo: 100 clients x 10 in flight, 100 B, acks",
     [("ops_per_s", "round trips/s", 1, "{:,.0f}"), ("lat_us.p50", "p50 us", 1, "{:,.0f}"),
      ("lat_us.p99", "p99 us", 1, "{:,.0f}"), ("lat_us.p999", "p99.9 us", 1, "{:,.0f}"),
      ("server_cpu_us_per_op", "server core us/rt", 1, "{:,.2f}"),
      ("server_proc_us_per_op", "server process us/rt", 1, "{:,.2f}"), ("tool_cpu", "tool CPU", 100, "{:.0f}%")]),
    ("echo-half-node", "echo at half of Node's peak (--rate), same clients",
     [("rate_target", "target/s", 1, "{:,.0f}"), ("ops_per_s", "round trips/s", 1, "{:,.0f}"),
      ("lat_us.p50", "p50 us", 1, "{:,.0f}"), ("lat_us.p99", "p99 us", 1, "{:,.0f}"),
      ("lat_us.p999", "p99.9 us", 1, "{:,.0f}"), ("tool_cpu", "tool CPU", 100, "{:.0f}%")]),
    ("broadcast-1k", "broadcast to 1,000 receivers (4 senders x window 2)",
     [("ops_per_s", "deliveries/s", 1, "{:,.0f}"), ("lat_us.p50", "p50 us", 1, "{:,.0f}"),
      ("lat_us.p99", "p99 us", 1, "{:,.0f}"), ("server_cpu_us_per_op", "server core us/delivery", 1, "{:,.3f}"),
      ("server_proc_us_per_op", "server process us/delivery", 1, "{:,.3f}"),
      ("lost", "lost", 1, "{:,.0f}"), ("tool_cpu", "tool CPU", 100, "{:.0f}%")]),
    ("broadcast-10k", "broadcast to 10,000 receivers (4 senders x window 2)",
     [("ops_per_s", "deliveries/s", 1, "{:,.0f}"), ("lat_us.p50", "p50 us", 1, "{:,.0f}"),
      ("lat_us.p99", "p99 us", 1, "{:,.0f}"), ("server_cpu_us_per_op", "server core us/delivery", 1, "{:,.3f}"),
      ("server_proc_us_per_op", "server process us/delivery", 1, "{:,.3f}"),
      ("lost", "lost", 1, "{:,.0f}"), ("tool_cpu", "tool CPU", 100, "{:.0f}%")]),
    ("idle-10k", "idle: 10,000 connected clients",
     [("held", "held", 1, "{:,.0f}"), ("bytes_per_conn", "server bytes/conn", 1, "{:,.0f}"),
      ("server_rss_after", "server RSS MiB", 1 / 1048576, "{:,.1f}")]),
    ("idle-19k", "idle: 19,900 connected clients",
     [("held", "held", 1, "{:,.0f}"), ("bytes_per_conn", "server bytes/conn", 1, "{:,.0f}"),
      ("server_rss_after", "server RSS MiB", 1 / 1048576, "{:,.1f}")]),
    ("churn", "churn: 50 slots connecting and disconnecting",
     [("ops_per_s", "cycles/s", 1, "{:,.0f}"), ("server_rss_before", "RSS before MiB", 1 / 1048576, "{:,.1f}"),
      ("server_rss_after", "RSS after MiB", 1 / 1048576, "{:,.1f}"), ("rss_growth", "growth KiB", 1 / 1024, "{:+,.0f}"),
      ("errors", "errors", 1, "{:,.0f}")]),
]


def get(run, field):
    if field == "rss_growth":
        return run.get("server_rss_after", 0) - run.get("server_rss_before", 0)
    v = run
    for k in field.split("."):
        v = v.get(k, 0) if isinstance(v, dict) else 0
    return v


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
    return {"nproc": os.cpu_count(), "model": model, "memory": mem, "kernel": platform.release()}


def main():
    ap = argparse.ArgumentParser()
    for a in ("runs", "date", "mode", "reps", "seconds", "load-before", "load-after", "json", "md", "plot"):
        ap.add_argument("--" + a)
    a = ap.parse_args()
    runs = [json.loads(l) for l in open(a.runs) if l.strip()]
    summary = {}
    for case, _, fields in CASES:
        for server in SERVERS:
            rs = [r["run"] for r in runs if r["case"] == case and r["server"] == server and r["run"]]
            failed = [r for r in runs if r["case"] == case and r["server"] == server and not r["run"]]
            if not rs and not failed:
                continue
            entry = {"runs": len(rs), "failed_runs": len(failed)}
            for f, *_ in fields + [("tool_saturated", None), ("errors", None), ("server_core_busy", None)]:
                vals = [float(get(r, f)) for r in rs]
                if vals:
                    entry[f] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
            entry["saturated_runs"] = sum(1 for r in rs if r.get("tool_saturated"))
            summary.setdefault(case, {})[server] = entry

    def med(case, server, field):
        try:
            return summary[case][server][field]["median"]
        except KeyError:
            return None

    def ratio(x, y):
        return x / y if x is not None and y not in (None, 0) else None

    targets = []

    def target(name, value, goal, better, cmd):
        ok = None if value is None else (value >= goal if better == "higher" else value <= goal)
        targets.append({"target": name, "value": value, "goal": goal, "better": better, "met": ok, "command": cmd})

    target("tool ceiling: raw echo round trips/s (tool on one core)", med("tool-ceiling", "raw", "ops_per_s"),
           1.5e6, "higher", "sio-bench echo --raw -n 100 -w 200 --payload 16")
    target("tool ceiling: its cost per round trip as a one-core rate", med("tool-ceiling", "raw", "tool_capacity_ops_per_s"),
           1.5e6, "higher", "same run: 1e6 / (tool CPU us per round trip)")
    target("echo round trips/s: sio-c / node", ratio(med("echo", "sio-c", "ops_per_s"), med("echo", "node", "ops_per_s")),
           10, "higher", "sio-bench echo -n 100 -w 10 --payload 100 -d 10")
    for n in ("1k", "10k"):
        target(f"broadcast deliveries/s at {n}: sio-c / raw",
               ratio(med(f"broadcast-{n}", "sio-c", "ops_per_s"), med(f"broadcast-{n}", "raw", "ops_per_s")),
               0.9, "higher", f"sio-bench broadcast -n {1000 if n == '1k' else 10000} -s 4 -w 2")
        target(f"server core CPU per delivery at {n}: node / sio-c",
               ratio(med(f"broadcast-{n}", "node", "server_cpu_us_per_op"),
                     med(f"broadcast-{n}", "sio-c", "server_cpu_us_per_op")),
               10, "higher", "same runs: /proc/stat busy time of CPU 0 / deliveries")
        target(f"server process CPU per delivery at {n}: node / sio-c",
               ratio(med(f"broadcast-{n}", "node", "server_proc_us_per_op"),
                     med(f"broadcast-{n}", "sio-c", "server_proc_us_per_op")),
               10, "higher", "same runs: /proc/PID/stat utime+stime / deliveries")
    target("idle memory at 19.9k: sio-c bytes per connection", med("idle-19k", "sio-c", "bytes_per_conn"),
           1536, "lower", "sio-bench idle -n 19900 (VmRSS after - before) / held")
    target("connect rate: sio-c / raw", ratio(med("connect", "sio-c", "ops_per_s"), med("connect", "raw", "ops_per_s")),
           0.7, "higher", "sio-bench connect -n 10000 -c 200")
    target("p99 echo latency at half Node's peak: node / sio-c",
           ratio(med("echo-half-node", "node", "lat_us.p99"), med("echo-half-node", "sio-c", "lat_us.p99")),
           10, "higher", "sio-bench echo -n 100 -w 10 --rate <node echo / 2>")

    m = machine()
    result = {
        "date": a.date, "mode": a.mode, "repetitions": int(a.reps), "seconds": int(a.seconds),
        "machine": m, "load_before": a.load_before, "load_after": a.load_after,
        "pinning": "server on CPU 0, sio-bench on CPU 1 (taskset)",
        "summary": summary, "targets": targets, "runs": runs,
    }
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    # ---- Markdown
    L = []
    L.append(f"# Benchmark results {a.date} ({a.mode} run, {a.reps} repetition(s), {a.seconds} s)\n")
    L.append(f"Machine: {m['nproc']} CPUs, {m['model']}, {m['memory']} RAM, Linux {m['kernel']}. "
             f"Server pinned to CPU 0, sio-bench to CPU 1. Load average before: {a.load_before}; "
             f"after: {a.load_after} (other work on the machine skews every figure).\n")
    L.append("Figures are medians over the repetitions, with min-max in brackets. "
             "Servers: sio-c = tests/helpers/sio_test_server (Release), node = socket.io 4 "
             "(bench/peers/node-server.mjs), python = python-socketio 5 + aiohttp, "
             "raw = tests/helpers/ws_echo_server.c (WebSocket only: the ceiling). "
             "`server core` = busy share of CPU 0 from /proc/stat (softirq included) per operation.\n")
    L.append("## Targets\n")
    L.append("| target | measured | goal | met |")
    L.append("|---|---|---|---|")
    for t in targets:
        v = "n/a" if t["value"] is None else f"{t['value']:,.2f}"
        g = ("≥ " if t["better"] == "higher" else "≤ ") + f"{t['goal']:,.2f}"
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
        L.append(f"| {t['target']} | {v} | {g} | {met} |")
    L.append("")
    for case, title, fields in CASES:
        if case not in summary:
            continue
        L.append(f"## {title}\n")
        L.append("| server | " + " | ".join(lbl for _, lbl, _, _ in fields) + " | tool saturated |")
        L.append("|---" * (len(fields) + 2) + "|")
        for server in SERVERS:
            e = summary[case].get(server)
            if not e:
                continue
            cells = []
            for f, _, scale, fmt in fields:
                s = e.get(f)
                if not s:
                    cells.append("n/a")
                    continue
                c = fmt.format(s["median"] * scale)
                if e["runs"] > 1:
                    c += " (" + fmt.format(s["min"] * scale) + "–" + fmt.format(s["max"] * scale) + ")"
                cells.append(c)
            sat = f"{e['saturated_runs']}/{e['runs']}" + (f", {e['failed_runs']} failed" if e["failed_runs"] else "")
            L.append(f"| {server} | " + " | ".join(cells) + f" | {sat} |")
        L.append("")
    with open(a.md, "w") as f:
        f.write("\n".join(L))

    # ---- chart data: one file per panel, "server median min max"
    os.makedirs(a.plot, exist_ok=True)
    panels = [("echo", "ops_per_s"), ("broadcast-1k", "ops_per_s"), ("broadcast-10k", "ops_per_s"),
              ("connect", "ops_per_s"), ("idle-19k", "bytes_per_conn"), ("echo-half-node", "lat_us.p99")]
    for i, (case, field) in enumerate(panels):
        rows = []
        for server in SERVERS:
            s = summary.get(case, {}).get(server, {}).get(field)
            if s:
                rows.append(f"{server} {s['median']} {s['min']} {s['max']}\n")
        with open(os.path.join(a.plot, f"p{i}.dat"), "w") as f:
            f.write("".join(rows) or "none 0 0 0\n")


if __name__ == "__main__":
    main()
