"""Network namespaces, veths, a bridge and nftables partitions.

Every object this module makes carries the run's prefix (btc<pid>), lives
in a namespace of its own making, and goes with those namespaces: the
root namespace gets nothing, so two runs never collide and nothing else on
the machine is touched (docs/design/cluster.md §2).
"""
import os
import subprocess

SUBNET = "10.77.0"  # 10.77.0.0/24: only on our veths, in our namespaces
TABLE = "baton_test"


def run(*argv, stdin=None):
    """Runs a command; raises with its stderr if it fails."""
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {p.stderr.strip()}")
    return p.stdout


class Net:
    """One namespace per node, each with eth0 on a veth whose other end is
    in a bridge namespace. A partition is a set of directed cuts (src,
    dst): dst's nftables table drops what src sends it, at dst's input,
    so the packets cross the wire and are lost as on a real network."""

    def __init__(self, names):
        self.prefix = f"btc{os.getpid()}"
        self.bridge_ns = f"{self.prefix}-br"
        self.names = list(names)
        self.ns = {n: f"{self.prefix}-{n}" for n in self.names}
        self.addr = {n: f"{SUBNET}.{11 + i}" for i, n in enumerate(self.names)}
        self.made = []  # namespaces created, deleted in reverse order
        self.cuts = set()

    def probe(self):
        """Creates the bridge namespace; False if namespaces cannot be
        made here (not root, no ip netns): the one reason to skip."""
        if os.geteuid() != 0:
            return False
        try:
            run("ip", "netns", "add", self.bridge_ns)
        except (RuntimeError, FileNotFoundError):
            return False
        self.made.append(self.bridge_ns)
        try:
            run("ip", "netns", "exec", self.bridge_ns, "true")
        except RuntimeError:
            return False  # made, but not entered: no mount namespace here
        return True

    def up(self):
        br = self.bridge_ns
        run("ip", "-n", br, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", br, "link", "set", "br0", "up")
        for i, n in enumerate(self.names):
            ns = self.ns[n]
            run("ip", "netns", "add", ns)
            self.made.append(ns)
            veth = f"{self.prefix}v{i}"  # at most 15 bytes
            run("ip", "link", "add", "name", veth, "netns", br, "type", "veth",
                "peer", "name", "eth0", "netns", ns)
            run("ip", "-n", br, "link", "set", veth, "master", "br0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "addr", "add", f"{self.addr[n]}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "netns", "exec", ns, "nft", "-f", "-", stdin=f"""
table inet {TABLE} {{
    set blocked {{ type ipv4_addr; }}
    chain input {{
        type filter hook input priority -10; policy accept;
        ip saddr @blocked drop
    }}
}}
""")

    def apply(self, cuts):
        """Makes the set of directed cuts {(src, dst)} the partition."""
        cuts = set(cuts)
        touched = {d for _, d in cuts | self.cuts}
        for dst in sorted(touched):
            srcs = sorted(self.addr[s] for s, d in cuts if d == dst)
            script = f"flush set inet {TABLE} blocked\n"
            if srcs:
                script += f"add element inet {TABLE} blocked {{ {', '.join(srcs)} }}\n"
            run("ip", "netns", "exec", self.ns[dst], "nft", "-f", "-", stdin=script)
        self.cuts = cuts

    def down(self):
        """Deletes every namespace made; veths, the bridge and the nft
        tables go with them. Errors are reported, not raised: cleanup
        goes on."""
        errors = []
        for ns in reversed(self.made):
            try:
                run("ip", "netns", "del", ns)
            except RuntimeError as e:
                errors.append(str(e))
        self.made = []
        return errors


def symmetric(side_a, side_b):
    """Cuts every link between the two sides, both ways."""
    return {(x, y) for x in side_a for y in side_b} | {(y, x) for x in side_a for y in side_b}


def one_way(src, dst):
    """src's packets to dst are lost; dst's to src arrive."""
    return {(src, dst)}


def bridge(x, y):
    """x and y cannot hear each other; every other link is up (so any
    third node hears both)."""
    return {(x, y), (y, x)}
