#!/usr/bin/env python3
"""The cluster suite: real batond processes in network namespaces,
partitions by nftables, checks from the apps' own records
(docs/design/cluster.md).

    cluster.py --bin BUILD_DIR --app APP_BIN [--nodes N] [--repeat K]
               [--seed S] [--minutes M] [--keep] SCENARIO

Exit status: 0 every check passed, 1 a check failed, 77 namespaces cannot
be made here (not root, no ip netns): CTest's skip.
"""
import argparse
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
import net  # noqa: E402
from nodes import PORT, Contender, Monitor, Node, now  # noqa: E402

SKIP = 77
NAMES = "abcde"
# docs/design/simulator.md §4: heartbeat_ms x heartbeat_miss +
# sync_window_ms + 4 x heartbeat_ms at the default settings.
BOUND_S = 3.0
QUIET_S = 2.0  # observed beyond the longest bound after each heal
# A quorum app after a heal (quorum.md §4): besides BOUND_S, an election
# (up to 2 x the election timeout) and the old lease with its drift
# (1,000 ms x 1.01) before the new grant; it has no failover timeout.
QUORUM_EXTRA_S = 3.0


def app_specs(n, quorum=False):
    """Two apps with different priority lists and failover timeouts; db's
    instance holds the global name dbname. With quorum, one quorum app q
    instead (quorum.md), every node in one priority group: no takeover,
    so every move is a failover the scenario caused."""
    if quorum:
        return {"q": {"nodes": "{" + " ".join(f"{x}@cluster" for x in NAMES[:n]) + "}",
                      "failover_timeout": 0, "mode": "quorum"}}
    if n >= 5:
        web, db, db_timeout = "a, {b c}, d, e", "{d e}, c, b, a", 1500
    else:
        web, db, db_timeout = ", ".join(NAMES[:n]), ", ".join(reversed(NAMES[:n])), 1000

    def full(text):
        return re.sub(r"\b([a-e])\b", r"\1@cluster", text)
    return {
        "web": {"nodes": full(web), "failover_timeout": 0},
        "db": {"nodes": full(db), "failover_timeout": db_timeout, "name": "dbname"},
    }


class Cluster:
    def __init__(self, n, bin_dir, app_bin, netw, seconds, quorum=False):
        self.seconds = seconds  # how long a scenario's partition lasts
        self.schedule = []      # the nemesis's episodes
        self.dir = tempfile.mkdtemp(prefix="baton-cluster.")
        self.batond = os.path.abspath(os.path.join(bin_dir, "batond"))
        self.app_bin = os.path.abspath(app_bin)
        self.net = netw
        self.apps = app_specs(n, quorum)
        self.ref = next(iter(self.apps))  # the app whose owner scenarios aim at
        self.records = os.path.join(self.dir, "records")
        self.instances = checks.Instances(self.records)
        self.nodes = {x: Node(x, self) for x in NAMES[:n]}
        self.contenders = []
        self.monitor = None
        self.stop_event = threading.Event()
        fd = os.open(os.path.join(self.dir, "cookie"), os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(18).hex() + "\n")
        for node in self.nodes.values():
            with open(node.ini, "w") as f:
                f.write(self.config(node))

    def config(self, node):
        lines = ["[node]", f"name = {node.full}", "cookie_file = cookie",
                 f"control_socket = {node.sock}", "log_level = debug",
                 f"state_dir = state-{node.name}", "[nodes]"]  # in self.dir
        lines += [f"{m.full} = {self.net.addr[m.name]}:{PORT}" for m in self.nodes.values()]
        for app, spec in self.apps.items():
            lines += [f"[app {app}]",
                      f"nodes = {spec['nodes']}",
                      f"failover_timeout = {spec['failover_timeout']}",
                      f"start = {self.app_bin} {self.records}",
                      "stop_timeout = 2000"]
            if spec.get("name"):
                lines.append(f"name = {spec['name']}")
            if spec.get("mode"):
                lines.append(f"mode = {spec['mode']}")
        return "\n".join(lines) + "\n"

    def bound(self, app):
        """The stated bound after a heal: 3,000 ms plus the app's failover
        timeout (docs/design/apps.md §5)."""
        if app is None:
            return BOUND_S
        extra = QUORUM_EXTRA_S if self.apps[app].get("mode") == "quorum" else 0.0
        return BOUND_S + extra + self.apps[app]["failover_timeout"] / 1000.0

    def window(self):
        return max(self.bound(a) for a in self.apps) + QUIET_S

    def start(self):
        self.t_start = now()
        for node in self.nodes.values():
            node.start()
        self.monitor = Monitor(self)
        self.monitor.start()
        self.contenders = [Contender(node, self.stop_event) for node in self.nodes.values()]
        for c in self.contenders:
            c.start()

    def owner(self, app):
        live = [i for i in self.instances.of(app) if i.live_at(now())]
        return live[0].node if len(live) == 1 else None

    def settled(self, apps_only=False):
        """Each app runs once (or nowhere if no node may run it any more),
        and one contender holds the contested name."""
        self.instances.read()
        running = [n for n in self.nodes.values() if n.alive()]
        for app in self.apps:
            n_live = len([i for i in self.instances.of(app) if i.live_at(now())])
            if n_live != (1 if running else 0):
                return False
        return apps_only or len([c for c in self.contenders if c.holds]) == 1

    def wait_settled(self, timeout=30.0):
        deadline = now() + timeout
        while now() < deadline:
            if self.settled():
                return True
            time.sleep(0.1)
        return False


# --- scenarios: each yields episodes (label, kind, [(cuts, seconds)]) ---

def others(c, first):
    """Every node but first, in config order starting after it."""
    names = list(c.nodes)
    k = names.index(first)
    return names[k + 1:] + names[:k]


def minority(c):
    """The reference app's owner and the nodes after it: the smaller side
    of a split."""
    owner = c.owner(c.ref)
    return [owner] + others(c, owner)[:(len(c.nodes) - 1) // 2 - 1]


def sc_symmetric(c, rng):
    side = minority(c)
    rest = [x for x in c.nodes if x not in side]
    yield (f"symmetric {''.join(side)}|{''.join(rest)}", "symmetric",
           [(net.symmetric(side, rest), c.seconds)])


def sc_one_way(c, rng):
    src = c.owner(c.ref)
    dst = others(c, src)[0]
    yield f"one-way {src}->{dst}", "one-way", [(net.one_way(src, dst), c.seconds)]


def sc_bridge(c, rng):
    x = c.owner(c.ref)
    y = others(c, x)[0]
    mid = "".join(others(c, x)[1:])
    yield f"bridge {x}-{mid}-{y}", "bridge", [(net.bridge(x, y), c.seconds)]


def sc_flapping(c, rng):
    side = minority(c)
    rest = [x for x in c.nodes if x not in side]
    steps, total, cut = [], 0.0, True
    while total < c.seconds:
        d = round(rng.uniform(0.3, 1.5), 2)
        steps.append((net.symmetric(side, rest) if cut else set(), d))
        total += d
        cut = not cut
    yield f"flapping {''.join(side)}|{''.join(rest)} x{len(steps)}", "flapping", steps


def random_partition(rng, names):
    """One random partition of any kind: (text, kind, cuts)."""
    kind = rng.choice(["symmetric", "one-way", "bridge", "flapping"])
    if kind in ("symmetric", "flapping"):
        shuffled = rng.sample(names, len(names))
        k = rng.randint(1, len(names) // 2)
        a, b = sorted(shuffled[:k]), sorted(shuffled[k:])
        return f"{''.join(a)}|{''.join(b)}", kind, net.symmetric(a, b)
    x, y = rng.sample(names, 2)
    if kind == "one-way":
        return f"{x}->{y}", kind, net.one_way(x, y)
    return f"{x}-x-{y}", kind, net.bridge(x, y)


def nemesis_schedule(seed, names, minutes):
    """The whole random schedule, drawn from the seed alone: the same seed
    replays the same partitions in the same order for the same times.
    Each episode is one to three partitions back to back, then a heal."""
    rng = random.Random(seed)
    episodes, total = [], 0.0
    while total < minutes * 60:
        steps, texts, kinds = [], [], []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            text, kind, cuts = random_partition(rng, names)
            if kind == "flapping":
                flap = 0.0
                while flap < 6.0:
                    up = round(rng.uniform(0.2, 1.2), 2)
                    steps += [(cuts, up), (set(), round(rng.uniform(0.2, 1.2), 2))]
                    flap += up + steps[-1][1]
                total += flap
            else:
                d = round(rng.uniform(2.0, 12.0), 2)
                steps.append((cuts, d))
                total += d
            texts.append(f"{kind} {text}")
            kinds.append(kind)
        total += 7.5  # the quiet window after the heal, about
        kind = kinds[0] if len(kinds) == 1 else "mixed"
        episodes.append((" then ".join(texts), kind, steps))
    return episodes


def sc_nemesis(c, rng):
    yield from c.schedule


SCENARIOS = {
    "symmetric": sc_symmetric,
    "one-way": sc_one_way,
    "bridge": sc_bridge,
    "flapping": sc_flapping,
    "nemesis": sc_nemesis,
    "kill9": None,  # run_kill9
}
# The same with one quorum app instead of web and db (quorum.md §8): the
# isolate is the symmetric split with the owner in the minority; freeze
# stops the owner's batond alone (run_freeze).
QUORUM = {"quorum-isolate": "symmetric", "quorum-one-way": "one-way",
          "quorum-bridge": "bridge", "quorum-nemesis": "nemesis",
          "quorum-kill9": "kill9", "quorum-freeze": "freeze"}
LEASE_S = 1.0  # lease_ms at its default (quorum.md §1)


def run_episode(c, v, label, kind, steps):
    print(f"- {label}", flush=True)
    t0 = now()
    for cuts, seconds in steps:
        c.net.apply(cuts)
        time.sleep(seconds)
    if kind == "bridge":
        checks.check_no_dup(v, c, t0, now(), label)
    t_heal = now()
    c.net.apply(set())
    time.sleep(c.window())
    t_end = now()
    time.sleep(0.3)  # the monitor samples past t_end
    checks.check_heal(v, c, t_heal, t_end, kind)
    checks.check_stop_before_start(v, c, t0, t_end, kind)


def run_kill9(c, v):
    """kill -9 of web's owner's batond (its shim takes the app down with
    it), then the node restarts and takes web back."""
    victim = c.owner(c.ref)
    print(f"- kill -9 {victim} ({c.ref}'s owner)", flush=True)
    t_kill = now()
    c.nodes[victim].signal(signal.SIGKILL)
    c.nodes[victim].wait()
    time.sleep(c.window())
    t_end = now()
    time.sleep(0.3)
    checks.check_heal(v, c, t_kill, t_end, "kill9", killed=victim)
    checks.check_stop_before_start(v, c, t_kill, t_end, "kill9")
    print(f"- restart {victim}", flush=True)
    t_start = now()
    c.nodes[victim].start()
    time.sleep(c.window())
    t_end = now()
    time.sleep(0.3)
    checks.check_heal(v, c, t_start, t_end, "restart")
    checks.check_stop_before_start(v, c, t_start, t_end, "restart")


def run_freeze(c, v):
    """SIGSTOP of the reference app's owner's batond alone (its shim and
    the app run on) for 2 x the lease and more: the shim kills the app's
    process group at the lease end on its own timer, before the majority
    starts the app (quorum.md §4.4); after SIGCONT the woken node does
    not start it again."""
    app = c.ref
    victim = c.owner(app)
    old = [i for i in c.instances.of(app) if i.live_at(now())][0]
    pgid = os.getpgid(old.pid)
    frozen = 2 * LEASE_S + 1.5  # and an election if the owner led
    print(f"- SIGSTOP {victim}'s batond ({app}'s owner) for {frozen:.1f} s", flush=True)
    t0 = now()
    c.nodes[victim].signal(signal.SIGSTOP)
    time.sleep(frozen)
    t_cont = now()
    c.instances.read()
    group_gone = not checks.pgid_alive(pgid)
    new = [i for i in c.instances.of(app) if t0 < i.start <= t_cont]
    v.check("shim-kill", old.end is not None and old.stop is None and group_gone,
            f"freeze: {app}'s old instance on {victim} "
            + ("killed (no stop record: its shim)" if old.end is not None and old.stop is None
               else "stopped by its own record" if old.stop is not None else "still runs")
            + f", its process group {pgid} {'gone' if group_gone else 'still there'},"
            f" while batond was stopped")
    v.check("majority-starts", any(i.node != victim for i in new),
            f"freeze: {len(new)} new instance(s) of {app} while {victim} was stopped"
            + (f" ({new})" if new else ""))
    print(f"- SIGCONT {victim}", flush=True)
    c.nodes[victim].signal(signal.SIGCONT)
    time.sleep(c.window())
    t_end = now()
    time.sleep(0.3)
    checks.check_heal(v, c, t_cont, t_end, "freeze")
    checks.check_stop_before_start(v, c, t0, t_end, "freeze")
    again = [i for i in c.instances.of(app) if i.node == victim and i.start > t0]
    v.check("no-restart", not again,
            f"freeze: the woken {victim} started {app} {len(again)} time(s)"
            + (f" ({again})" if again else ""))


def finish(c, v, shutdown):
    """Crashes, clean exits, orphans, sanitizer reports, RSS."""
    c.stop_event.set()  # the contenders
    for node in c.nodes.values():
        if node.proc is not None and node.proc.poll() is not None:
            v.check("no-crash", False, f"batond {node.name} exited by itself"
                    f" with status {node.proc.returncode}")
            node.proc = None
    running = [n for n in c.nodes.values() if n.proc is not None]
    statuses = {}
    if shutdown == "all":
        # All at once: the apps move while their nodes go, and a node gets
        # SIGTERM while it starts one (see cluster.md §6).
        for node in running:
            node.signal(signal.SIGTERM)
        statuses = {n.name: n.wait() for n in running}
    else:
        # One at a time, the last in the list first, each once the apps of
        # the one before have settled elsewhere.
        for node in reversed(running):
            node.signal(signal.SIGTERM)
            statuses[node.name] = node.wait()
            deadline = now() + c.window()
            while now() < deadline and not c.settled(apps_only=True):
                time.sleep(0.1)
    if c.monitor:
        c.monitor.stop_event.set()
        c.monitor.join()
        c.instances.read()
        checks.check_never_two(v, c, c.t_start, now())
    v.check("clean-exit", all(s == 0 for s in statuses.values()),
            "batond exit status on SIGTERM: "
            + ", ".join(f"{k}={s}" for k, s in sorted(statuses.items())))
    for node in c.nodes.values():
        with open(node.log, errors="replace") as f:
            bad = [line for line in f if "Sanitizer" in line or "runtime error:" in line
                   or "assertion" in line.lower()]
        v.check("no-crash", not bad, f"{node.name}'s log: {len(bad)} sanitizer or assertion"
                f" line(s){': ' + bad[0].strip() if bad else ''}")
    deadline = now() + 5.0
    c.instances.read()
    while now() < deadline and c.instances.running():
        time.sleep(0.1)
    orphans = c.instances.running()
    for inst in orphans:
        os.kill(inst.pid, signal.SIGKILL)
    v.check("no-orphan", not orphans, f"{len(orphans)} app process(es) left after every"
            f" batond stopped{': ' + str(orphans) if orphans else ''}")
    lost = {}
    for ct in c.contenders:
        for _, what in ct.history:
            if what.startswith("lost:"):
                lost[what[5:]] = lost.get(what[5:], 0) + 1
    print(f"contested: won {sum(what == 'won' for ct in c.contenders for _, what in ct.history)}"
          f" times, lost " + (", ".join(f"{n} ({r})" for r, n in sorted(lost.items())) or "0"))
    if c.monitor and c.monitor.rss:
        print("batond RSS (KiB) over time:")
        t0 = c.monitor.rss[0][0]
        for t, rss in c.monitor.rss:
            print(f"  {t - t0:7.1f} s  " + "  ".join(
                f"{n}={r if r is not None else '-'}" for n, r in sorted(rss.items())))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(list(SCENARIOS) + list(QUORUM)))
    ap.add_argument("--bin", required=True, help="directory of batond")
    ap.add_argument("--app", required=True, help="the baton-cluster-app binary")
    ap.add_argument("--nodes", type=int, default=3, choices=[3, 4, 5])
    ap.add_argument("--repeat", type=int, default=1, help="episodes in a row")
    ap.add_argument("--seed", type=int, default=None, help="nemesis: the schedule's seed")
    ap.add_argument("--minutes", type=float, default=5.0, help="nemesis: how long")
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="symmetric, one-way, bridge, flapping: how long the partition lasts")
    ap.add_argument("--keep", action="store_true", help="keep logs and records")
    ap.add_argument("--shutdown", choices=["rolling", "all"], default="rolling",
                    help="the end: SIGTERM one node at a time, or all at once")
    args = ap.parse_args()

    netw = net.Net(NAMES[:args.nodes])
    if not netw.probe():
        netw.down()
        print("SKIP: the cluster suite needs root and network namespaces"
              " (not root, or ip netns add/exec refused); see docs/design/cluster.md")
        return SKIP

    def on_signal(sig, frame):
        raise SystemExit(f"interrupted by {signal.Signals(sig).name}")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    rng = random.Random(seed)
    v = checks.Verdict()
    c = None
    try:
        netw.up()
        quorum = args.scenario in QUORUM
        scenario = QUORUM.get(args.scenario, args.scenario)
        c = Cluster(args.nodes, args.bin, args.app, netw, args.seconds, quorum)
        print(f"cluster: {args.scenario}, {args.nodes} nodes, seed {seed}"
              f" (replay: --seed {seed}), namespaces {netw.prefix}-*, files {c.dir}",
              flush=True)
        for app, spec in c.apps.items():
            print(f"  app {app}: nodes = {spec['nodes']}, failover_timeout ="
                  f" {spec['failover_timeout']}, bound {c.bound(app) * 1000:.0f} ms"
                  + (f", name = {spec['name']}" if spec.get("name") else "")
                  + (f", mode = {spec['mode']}" if spec.get("mode") else ""))
        if scenario == "nemesis":
            c.schedule = nemesis_schedule(seed, list(c.nodes), args.minutes)
            print(f"  schedule: {len(c.schedule)} episodes, about {args.minutes:g} min")
            for k, (text, _, steps) in enumerate(c.schedule):
                print(f"    {k + 1:3d}. {text} ({sum(s for _, s in steps):.1f} s)")
        c.start()
        if not v.check("settled", c.wait_settled(), "each app once and one holder of"
                       " 'contested' after the start"):
            return 1
        for k in range(args.repeat):
            if scenario == "kill9":
                run_kill9(c, v)
            elif scenario == "freeze":
                run_freeze(c, v)
            else:
                for label, kind, steps in SCENARIOS[scenario](c, rng):
                    run_episode(c, v, label, kind, steps)
            if k + 1 < args.repeat and not c.wait_settled():
                v.check("settled", False, "did not settle between repeats")
                break
    finally:
        # A signal during the cleanup hurries it (every batond SIGKILLed,
        # their shims take the apps along) but never cuts it short.
        def hurry(sig, frame):
            print(f"cleanup: {signal.Signals(sig).name}: SIGKILL to every batond")
            for node in (c.nodes.values() if c else []):
                node.signal(signal.SIGKILL)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, hurry)
        try:
            if c is not None:
                finish(c, v, args.shutdown)
        finally:
            errors = netw.down()
            for e in errors:
                print(f"cleanup: {e}")
    v.summary()
    failed = v.failed() or errors
    if c is not None:
        if failed or args.keep:
            print(f"logs and records kept in {c.dir}")
        else:
            shutil.rmtree(c.dir, ignore_errors=True)
    print("FAILED" if failed else "PASSED", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
