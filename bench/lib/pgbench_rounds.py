"""Runs pgbench select-only against several targets in interleaved rounds and prints the tables.

Called by bench/pg-passthrough with Debian's /usr/bin/python3 (standard library only). Every
target is a PostgreSQL endpoint on 127.0.0.1; a proxy target also names the PID whose CPU time
(utime + stime from /proc/PID/stat, all threads) is read before and after each pgbench run.

Round r runs every (workload, clients) cell once on every target; the order of the targets is
rotated by r + the cell's index, so no target is always first or always after the same one.
Figures are medians over rounds; ratios and added latencies are medians of per-round pairs (the
target and direct measured in the same round, seconds apart).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_ticks(pid):
    """utime + stime of a whole process (every thread, dead ones included), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    # rest[0] is field 3 (state); utime is field 14, stime field 15.
    return int(rest[11]) + int(rest[12])


def machine_busy_ticks():
    """Busy time of every CPU (user, nice, system, irq, softirq, steal), in clock ticks."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, fields[1:9])
    return user + nice + system + irq + softirq + steal


def parse_pgbench(out):
    def grab(pattern):
        m = re.search(pattern, out, re.M)
        return float(m.group(1)) if m else None

    return {
        "txns": grab(r"^number of transactions actually processed: (\d+)"),
        "latency_ms": grab(r"^latency average = ([0-9.]+) ms"),
        "tps": grab(r"^tps = ([0-9.]+) \(without initial connection time\)"),
        "failed": grab(r"^number of failed transactions: (\d+)"),
    }


class Target:
    def __init__(self, spec):
        name, port, pid = spec.split(":")
        self.name, self.port, self.pid = name, int(port), int(pid)

    def alive(self):
        return self.pid == 0 or os.path.exists(f"/proc/{self.pid}")


def run_pgbench(args, target, protocol, clients, seconds, workload=("-S",)):
    """One pgbench run against `target`; `workload` is the pgbench arguments that choose the
    transaction (select-only by default; bench/pg-guard passes `-f SCRIPT`)."""
    jobs = min(clients, args.max_jobs)
    cmd = [args.pgbench, "-h", "127.0.0.1", "-p", str(target.port), "-U", args.user,
           *workload, "-n", f"--protocol={protocol}", "-c", str(clients), "-j", str(jobs),
           "-T", str(seconds), args.database]
    env = dict(os.environ, PGSSLMODE="disable", PGAPPNAME="uniqguard-bench")
    cpu0 = proc_cpu_ticks(target.pid) if target.pid else None
    busy0 = machine_busy_ticks()
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    busy1 = machine_busy_ticks()
    cpu1 = proc_cpu_ticks(target.pid) if target.pid and target.alive() else None
    res = parse_pgbench(proc.stdout)
    bad = (proc.returncode != 0 or not res["txns"] or res["tps"] is None
           or res["latency_ms"] is None or (res["failed"] or 0) > 0)
    if bad:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-6:])
        print(f"  ! {target.name} {protocol} c={clients}: pgbench failed "
              f"(exit {proc.returncode}):\n    " + tail.replace("\n", "\n    "),
              file=sys.stderr, flush=True)
        return None
    txns = res["txns"]
    res["wall_s"] = wall
    res["proxy_cpu_us"] = ((cpu1 - cpu0) / CLK_TCK * 1e6 / txns) if cpu0 is not None and cpu1 is not None else None
    res["machine_cpu_us"] = (busy1 - busy0) / CLK_TCK * 1e6 / txns
    return res


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec, none="—"):
    return none if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", action="append", required=True, help="name:port:pid (pid 0: no proxy)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--protocols", default="simple,extended,prepared")
    ap.add_argument("--max-jobs", type=int, default=2)
    ap.add_argument("--pgbench", default="/usr/lib/postgresql/15/bin/pgbench")
    ap.add_argument("--user", default="postgres")
    ap.add_argument("--database", default="bench")
    ap.add_argument("--raw", action="store_true", help="also print every run")
    args = ap.parse_args()

    targets = [Target(s) for s in args.target]
    names = [t.name for t in targets]
    clients_list = [int(c) for c in args.clients.split(",")]
    protocols = args.protocols.split(",")
    cells = [(p, c) for p in protocols for c in clients_list]
    results = {}  # (protocol, clients, target, round) -> result or None

    if args.warmup > 0:
        print(f"warm-up: {args.warmup} s per target (not recorded)", file=sys.stderr, flush=True)
        for t in targets:
            run_pgbench(args, t, "simple", max(clients_list), args.warmup)

    total = args.rounds * len(cells) * len(targets)
    done = 0
    for r in range(args.rounds):
        for ci, (proto, clients) in enumerate(cells):
            k = (r + ci) % len(targets)
            order = targets[k:] + targets[:k]
            for t in order:
                done += 1
                if not t.alive():
                    print(f"  ! {t.name} (pid {t.pid}) is gone", file=sys.stderr, flush=True)
                    results[(proto, clients, t.name, r)] = None
                    continue
                res = run_pgbench(args, t, proto, clients, args.seconds)
                results[(proto, clients, t.name, r)] = res
                if res:
                    cpu = fmt(res["proxy_cpu_us"], ".1f")
                    print(f"  [{done:3d}/{total}] round {r + 1} {proto:8s} c={clients} {t.name:10s} "
                          f"tps={res['tps']:9.1f} lat={res['latency_ms']:.3f} ms proxy_cpu={cpu} µs/txn",
                          file=sys.stderr, flush=True)

    def series(proto, clients, name, key):
        return [results[(proto, clients, name, r)][key] if results.get((proto, clients, name, r)) else None
                for r in range(args.rounds)]

    def paired(proto, clients, a, b, key, op):
        out = []
        for r in range(args.rounds):
            x, y = results.get((proto, clients, a, r)), results.get((proto, clients, b, r))
            if x and y and x[key] is not None and y[key] is not None:
                out.append(op(x[key], y[key]))
        return med(out)

    rounds_txt = f"{args.rounds} round" + ("" if args.rounds == 1 else "s")
    ratio = lambda x, y: x / y if y else None
    diff_us = lambda x, y: (x - y) * 1000.0
    proxies = [n for n in names if n != "direct"]
    failures = sum(1 for v in results.values() if v is None)

    print()
    print(f"#### Throughput (TPS, median of {rounds_txt}; ×direct = median of per-round ratios)")
    print()
    hdr = ["workload", "clients"] + names + ["uniqguard/pgbouncer"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for proto, clients in cells:
        row = [proto, str(clients)]
        for n in names:
            tps = med(series(proto, clients, n, "tps"))
            if n == "direct":
                row.append(fmt(tps, ".0f"))
            else:
                row.append(f"{fmt(tps, '.0f')} ({fmt(paired(proto, clients, n, 'direct', 'tps', ratio), '.2f')}×)")
        row.append(fmt(paired(proto, clients, "uniqguard", "pgbouncer", "tps", ratio), ".3f"))
        print("| " + " | ".join(row) + " |")

    print()
    print(f"#### Mean latency (ms, pgbench \"latency average\", median of {rounds_txt}; ×direct)")
    print()
    hdr = ["workload", "clients"] + names
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for proto, clients in cells:
        row = [proto, str(clients)]
        for n in names:
            lat = med(series(proto, clients, n, "latency_ms"))
            if n == "direct":
                row.append(fmt(lat, ".3f"))
            else:
                row.append(f"{fmt(lat, '.3f')} ({fmt(paired(proto, clients, n, 'direct', 'latency_ms', ratio), '.2f')}×)")
        print("| " + " | ".join(row) + " |")

    if 1 in clients_list:
        print()
        print("#### Added latency at 1 client (µs over direct, median of per-round differences)")
        print()
        hdr = ["workload"] + proxies + ["uniqguard − pgbouncer"]
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for proto in protocols:
            row = [proto] + [fmt(paired(proto, 1, n, "direct", "latency_ms", diff_us), ".1f") for n in proxies]
            row.append(fmt(paired(proto, 1, "uniqguard", "pgbouncer", "latency_ms", diff_us), "+.1f"))
            print("| " + " | ".join(row) + " |")

    print()
    print("#### CPU time per transaction (µs; proxy = utime+stime of the proxy process from /proc/PID/stat "
          "÷ transactions, median [min–max]; machine = busy time of all CPUs ÷ transactions, median)")
    print()
    hdr = ["workload", "clients"] + [f"{n} proxy" for n in proxies] + [f"{n} machine" for n in names]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for proto, clients in cells:
        row = [proto, str(clients)]
        for n in proxies:
            s = [v for v in series(proto, clients, n, "proxy_cpu_us") if v is not None]
            row.append(f"{med(s):.2f} [{min(s):.2f}–{max(s):.2f}]" if s else "—")
        for n in names:
            row.append(fmt(med(series(proto, clients, n, "machine_cpu_us")), ".1f"))
        print("| " + " | ".join(row) + " |")

    if "uniqguard" in names and "pgbouncer" in names:
        print()
        print("#### SPEC §7 passthrough targets (medians of this run)")
        print()
        print("| workload | clients | check | uniqguard | pgbouncer | met |")
        print("|---|---|---|---|---|---|")
        high = max(clients_list)
        for proto in protocols:
            ug = med(series(proto, high, "uniqguard", "proxy_cpu_us"))
            pb = med(series(proto, high, "pgbouncer", "proxy_cpu_us"))
            ok = None if ug is None or pb is None else ug <= pb
            print(f"| {proto} | {high} | proxy CPU µs/txn ≤ PgBouncer's | {fmt(ug, '.2f')} | {fmt(pb, '.2f')} | "
                  f"{'—' if ok is None else ('yes' if ok else 'NO')} |")
            r_ = paired(proto, high, "uniqguard", "pgbouncer", "tps", ratio)
            ok = None if r_ is None else r_ >= 1.0
            print(f"| {proto} | {high} | TPS ≥ PgBouncer's (ratio) | {fmt(r_, '.3f')} | 1 | "
                  f"{'—' if ok is None else ('yes' if ok else 'NO')} |")
            if 1 in clients_list:
                ug = paired(proto, 1, "uniqguard", "direct", "latency_ms", diff_us)
                pb = paired(proto, 1, "pgbouncer", "direct", "latency_ms", diff_us)
                ok = None if ug is None or pb is None else ug <= pb
                print(f"| {proto} | 1 | added latency µs ≤ PgBouncer's | {fmt(ug, '.1f')} | {fmt(pb, '.1f')} | "
                      f"{'—' if ok is None else ('yes' if ok else 'NO')} |")

    if args.raw:
        print()
        print("#### Every run")
        print()
        print("| round | workload | clients | target | TPS | latency ms | proxy CPU µs/txn | machine CPU µs/txn |")
        print("|---|---|---|---|---|---|---|---|")
        for r in range(args.rounds):
            for proto, clients in cells:
                for n in names:
                    res = results.get((proto, clients, n, r))
                    if res:
                        print(f"| {r + 1} | {proto} | {clients} | {n} | {res['tps']:.1f} | {res['latency_ms']:.3f} | "
                              f"{fmt(res['proxy_cpu_us'], '.2f')} | {res['machine_cpu_us']:.1f} |")
                    else:
                        print(f"| {r + 1} | {proto} | {clients} | {n} | FAILED | | | |")

    if failures:
        print(f"\n{failures} run(s) FAILED; see the messages above.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
