"""batond processes in the namespaces, their control sockets, the
contenders of the global name and the monitor that samples everything
(docs/design/cluster.md §3)."""
import json
import os
import socket
import subprocess
import threading
import time

PORT = 7701
CONTESTED = "contested"  # the global name every node tries to hold


def now():
    """CLOCK_MONOTONIC in seconds: the clock of the apps' records too."""
    return time.monotonic()


def text_command(path, line, timeout=1.0):
    """One text command on the control socket (docs/control.md): the JSON
    answer, or None if batond does not answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(line.encode() + b"\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data)
    except (OSError, ValueError):
        return None


class Session:
    """A JSON-lines session on the control socket. Events are handed to
    on_event; request() waits for its own answer."""

    def __init__(self, path, on_event=None, timeout=1.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1
        self.on_event = on_event or (lambda ev: None)

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("batond closed the session")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, **req):
        req["id"] = self.next_id
        self.next_id += 1
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        while True:
            msg = self._line()
            if "event" in msg:
                self.on_event(msg)
            elif msg.get("id") == req["id"]:
                return msg

    def poll_events(self, timeout):
        """Waits up to timeout for events and hands them on."""
        self.sock.settimeout(timeout)
        try:
            while True:
                self.on_event(self._line())
                self.sock.settimeout(0.001)
        except socket.timeout:
            pass
        finally:
            self.sock.settimeout(1.0)


class Node:
    def __init__(self, name, cluster):
        self.name = name
        self.full = f"{name}@cluster"
        self.cluster = cluster
        self.ini = os.path.join(cluster.dir, f"{name}.ini")
        self.sock = os.path.join(cluster.dir, f"{name}.sock")
        self.log = os.path.join(cluster.dir, f"{name}.log")
        self.proc = None

    def start(self):
        logf = open(self.log, "a")
        # ip netns exec execs batond itself: the PID is batond's.
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.cluster.net.ns[self.name],
             self.cluster.batond, "-c", self.ini],
            stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        """Sends sig to this batond (SIGTERM: a clean shutdown; SIGKILL: a
        crash we cause)."""
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout=15.0):
        """Waits for this batond to exit after signal(); one that does not
        within timeout is killed, and its status says so (-9). Returns
        its exit status."""
        if self.proc is None:
            return None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        status = self.proc.returncode
        self.proc = None
        return status

    def rss_kib(self):
        if not self.alive():
            return None
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None


class Contender(threading.Thread):
    """Tries to hold the global name CONTESTED from one node: registers it,
    and after a refusal or a loss tries again a second later. Its own view
    (does it hold the name?) is checked against every node's table."""

    def __init__(self, node, stop_event):
        super().__init__(daemon=True)
        self.node = node
        self.stop_event = stop_event
        self.holds = False
        self.history = []  # (time, "won" | "lost:<reason>")

    def on_event(self, ev):
        if ev.get("event") == "name_lost" and ev.get("name") == CONTESTED:
            self.holds = False
            self.history.append((now(), "lost:" + str(ev.get("reason"))))

    def run(self):
        session = None
        while not self.stop_event.is_set():
            try:
                if session is None:
                    session = Session(self.node.sock, self.on_event)
                if not self.holds:
                    ans = session.request(op="register", name=CONTESTED,
                                          meta=self.node.name)
                    if ans.get("ok"):
                        self.holds = True
                        self.history.append((now(), "won"))
                session.poll_events(1.0)
            except (OSError, ValueError, ConnectionError):
                if self.holds and not self.stop_event.is_set():
                    self.history.append((now(), "lost:session"))
                self.holds = False
                if session is not None:
                    session.close()
                session = None
                self.stop_event.wait(0.5)
        if session is not None:
            session.close()


class Monitor(threading.Thread):
    """Samples, every period: each node's apps and names (its own view),
    the contenders' views, and batond's RSS every rss_period. The apps'
    records and PIDs are read by the checker (checks.py)."""

    def __init__(self, cluster, period=0.1, rss_period=10.0):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.period = period
        self.rss_period = rss_period
        self.stop_event = threading.Event()
        self.samples = []  # (t, {node: {"apps": {...}, "names": {...}} or None})
        self.rss = []      # (t, {node: KiB})
        self.instances = cluster.instances
        self.watcher = threading.Thread(target=self.instances.watch,
                                        args=(self.stop_event,), daemon=True)

    def names(self, node, sessions):
        try:
            if node.name not in sessions:
                sessions[node.name] = Session(node.sock)
            ans = sessions[node.name].request(op="names")
        except (OSError, ValueError, ConnectionError):
            broken = sessions.pop(node.name, None)
            if broken is not None:
                broken.close()
            return None
        if not ans.get("ok"):
            return None
        return {e["name"]: (e["node"], e["endpoint"], e["epoch"]) for e in ans["names"]}

    def run(self):
        self.watcher.start()
        sessions = {}
        next_rss = 0.0
        while not self.stop_event.is_set():
            t = now()
            view = {}
            for node in self.cluster.nodes.values():
                if not node.alive():
                    continue  # a node the scenario stopped: no view
                status = text_command(node.sock, "status")
                apps = text_command(node.sock, "apps")
                names = self.names(node, sessions)
                if status is None or apps is None or names is None:
                    view[node.name] = None
                    continue
                view[node.name] = {
                    "coordinator": status.get("coordinator"),
                    "alive": sorted(p["name"] for p in status.get("peers", [])
                                    if p.get("alive")),
                    "apps": {a["name"]: a for a in apps.get("apps", [])},
                    "names": names,
                }
            holders = sorted(c.node.name for c in self.cluster.contenders if c.holds)
            self.samples.append((t, view, holders))
            self.instances.poll(t)
            if t >= next_rss:
                self.rss.append((t, {n.name: n.rss_kib() for n in self.cluster.nodes.values()}))
                next_rss = t + self.rss_period
            self.stop_event.wait(max(0.0, self.period - (now() - t)))
        for s in sessions.values():
            s.close()
        self.watcher.join()
        self.instances.close()
