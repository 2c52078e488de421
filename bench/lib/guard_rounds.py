"""Runs pgbench INSERT scripts against several targets in interleaved rounds and prints the tables.

Called by bench/pg-guard with Debian's /usr/bin/python3 (standard library only). It reuses
pgbench_rounds.py (one pgbench run, CPU time from /proc, medians); what differs is that every
target has its own pgbench script (each inserts into its own table), there is one client count,
and the SPEC §7 checks are those for guarded INSERTs:

  - TPS through uniqguard (guarded table) ≥ 0.95 × TPS through PgBouncer (unguarded table);
  - uniqguard's CPU per guarded INSERT ≤ PgBouncer's per INSERT + 2 µs (prepared), + 5 µs (simple).

Round r runs every protocol once on every target; the order of the targets is rotated by r + the
protocol's index, so no target is always first or always after the same one. Figures are medians
over rounds; ratios and differences are medians of per-round pairs (seconds apart in one round).
"""
import argparse
import json
import sys

from pgbench_rounds import Target, fmt, med, run_pgbench

# SPEC §7: the proxy CPU a guarded INSERT may add over PgBouncer's per INSERT, by protocol.
CPU_ALLOWANCE_US = {"simple": 5.0, "prepared": 2.0}
TPS_RATIO_MIN = 0.95
GUARDED, ANCHOR, FORWARD = "uniqguard", "pgbouncer", "uniqguard-fwd"


class ScriptTarget(Target):
    """name:port:pid:script (pid 0: no proxy)."""

    def __init__(self, spec):
        name, port, pid, script = spec.split(":", 3)
        super().__init__(f"{name}:{port}:{pid}")
        self.script = script


def verdict(ok):
    return "—" if ok is None else ("PASS" if ok else "not met")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", action="append", required=True, help="name:port:pid:script")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--protocols", default="simple,prepared")
    ap.add_argument("--max-jobs", type=int, default=2)
    ap.add_argument("--pgbench", default="/usr/lib/postgresql/15/bin/pgbench")
    ap.add_argument("--user", default="postgres")
    ap.add_argument("--database", default="bench")
    ap.add_argument("--raw", action="store_true", help="also print every run")
    ap.add_argument("--totals", help="write {target: transactions pgbench counted, warm-up included} as JSON")
    args = ap.parse_args()

    targets = [ScriptTarget(s) for s in args.target]
    names = [t.name for t in targets]
    protocols = args.protocols.split(",")
    clients = args.clients
    results = {}  # (protocol, target, round) -> result or None
    totals = {n: 0 for n in names}

    def run(t, proto, seconds):
        res = run_pgbench(args, t, proto, clients, seconds, workload=("-f", t.script))
        if res:
            totals[t.name] += int(res["txns"])
        return res

    warmup_failures = 0
    if args.warmup > 0:
        print(f"warm-up: {args.warmup} s per target and protocol (not recorded)", file=sys.stderr, flush=True)
        for proto in protocols:
            for t in targets:
                if run(t, proto, args.warmup) is None:
                    warmup_failures += 1
                    print(f"  ! warm-up of {t.name} ({proto}) failed", file=sys.stderr, flush=True)

    total = args.rounds * len(protocols) * len(targets)
    done = 0
    for r in range(args.rounds):
        for pi, proto in enumerate(protocols):
            k = (r + pi) % len(targets)
            for t in targets[k:] + targets[:k]:
                done += 1
                if not t.alive():
                    print(f"  ! {t.name} (pid {t.pid}) is gone", file=sys.stderr, flush=True)
                    results[(proto, t.name, r)] = None
                    continue
                res = run(t, proto, args.seconds)
                results[(proto, t.name, r)] = res
                if res:
                    print(f"  [{done:3d}/{total}] round {r + 1} {proto:8s} c={clients} {t.name:13s} "
                          f"tps={res['tps']:9.1f} lat={res['latency_ms']:.3f} ms "
                          f"proxy_cpu={fmt(res['proxy_cpu_us'], '.1f')} µs/txn "
                          f"machine={res['machine_cpu_us']:.1f} µs/txn",
                          file=sys.stderr, flush=True)

    if args.totals:
        with open(args.totals, "w") as f:
            json.dump(totals, f)

    def series(proto, name, key):
        return [results[(proto, name, r)][key] if results.get((proto, name, r)) else None
                for r in range(args.rounds)]

    def paired(proto, a, b, key, op):
        out = []
        for r in range(args.rounds):
            x, y = results.get((proto, a, r)), results.get((proto, b, r))
            if x and y and x[key] is not None and y[key] is not None:
                out.append(op(x[key], y[key]))
        return med(out)

    def spread(proto, name, key):
        s = [v for v in series(proto, name, key) if v is not None]
        return f"{med(s):.2f} [{min(s):.2f}–{max(s):.2f}]" if s else "—"

    rounds_txt = f"{args.rounds} round" + ("" if args.rounds == 1 else "s")
    ratio = lambda x, y: x / y if y else None
    minus = lambda x, y: x - y
    proxies = [n for n in names if n != "direct"]
    has = lambda *ns: all(n in names for n in ns)
    failures = sum(1 for v in results.values() if v is None)

    print()
    print(f"#### Throughput (TPS at {clients} clients, median of {rounds_txt}; ×direct = median of per-round ratios)")
    print()
    hdr = ["workload"] + names + ([f"{GUARDED}/{ANCHOR}"] if has(GUARDED, ANCHOR) else [])
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for proto in protocols:
        row = [proto]
        for n in names:
            tps = med(series(proto, n, "tps"))
            if n == "direct" or "direct" not in names:
                row.append(fmt(tps, ".0f"))
            else:
                row.append(f"{fmt(tps, '.0f')} ({fmt(paired(proto, n, 'direct', 'tps', ratio), '.2f')}×)")
        if has(GUARDED, ANCHOR):
            row.append(fmt(paired(proto, GUARDED, ANCHOR, "tps", ratio), ".3f"))
        print("| " + " | ".join(row) + " |")

    print()
    print(f"#### Mean latency (ms, pgbench \"latency average\", median of {rounds_txt})")
    print()
    hdr = ["workload"] + names
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for proto in protocols:
        print("| " + " | ".join([proto] + [fmt(med(series(proto, n, "latency_ms")), ".3f") for n in names]) + " |")

    print()
    print("#### CPU time per INSERT (µs; proxy = utime+stime of the proxy process from /proc/PID/stat "
          "÷ transactions, median [min–max]; differences = median of per-round differences; "
          "machine = busy time of all CPUs ÷ transactions, median)")
    print()
    diffs = []
    if has(GUARDED, ANCHOR):
        diffs.append((GUARDED, ANCHOR))
    if has(GUARDED, FORWARD):
        diffs.append((GUARDED, FORWARD))
    hdr = (["workload"] + [f"{n} proxy" for n in proxies] + [f"{a} − {b}" for a, b in diffs]
           + [f"{n} machine" for n in names])
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for proto in protocols:
        row = [proto] + [spread(proto, n, "proxy_cpu_us") for n in proxies]
        row += [fmt(paired(proto, a, b, "proxy_cpu_us", minus), "+.2f") for a, b in diffs]
        row += [fmt(med(series(proto, n, "machine_cpu_us")), ".1f") for n in names]
        print("| " + " | ".join(row) + " |")

    if has(GUARDED, ANCHOR):
        print()
        print(f"#### SPEC §7 guarded-INSERT targets ({clients} clients, this run)")
        print()
        print("| workload | check | uniqguard | target | met |")
        print("|---|---|---|---|---|")
        for proto in protocols:
            r_ = paired(proto, GUARDED, ANCHOR, "tps", ratio)
            ok = None if r_ is None else r_ >= TPS_RATIO_MIN
            print(f"| {proto} | TPS ÷ PgBouncer's (median of per-round ratios) | {fmt(r_, '.3f')} | "
                  f"≥ {TPS_RATIO_MIN} | {verdict(ok)} |")
            allowance = CPU_ALLOWANCE_US.get(proto)
            d = paired(proto, GUARDED, ANCHOR, "proxy_cpu_us", minus)
            ug = med(series(proto, GUARDED, "proxy_cpu_us"))
            pb = med(series(proto, ANCHOR, "proxy_cpu_us"))
            measured = f"{fmt(d, '+.2f')} ({fmt(ug, '.2f')} vs {fmt(pb, '.2f')})"
            if allowance is None:
                print(f"| {proto} | proxy CPU µs/INSERT − PgBouncer's | {measured} | (none for {proto}) | — |")
            else:
                ok = None if d is None else d <= allowance
                print(f"| {proto} | proxy CPU µs/INSERT − PgBouncer's (median of per-round differences; "
                      f"medians in brackets) | {measured} | ≤ +{allowance:g} | {verdict(ok)} |")

    if args.raw:
        print()
        print("#### Every run")
        print()
        print("| round | workload | target | TPS | latency ms | transactions | proxy CPU µs/txn | machine CPU µs/txn |")
        print("|---|---|---|---|---|---|---|---|")
        for r in range(args.rounds):
            for proto in protocols:
                for n in names:
                    res = results.get((proto, n, r))
                    if res:
                        print(f"| {r + 1} | {proto} | {n} | {res['tps']:.1f} | {res['latency_ms']:.3f} | "
                              f"{int(res['txns'])} | {fmt(res['proxy_cpu_us'], '.2f')} | {res['machine_cpu_us']:.1f} |")
                    else:
                        print(f"| {r + 1} | {proto} | {n} | FAILED | | | | |")

    if failures or warmup_failures:
        print(f"\n{failures} run(s) and {warmup_failures} warm-up run(s) FAILED; see the messages on stderr.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
