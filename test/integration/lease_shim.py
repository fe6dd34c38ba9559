"""The shim's own lease timer (docs/design/supervision.md §8), checked on
the shim itself: this script plays batond, frozen or dead to the app
after the lease it handed over (it never renews, as a batond stopped by
SIGSTOP would not).

Usage: lease_shim.py BATOND MODE, MODE one of
  once     one lease record: the group must live up to its end and be
           gone within 10 s after it;
  renewed  a second record moves the end on by 3 s before the first
           end: the group must be alive past the first end, and gone
           only after the second;
  none     no record (an available app): the group must live on.
Prints one line per finding; exits 1 on a failed check.

The checks are correctness properties, not timings: the app's group is
read from /proc (members not yet zombies), and CLOCK_BOOTTIME is read
before and after each look. A look that finds the group gone proves it
died before the read after it: if that read is before the lease's end,
the shim killed early. A look that finds it alive proves it lived at the
read before it."""
import os
import signal
import struct
import sys
import time

MAGIC = 0x4C425331  # BATOND_SHIM_LEASE_MAGIC (supervise.h)


def boot_ms():
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1_000_000


def members(pgid):
    """Processes of group pgid that are not zombies."""
    n = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            n += 1
    return n


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def main():
    batond, mode = sys.argv[1], sys.argv[2]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setsid()  # the shim leads the app's group, as under batond
        os.dup2(r, 0)
        os.close(r)
        os.close(w)
        os.execv(batond, [batond, "--shim", "--", "sh", "-c",
                          "sleep 300 & sleep 300 & wait"])
    os.close(r)

    def send(until):
        os.write(w, struct.pack("=IIQ", MAGIC, 0, until))

    def stop_all(msg):
        os.killpg(pid, signal.SIGKILL)
        fail(msg)

    deadline = boot_ms() + 10_000
    while members(pid) < 4:  # the shim, sh and its two sleeps
        if boot_ms() > deadline:
            stop_all("the app's group did not come up")
        time.sleep(0.01)

    if mode == "none":
        time.sleep(1.5)
        if members(pid) < 4:
            fail("the shim of an app without a lease killed it")
        print("ok: without a lease record the shim kills nothing", flush=True)
        os.close(w)  # batond gone: the group goes (supervision.md §2)
        os.waitpid(pid, 0)
        return

    first = boot_ms() + 1000
    send(first)
    end = first
    if mode == "renewed":
        while boot_ms() < first - 500:
            time.sleep(0.01)
        end = first + 3000
        send(end)

    alive_after_first = False
    while True:
        before = boot_ms()
        n = members(pid)
        after = boot_ms()
        if n == 0:
            break
        if before > first:
            alive_after_first = True
        if after > end + 10_000:
            stop_all(f"the group still runs {after - end} ms after its "
                     "lease ended")
        time.sleep(0.01)
    if after < end:
        fail(f"the group was gone at {after}, before its lease end {end} "
             "(CLOCK_BOOTTIME ms)")
    _, status = os.waitpid(pid, 0)
    if not os.WIFSIGNALED(status) or os.WTERMSIG(status) != signal.SIGKILL:
        fail(f"the shim ended with status {status:#x}, not by SIGKILL")
    if mode == "renewed" and not alive_after_first:
        fail("no look found the group alive past the first lease end")
    print(f"ok: {mode}: the group lived to its lease end {end} and was "
          f"gone by {after} ({after - end} ms later, CLOCK_BOOTTIME)",
          flush=True)


main()
