#!/usr/bin/env python3
"""The pizza server benchmark: every model of `pizzeria serve` and a
Boost.Asio peer server, side by side under `pizzeria load`, in one run.

For each scenario (connections x pipeline depth) and each server it prints
throughput, p50 and p99 latency, errors, the server's RSS, thread count and
CPU time, and the ratios to the asio peer (throughput: higher is better;
p99: lower is better). Then it measures what 10,000 idle connections cost
each event-driven server in RSS.

    bench/server_bench.py [--build-dir build/release] [--duration 5]
                          [--models reactor,coro,...] [--quick] [--markdown FILE]
                          [--isolate] [--scenarios 10000x1,50x16] [--no-idle]
                          [--json FILE]

How the servers share the machine (--method):

  turns (the default): every server of the scenario runs at once, and one
      `pizzeria load --compare-with` loads them in turns, each with its own
      connections, and measures each over its own turns. This machine's
      speed drifts between levels a few seconds long (the same server does
      100,000 req/s, then 150,000), and it moves within a second as well.
      In turns of 10 ms both sides of a comparison see the same speed;
      back-to-back runs drew different levels and swung a ratio by +-15%,
      and 100 ms turns still left +-2-5% per round. The order of the turns
      changes from round to round (rotated, and reversed every other round),
      so that no server always follows the same one.
      A turn must be long against the time a request waits in the server:
      when a turn ends, its requests in flight are served during the next
      one, and a new turn starts with every connection sending at once.
      That wait is ~0.3 ms at 50 connections (10 ms turns), ~10 ms at 1,000
      (1 s turns) and ~120 ms at 10,000, where turns long enough (10 s or
      more) would no longer share the machine's levels: 10,000 connections
      are measured back to back.
  back-to-back: one server at a time, each with a fresh load run, rounds
      alternating the servers (asio, m1, m2, asio, ...): the method of the
      earlier tables in docs/benchmarks.md.

The ratio columns are medians over the rounds of each round's ratio to
asio; the last column counts the rounds in which a server was at least as
fast as asio. --json keeps every round, and bench/pool_server_runs.py pools
the paired ratios of several runs.

Servers and the load generator run on this machine's loopback only; every
run is bounded by --duration.

--isolate (root): the server runs on CPU 0 and the load generator on CPU 1,
both at nice -20, so that builds and other work on a shared machine get
about 1% of those cores in the middle of a run. Without it, a busy
neighbour moves p99 by 2x or more from run to run. (Not SCHED_FIFO: the
kernel's real-time throttling stops a saturated real-time task for 50 ms of
every second, and at 1,000 connections those stalls land right at the p99,
which then jumped between 13 and 57 ms from run to run for every server.)
"""
import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALL_MODELS = ["threads", "pool", "polling", "select", "poll", "reactor", "coro", "uring"]


ISOLATE = False
# `pizzeria load --busy-poll`: how long the load generator spins for more
# replies before it sleeps ("0s": never).
LOADER_BUSY_POLL = "30us"


def placed(argv, cpu):
    """argv, pinned to `cpu` at the highest nice priority when --isolate is on."""
    if not ISOLATE:
        return argv
    return ["nice", "-n", "-20", "taskset", "-c", str(cpu)] + argv


class Server:
    """A server process on an ephemeral loopback port."""

    def __init__(self, name, argv, port_pattern):
        self.name = name
        self.process = subprocess.Popen(placed(argv, 0), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = re.search(port_pattern, line)
            if match:
                self.port = int(match.group(1))
                break
        if self.port is None:
            self.stop()
            raise RuntimeError(f"{name}: server did not report its port")
        # Keep draining its output so it never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        time.sleep(0.2)

    def status(self):
        fields = {}
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        return fields

    def rss_kib(self):
        return int(self.status()["VmRSS"].split()[0])

    def threads(self):
        return int(self.status()["Threads"])

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as stat:
            parts = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(parts[11]) + int(parts[12])) / ticks  # utime + stime

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(build, name):
    if name == "asio":
        return Server("asio", [str(build / "bench" / "asio_pizza_server"), "0", "1"], r"listening on (\d+)")
    argv = [str(build / "pizzeria"), "serve", "--model", name, "--port", "0", "--workers", "1",
            "--max-connections", "20000", "--idle-timeout", "0"]
    if name == "pool":
        argv[argv.index("--workers") + 1] = "8"
    return Server(name, argv, r"Starting up at: .*:(\d+)")


def run_load(build, server, connections, pipeline, duration):
    warmup = 3 if connections >= 5000 else 1
    with tempfile.NamedTemporaryFile(suffix=".json") as result_file:
        argv = load_argv(build, server.port, connections, pipeline, duration, warmup, result_file.name)
        cpu_before = server.cpu_seconds()
        peak_threads = [server.threads()]
        done = threading.Event()

        def sample():
            while not done.wait(0.25):
                try:
                    peak_threads[0] = max(peak_threads[0], server.threads())
                except (OSError, KeyError, ValueError):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        completed = subprocess.run(placed(argv, 1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   timeout=duration + warmup + 60)
        done.set()
        sampler.join()
        cpu = server.cpu_seconds() - cpu_before
        try:
            result = json.load(open(result_file.name))
        except (OSError, ValueError):
            return {"failed": completed.stderr.strip().splitlines()[-1:] or ["no result"]}
    return row_of(result, server, pipeline, cpu, peak_threads[0])


def load_argv(build, port, connections, pipeline, duration, warmup, json_path):
    argv = [str(build / "pizzeria"), "load", f"127.0.0.1:{port}", "-c", str(connections),
            "-p", str(pipeline), "-d", f"{duration}s", "--warmup", f"{warmup}s", "--expect", "Thank",
            "--timeout", "5s", "--json", json_path]
    if connections >= 1000:
        argv += ["--connect-rate", "5000"]
    if LOADER_BUSY_POLL not in ("0", "0s"):
        argv += ["--busy-poll", LOADER_BUSY_POLL]
    return argv


def row_of(result, server, pipeline, cpu, threads):
    errors = result["errors"]
    return {
        "rps": result["replies_per_second"],
        "p50_us": result["latency"]["p50"] / 1000,
        "p99_us": result["latency"]["p99"] / 1000,
        # Closed loop: every open connection has `pipeline` requests out, so
        # this is how many connections the server was really serving at the
        # end (a server that is slow to accept can have fewer, and then
        # shorter queues: its latency is not comparable). In turns, only the
        # server whose turn ended the run has requests out.
        "busy": result["in_flight_at_end"] // pipeline,
        "errors": sum(v for v in errors.values() if isinstance(v, int)) + result.get("unanswered", 0),
        "rss_mib": server.rss_kib() / 1024,
        "threads": threads,
        "cpu_s": cpu,
    }


def turns_for(connections):
    """The turn and the drain at the end of each, as `pizzeria load` spells
    them. A turn must be long against a request's time in the queue (see the
    top of this file). The end of each turn sends nothing, so the requests in
    flight are answered before the next server's turn: otherwise they wait
    behind its first requests on the servers' shared CPU, and in 10 ms turns
    those are more than 1% of all requests, so the p99 measured the turn
    switches (1-3 ms) instead of the servers. A request waits ~0.3 ms at 50
    connections and at most ~15 ms at 1,000."""
    return ("1s", "50ms") if connections >= 1000 else ("10ms", "2ms")


def run_turns(build, servers, connections, pipeline, duration):
    """Every server in `servers` (already running) measured in turns;
    a row per server name. One `pizzeria load --compare-with` when it can
    hold every server's connections; otherwise (10,000 connections to each
    of several servers exceed this machine's 20,000 descriptors per process)
    one `pizzeria load --turn-slot I/N` per server, which share the turns
    through the clock."""
    warmup = 3 if connections >= 5000 else 1
    turn, drain = turns_for(connections)
    count = len(servers)
    files = [tempfile.NamedTemporaryFile(suffix=".json") for _ in servers]
    one_process = count * connections + 100 <= resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if one_process:
        argv = load_argv(build, servers[0].port, connections, pipeline, duration, warmup, files[0].name)
        for other in servers[1:]:
            argv += ["--compare-with", f"127.0.0.1:{other.port}"]
        commands = [argv + ["--turn", turn, "--turn-drain", drain]]
    else:
        commands = []
        for slot, server in enumerate(servers):
            argv = load_argv(build, server.port, connections, pipeline, duration, warmup, files[slot].name)
            argv += ["--turn-slot", f"{slot + 1}/{count}", "--turn", turn, "--turn-drain", drain]
            if "--connect-rate" in argv:
                # The same 5,000 connects a second in all as in one process.
                argv[argv.index("--connect-rate") + 1] = str(5000 // count)
            commands.append(argv)
    cpu_before = {server.name: server.cpu_seconds() for server in servers}
    loaders = [subprocess.Popen(placed(argv, 1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for argv in commands]
    stderr = []
    for loader in loaders:
        try:
            stderr.append(loader.communicate(timeout=count * (duration + warmup) + 60)[1])
        except subprocess.TimeoutExpired:
            for each in loaders:
                each.kill()
            raise
    try:
        results = [json.load(open(f.name)) for f in files[:len(commands)]]
        if one_process:
            results += results[0].get("compared", [])
    except (OSError, ValueError):
        last = [line for text in stderr for line in text.strip().splitlines()][-1:]
        return {server.name: {"failed": last or ["no result"]} for server in servers}
    finally:
        for f in files:
            f.close()
    return {server.name: row_of(each, server, pipeline, server.cpu_seconds() - cpu_before[server.name],
                                server.threads())
            for server, each in zip(servers, results)}


def idle_cost(server, count):
    before = server.rss_kib()
    holder = subprocess.Popen([sys.executable, str(ROOT / "bench" / "idle_connections.py"), "127.0.0.1",
                               str(server.port), str(count), "120"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = holder.stdout.readline().split()
    opened = int(line[1]) if len(line) > 1 else 0
    after = server.rss_kib()
    threads = server.threads()
    # The polling model's lesson: waiting by asking again and again burns a
    # core even when nobody orders.
    cpu_before = server.cpu_seconds()
    time.sleep(2)
    idle_cpu = (server.cpu_seconds() - cpu_before) / 2
    holder.stdin.close()
    holder.wait(timeout=60)
    return opened, (after - before) / 1024, threads, idle_cpu


def idle_table(build, models, idle_count):
    """The RSS-growth table for `idle_count` idle connections, printed as it is made."""
    lines = [f"### RSS growth with {idle_count:,} idle connections", "",
             "| server | connections open | RSS growth MiB | threads | CPU while idle (cores) |",
             "|---|---|---|---|---|"]
    for name in ["asio"] + models:
        try:
            server = start_server(build, name)
        except (RuntimeError, OSError) as error:
            lines.append(f"| {name} | failed: {error} | | | |")
            continue
        try:
            opened, growth, threads, idle_cpu = idle_cost(server, idle_count)
            lines.append(f"| {name} | {opened:,} | {growth:.1f} | {threads} | {idle_cpu:.2f} |")
        finally:
            server.stop()
    lines.append("")
    print("\n".join(lines))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "release"))
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--models", default=",".join(ALL_MODELS))
    parser.add_argument("--quick", action="store_true", help="1,000 connections at most, 2 s runs")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds per scenario; the median is shown")
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument("--isolate", action="store_true",
                        help="pin server and load to one CPU each at nice -20 (root)")
    parser.add_argument("--scenarios",
                        help="only these, as CONNECTIONSxPIPELINE,... (e.g. 10000x1,50x16); default: all")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle-connection RSS measurement")
    parser.add_argument("--method", choices=["turns", "back-to-back"], default="turns",
                        help="load the servers in turns within one run (default), or one "
                             "after another")
    parser.add_argument("--json", help="also write every round's throughput, p50 and p99 to this file, "
                                       "so several runs can be pooled")
    parser.add_argument("--loader-busy-poll", default="30us", metavar="DURATION",
                        help="the load generator's --busy-poll (default %(default)s; 0s: it sleeps as "
                             "soon as it has nothing to do)")
    args = parser.parse_args()
    global ISOLATE, LOADER_BUSY_POLL
    ISOLATE = args.isolate
    LOADER_BUSY_POLL = args.loader_busy_poll
    # In turns, one load generator holds every server's connections where
    # it can: 40,000 descriptors at 10,000 connections and four servers.
    # Raising the hard limit needs CAP_SYS_RESOURCE (this machine's root
    # lacks it); run_turns splits the load over processes when it cannot.
    wanted = 10000 * (1 + len(args.models.split(","))) + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        else:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    build = Path(args.build_dir)
    models = [m for m in args.models.split(",") if m]
    duration = 2 if args.quick else args.duration

    scenarios = [(1, 1), (50, 1), (1000, 1), (10000, 1), (50, 16)]
    if args.quick:
        scenarios = [(1, 1), (50, 1), (1000, 1), (50, 16)]
    if args.scenarios:
        try:
            scenarios = [tuple(int(n) for n in item.split("x")) for item in args.scenarios.split(",")]
            if any(len(s) != 2 or min(s) < 1 for s in scenarios):
                raise ValueError
        except ValueError:
            parser.error(f"--scenarios: expected CONNECTIONSxPIPELINE,..., got {args.scenarios!r}")

    method = ("in turns within each round (back to back at 10,000 connections)" if args.method == "turns"
              else "one server after another")
    lines = [f"Server benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
             f"{duration:g} s per server and round, median of {args.repeat} rounds, {method}, "
             f"pizzeria load -t 1 --busy-poll {args.loader_busy_poll}, servers with one worker"
             f"{', isolated (server CPU 0, load CPU 1, nice -20)' if args.isolate else ''}", ""]
    raw = []
    for connections, pipeline in scenarios:
        # Rounds alternate the servers (asio, m1, m2, ..., asio, m1, ...), so
        # a slow spell of this shared machine hits every server alike; each
        # row holds the medians over the rounds.
        runs = {name: [] for name in ["asio"] + models}
        scenario_method = args.method if connections < 5000 else "back-to-back"
        for round_number in range(args.repeat):
            if scenario_method == "turns":
                # Every server at once; the turn order rotates each round and
                # reverses every other one, so no server always follows the
                # same one.
                names = list(runs)
                shift = round_number % len(names)
                names = names[shift:] + names[:shift]
                if round_number % 2 == 1:
                    names.reverse()
                servers = []
                try:
                    for name in names:
                        servers.append(start_server(build, name))
                    round_rows = run_turns(build, servers, connections, pipeline, duration)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                    round_rows = {name: {"failed": [str(error)]} for name in names}
                finally:
                    for server in servers:
                        server.stop()
                for name in runs:
                    runs[name].append(round_rows[name])
                continue
            for name in runs:
                try:
                    server = start_server(build, name)
                except (RuntimeError, OSError) as error:
                    runs[name].append({"failed": [str(error)]})
                    continue
                try:
                    runs[name].append(run_load(build, server, connections, pipeline, duration))
                except subprocess.TimeoutExpired:
                    runs[name].append({"failed": ["load timed out"]})
                finally:
                    server.stop()
        raw.append({"connections": connections, "pipeline": pipeline, "method": scenario_method,
                    "rounds": {name: [{k: r.get(k) for k in ("rps", "p50_us", "p99_us", "errors", "failed")}
                                      for r in results] for name, results in runs.items()}})
        rows = {}
        for name, results in runs.items():
            good = sorted((r for r in results if "failed" not in r), key=lambda r: r["rps"])
            if not good:
                rows[name] = results[-1]
                continue
            # Throughput, p50 and p99 are each the median over the rounds
            # (a p99 of a few hundred microseconds moves by 30% with one
            # hiccup of the machine, and need not come with the median
            # throughput); errors are the worst round's; the rest come from
            # the round with the median throughput.
            row = dict(good[len(good) // 2])
            for key in ("p50_us", "p99_us"):
                row[key] = statistics.median(r[key] for r in good)
            row["errors"] = max(r["errors"] for r in good)
            rows[name] = row
        # "10ms" as "10 ms" in the headings.
        turn, drain = (re.sub(r"(\d)([a-z])", r"\1 \2", text) for text in turns_for(connections))
        how = ("back to back" if scenario_method == "back-to-back"
               else f"in {turn} turns, each ending in a {drain} drain")
        lines.append(f"### {connections} connections, pipeline {pipeline} ({how})")
        lines.append("")
        lines.append("| server | req/s | p50 us | p99 us | errors | conns busy at end | RSS MiB | threads | CPU s "
                     "| req/s vs asio | p99 vs asio | rounds at >= asio req/s |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name, row in rows.items():
            if "failed" in row:
                lines.append(f"| {name} | failed: {' '.join(row['failed'])} | | | | | | | | | | |")
                continue
            # Paired by round: in turns, the same run measured both; back to
            # back, each round of a model ran right after the same round of
            # asio. The ratio is the median of the rounds' ratios.
            pairs = [(mine, theirs) for mine, theirs in zip(runs[name], runs["asio"])
                     if "failed" not in mine and "failed" not in theirs
                     and theirs["rps"] > 0 and theirs["p99_us"] > 0]
            ratio = statistics.median(m["rps"] / t["rps"] for m, t in pairs) if pairs else float("nan")
            p99_ratio = (statistics.median(m["p99_us"] / t["p99_us"] for m, t in pairs)
                         if pairs else float("nan"))
            ahead = f"{sum(1 for mine, theirs in pairs if mine['rps'] >= theirs['rps'])}/{len(pairs)}"
            lines.append(f"| {name} | {row['rps']:,.0f} | {row['p50_us']:.0f} | {row['p99_us']:.0f} | "
                         f"{row['errors']} | {row['busy']:,} | {row['rss_mib']:.1f} | {row['threads']} | {row['cpu_s']:.2f} | "
                         f"{ratio:.2f}x | {p99_ratio:.2f}x | {ahead} |")
        lines.append("")
        print("\n".join(lines[-(len(rows) + 4):]), flush=True)

    if not args.no_idle:
        lines += idle_table(build, models, 1000 if args.quick else 10000)
    if args.markdown:
        Path(args.markdown).write_text("\n".join(lines) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"started": lines[0], "scenarios": raw}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
