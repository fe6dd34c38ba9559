"""The apps' own records, their PIDs, and the checks made after each heal
(docs/design/cluster.md §4)."""
import os
import select
import statistics
import threading
import time


class Instance:
    def __init__(self, fields):
        # start MONO REAL APP NODE PID TYPE EPOCH FROM
        self.start = int(fields[1]) / 1e9
        self.app = fields[3]
        self.node = fields[4].split("@")[0]
        self.pid = int(fields[5])
        self.type = fields[6]
        self.epoch = int(fields[7]) if fields[7].isdigit() else None
        # The earlier instances of its app still running at its start,
        # as it saw them itself (app.c): exact where an end is not.
        self.saw_live = None
        self.scan = None
        if len(fields) > 10:
            self.saw_live = set() if fields[9] == "-" else {int(x) for x in fields[9].split(",")}
            self.scan = int(fields[10]) / 1e9
        self.stop = None       # from its stop record: exact
        self.exited = None     # its pidfd became readable: within ms
        self.seen_dead = None  # first sample that found the PID gone
        self.pidfd = None

    @property
    def end(self):
        """When it ended: its stop record, else (a SIGKILL) when its pidfd
        said so, else the sample that found its PID gone (an upper bound:
        the checks err towards failing)."""
        for t in (self.stop, self.exited, self.seen_dead):
            if t is not None:
                return t
        return None

    def live_at(self, t):
        return self.start <= t and (self.end is None or t < self.end)

    def __repr__(self):
        return f"{self.app}@{self.node}[pid {self.pid} {self.type} epoch {self.epoch}]"


def pid_alive(pid):
    """kill -0, excluding zombies and PIDs reused by other programs."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except (OSError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z" and b"baton-cluster-app" in cmd


class Instances:
    """Every instance any app ever started, from the records file."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.all = []
        self.by_pid = {}
        self.lock = threading.Lock()  # the monitor and the main thread read

    def read(self):
        with self.lock:
            self._read()

    def _read(self):
        try:
            with open(self.path) as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        # Only whole lines: a record is one write, but we may read between two.
        end = data.rfind("\n") + 1
        self.offset += len(data[:end].encode())
        for line in data[:end].splitlines():
            fields = line.split()
            if fields[0] == "start":
                inst = Instance(fields)
                self.all.append(inst)
                self.by_pid[inst.pid] = inst
                try:
                    inst.pidfd = os.pidfd_open(inst.pid)
                except OSError:
                    pass  # gone already: the next poll finds it so
            elif fields[0] == "stop" and int(fields[5]) in self.by_pid:
                self.by_pid[int(fields[5])].stop = int(fields[1]) / 1e9

    def tighten(self):
        """An instance killed without a stop record (its end from the
        pidfd or a sample, late by the watcher's delay) that a later
        instance of its app did not see running at its start (app.c's
        LIVE, for instances started before its scan) had ended by then:
        its end is at most that start."""
        with self.lock:
            for i in self.all:
                if i.saw_live is None:
                    continue
                for o in self.all:
                    if (o.app == i.app and o is not i and o.stop is None and o.start < i.scan
                            and o.pid not in i.saw_live
                            and (o.end is None or o.end > i.start)):
                        o.exited = i.start if o.exited is None else min(o.exited, i.start)

    def poll(self, t):
        """Reads new records, then checks every instance still running by
        its PID."""
        with self.lock:
            self._read()
            self._poll(t)

    def _poll(self, t):
        for inst in self.all:
            if inst.end is None and not pid_alive(inst.pid):
                inst.seen_dead = t

    def watch(self, stop_event):
        """Notes each instance's exit within milliseconds (its pidfd turns
        readable), for those killed without a stop record."""
        while not stop_event.is_set():
            with self.lock:
                fds = {i.pidfd: i for i in self.all if i.pidfd is not None}
            if not fds:
                stop_event.wait(0.02)
                continue
            ready, _, _ = select.select(list(fds), [], [], 0.02)
            t = time.monotonic()
            with self.lock:
                for fd in ready:
                    inst = fds[fd]
                    if inst.exited is None or t < inst.exited:
                        inst.exited = t  # unless tighten() knew better
                    os.close(fd)
                    inst.pidfd = None

    def close(self):
        with self.lock:
            for inst in self.all:
                if inst.pidfd is not None:
                    os.close(inst.pidfd)
                    inst.pidfd = None

    def running(self):
        return [i for i in self.all if i.end is None and pid_alive(i.pid)]

    def of(self, app):
        return [i for i in self.all if i.app == app]


def count_timeline(insts, t0, t1):
    """[(t, count)] for t0 <= t <= t1: the number of live instances from t
    on, changing only at the listed times."""
    points = {t0}
    for i in insts:
        for t in (i.start, i.end):
            if t is not None and t0 < t <= t1:
                points.add(t)
    return [(t, sum(1 for i in insts if i.live_at(t))) for t in sorted(points)]


def settled_after(timeline, t0, good):
    """The time from t0 until good(value) holds from then on, to the end
    of the timeline [(t, value)]; None if it does not hold at the end."""
    if not timeline or not good(timeline[-1][1]):
        return None
    since = t0
    for (t, v) in timeline:
        if not good(v):
            since = None
        elif since is None:
            since = t
    return since - t0


def time_where(timeline, t_from, t_end, pred):
    """Seconds within [t_from, t_end] in which pred(value) holds; each
    value of the timeline [(t, value)] holds until the next one."""
    total = 0.0
    for k, (t, v) in enumerate(timeline):
        nxt = timeline[k + 1][0] if k + 1 < len(timeline) else t_end
        lo = max(t, t_from)
        if pred(v) and nxt > lo:
            total += nxt - lo
    return total


def sample_timeline(samples, t0, t1, value):
    """[(t, value(view, holders))] of the monitor's samples in [t0, t1]."""
    return [(t, value(view, holders)) for (t, view, holders) in samples if t0 <= t <= t1]


def ms(x):
    return "never" if x is None else f"{x * 1000:.0f} ms"


class Verdict:
    """The checks of one run: each a name, pass or fail, and a line."""

    def __init__(self):
        self.results = []  # (check, ok, text)
        self.figures = {}  # figure name -> list of seconds
        self.totals = {}   # total name -> seconds, over the whole run

    def check(self, name, ok, text):
        self.results.append((name, ok, text))
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {text}", flush=True)
        return ok

    def figure(self, name, value):
        self.figures.setdefault(name, []).append(value)

    def total(self, name, seconds):
        self.totals[name] = self.totals.get(name, 0.0) + seconds

    def failed(self):
        return [r for r in self.results if not r[1]]

    def summary(self):
        print("figures (min / median / max, n):")
        for name, vals in sorted(self.figures.items()):
            known = [v for v in vals if v is not None]
            never = len(vals) - len(known)
            if known:
                line = (f"{min(known) * 1000:.0f} / {statistics.median(known) * 1000:.0f}"
                        f" / {max(known) * 1000:.0f} ms, n={len(known)}")
            else:
                line = "-"
            if never:
                line += f", {never} never settled"
            print(f"  {name}: {line}")
        if self.totals:
            print("totals over the run, beyond the bound after each heal:")
            for name, secs in sorted(self.totals.items()):
                print(f"  {name}: {secs * 1000:.0f} ms")
        bad = {}
        for name, ok, _ in self.results:
            bad.setdefault(name, [0, 0])[0 if ok else 1] += 1
        print("checks (passed / failed):")
        for name, (p, f) in sorted(bad.items()):
            print(f"  {'ok  ' if f == 0 else 'FAIL'} {name}: {p} / {f}")


def check_heal(v, cluster, t_heal, t_end, label, killed=None):
    """Every check made after a heal at t_heal, on what happened up to
    t_end (the end of the quiet window).

    After a kill -9 of node `killed` (t_heal is then the kill), its
    instances die when their shim sees batond's pipe close, while the
    peers fail them over as soon as the link closes: the two race by
    design, within milliseconds. That overlap is printed as a figure,
    and the start check leaves those instances out."""
    insts = cluster.instances
    failed_before = len(v.failed())
    for app in cluster.apps:
        bound = cluster.bound(app)
        mine = insts.of(app)
        line = count_timeline(mine, t_heal, t_end)
        took = settled_after(line, t_heal, lambda c: c == 1)
        v.figure(f"heal->one {app} ({label})", took)
        beyond = time_where(line, t_heal + bound, t_end, lambda c: c != 1)
        v.total(f"{app} not running exactly once", beyond)
        v.check("exactly-one", took is not None and took <= bound,
                f"{label}: {app} ran exactly once {ms(took)} after the heal"
                f" (bound {bound * 1000:.0f} ms; {beyond * 1000:.0f} ms of other counts"
                f" beyond it)")
        # A start after the heal while another instance runs. A takeover
        # starts its new instance before the old one stops, by design
        # (apps.md §3): reported, not counted.
        victims = [o for o in mine if o.node == killed and o.start < t_heal]
        dup_starts = [i for i in mine if t_heal < i.start <= t_end and i.type != "takeover"
                      and any(o is not i and o not in victims and o.live_at(i.start)
                              for o in mine)]
        for o in victims:
            for i in mine:
                if t_heal < i.start <= t_end and o.live_at(i.start):
                    v.figure(f"kill -9: {app}'s dying instance overlaps the failover",
                             (o.end if o.end is not None else t_end) - i.start)
        v.check("no-start-while-running", not dup_starts,
                f"{label}: {app}: {len(dup_starts)} started while another ran"
                + (f" {dup_starts}" if dup_starts else ""))
        # Tokens: the running instance's current token (its owner's
        # `apps` answer) above every token issued before.
        live = [i for i in mine if i.live_at(t_end)]
        if len(live) == 1:
            survivor = live[0]
            reported = current_epoch(cluster, app, survivor.node)
            earlier = [i.epoch for i in mine if i is not survivor and i.epoch is not None]
            token = max(x for x in (survivor.epoch, reported) if x is not None)
            higher = [e for e in earlier if e > token]
            v.check("tokens", not higher,
                    f"{label}: {app}'s survivor on {survivor.node} has token {token}"
                    f" (started with {survivor.epoch}); {len(higher)} earlier token(s) above it")
    check_group(v, cluster, t_heal, t_end, label)
    check_names(v, cluster, t_heal, t_end, label)
    if len(v.failed()) > failed_before:
        print_timeline(insts.all, t_heal, t_end)


def print_timeline(insts, t_heal, t_end):
    """Starts and ends of instances around the heal, for the reader."""
    events = []
    for i in insts:
        if i.end is None or i.end >= t_heal - 15:
            if i.start >= t_heal - 15:
                events.append((i.start, f"start {i!r}"))
            if i.end is not None and i.end <= t_end:
                how = "stop" if i.stop is not None else "killed"
                events.append((i.end, f"{how}  {i!r}"))
    print("    instances (seconds from the heal):")
    for t, text in sorted(events):
        print(f"    {t - t_heal:+8.3f} {text}")


def current_epoch(cluster, app, node):
    """The token the owner's batond reports for its instance (the last
    sample that has it)."""
    for (_, view, _) in reversed(cluster.monitor.samples):
        seen = view.get(node)
        if seen and app in seen["apps"]:
            e = seen["apps"][app].get("epoch")
            return int(e) if e not in (None, "") else None
    return None


def check_group(v, cluster, t_heal, t_end, label):
    """One group again: every running node hears every other (the core's
    `alive`) and follows the same coordinator (simulator.md §4)."""
    def one_group(view, holders):
        if any(view[n] is None for n in view):
            return False
        coords = {view[n]["coordinator"] for n in view}
        return (len(coords) == 1 and None not in coords
                and all(len(view[n]["alive"]) == len(view) - 1 for n in view))
    line = sample_timeline(cluster.monitor.samples, t_heal, t_end, one_group)
    took = settled_after(line, t_heal, bool)
    bound = cluster.bound(None)
    v.figure(f"heal->one group ({label})", took)
    v.check("one-group", took is not None and took <= bound,
            f"{label}: every node hears every other and follows one coordinator"
            f" {ms(took)} after the heal (bound {bound * 1000:.0f} ms)")


def check_names(v, cluster, t_heal, t_end, label):
    samples = cluster.monitor.samples
    bound = cluster.bound(None)

    # The contested name: every answering node shows the same one holder,
    # and exactly one contender believes it holds it, on that node.
    def one_holder(view, holders):
        seen = {view[n]["names"].get("contested", (None,))[:3] if view[n] else "?"
                for n in view}
        if "?" in seen or len(seen) != 1 or None in next(iter(seen)):
            return False
        node = next(iter(seen))[0].split("@")[0]
        return holders == [node]
    line = sample_timeline(samples, t_heal, t_end, one_holder)
    took = settled_after(line, t_heal, bool)

    # Two different holders visible at once (on different nodes), beyond
    # the bound: the time between samples that show it.
    def two_holders(view, holders):
        return len({view[n]["names"]["contested"][:3] for n in view
                    if view[n] and "contested" in view[n]["names"]}) > 1
    two = sample_timeline(samples, t_heal, t_end, two_holders)
    v.total("two holders of 'contested' visible",
            time_where(two, t_heal + bound, t_end, bool))
    v.figure(f"heal->one holder ({label})", took)
    v.check("one-holder", took is not None and took <= bound,
            f"{label}: one holder of 'contested' on every node {ms(took)} after the heal"
            f" (bound {bound * 1000:.0f} ms)")

    # App-bound names: on every node, pointing at the node where the app
    # really runs (its live PID).
    for app, spec in cluster.apps.items():
        name = spec.get("name")
        if not name:
            continue
        bound = cluster.bound(app)
        insts = cluster.instances.of(app)

        def at_app(t, view, name=name, insts=insts):
            live = [i.node for i in insts if i.live_at(t)]
            held = {view[n]["names"].get(name, ("?",))[0].split("@")[0] if view[n] else "?"
                    for n in view}
            return len(live) == 1 and held == {live[0]}
        line = [(t, at_app(t, view)) for (t, view, _) in samples if t_heal <= t <= t_end]
        took = settled_after(line, t_heal, bool)
        v.total(f"'{name}' missing or not at its app",
                time_where(line, t_heal + bound, t_end, lambda ok: not ok))
        v.figure(f"heal->{name} at its app ({label})", took)
        v.check("app-name", took is not None and took <= bound,
                f"{label}: '{name}' on every node points at {app}'s node {ms(took)}"
                f" after the heal (bound {bound * 1000:.0f} ms)")


def check_no_dup(v, cluster, t0, t1, label):
    """During a bridge (one link down, a third node hearing both ends) no
    app should fail over: never two instances (issue 11, item 5)."""
    for app in cluster.apps:
        line = count_timeline(cluster.instances.of(app), t0, t1)
        dup = time_where(line, t0, t1, lambda c: c > 1)
        v.check("bridge-no-dup", dup == 0,
                f"{label}: {app} ran twice for {dup * 1000:.0f} ms during the bridge")


def quorum_apps(cluster):
    return [a for a, spec in cluster.apps.items() if spec.get("mode") == "quorum"]


def check_stop_before_start(v, cluster, t0, t1, label):
    """Quorum mode's promise, read from the apps' own records: every
    instance of a quorum app that started in (t0, t1] (t0: the fault)
    started after every
    earlier instance had ended (quorum.md §4), and under a higher token.
    The gap from the last end to the start is printed as a figure. The end
    of an instance killed without a stop record (the shim at lease end)
    is its pidfd's, late by the watcher's delay, unless a later instance
    saw it gone at its start (Instances.tighten): then that start, so the
    gap reads 0 where the watcher was too late to tell."""
    cluster.instances.tighten()
    for app in quorum_apps(cluster):
        mine = sorted(cluster.instances.of(app), key=lambda i: i.start)
        new = [i for i in mine if t0 < i.start <= t1]
        if new:
            # t0 is the fault: the cut, the kill, the SIGSTOP.
            v.figure(f"{app}: fault -> new instance's start ({label})", new[0].start - t0)
        for i in new:
            before = [o for o in mine if o is not i and o.start <= i.start]
            live = [o for o in before if o.live_at(i.start)]
            ended = [o.end for o in before if o.end is not None and o.end <= i.start]
            gap = i.start - max(ended) if ended and not live else None
            if gap is not None:
                v.figure(f"{app}: old instance's end -> new start ({label})", gap)
            v.check("stop-before-start", not live,
                    f"{label}: {app}'s instance on {i.node} started"
                    + (f" {ms(gap)} after the last one ended" if gap is not None else "")
                    + (f" while {live} still ran" if live else ""))
            lower = [o for o in before if o.epoch is not None and i.epoch is not None
                     and o.epoch >= i.epoch]
            v.check("tokens-grow", i.epoch is not None and not lower,
                    f"{label}: {app}'s instance on {i.node} has token {i.epoch};"
                    f" {len(lower)} earlier instance(s) at or above it")


def check_never_two(v, cluster, t0, t1):
    """Over the whole run: never two live instances of a quorum app,
    neither at any instant of the records' timeline nor at any of the
    monitor's samples (issue 13, item 8)."""
    cluster.instances.tighten()
    for app in quorum_apps(cluster):
        mine = cluster.instances.of(app)
        line = count_timeline(mine, t0, t1)
        two = time_where(line, t0, t1, lambda n: n > 1)
        times = [t for (t, _, _) in cluster.monitor.samples if t0 <= t <= t1]
        dup = [t for t in times if sum(1 for i in mine if i.live_at(t)) > 1]
        v.check("never-two", two == 0 and not dup,
                f"{app}: {len(dup)} of {len(times)} samples with two instances,"
                f" {two * 1000:.0f} ms with two over the run ({len(mine)} instances)")



def pgid_alive(pgid):
    """Is a process of the group left that is not a zombie? (The shim
    leads the group and dies with it, but stays a zombie until batond
    reaps it: a frozen batond does not.)"""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
