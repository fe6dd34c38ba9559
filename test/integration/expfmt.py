#!/usr/bin/env python3
"""A checker of the Prometheus text exposition format 0.0.4, for tests.

Debian's promtool comes with the whole prometheus package (a server this
project does not need), so test_metrics.sh checks the text with this:
the grammar of every line (HELP, TYPE, comments, samples), metric and
label name syntax, escaped label values, float values, a TYPE before a
family's samples and at most once, counters ending in _total, families
not interleaved, and no duplicate series.

usage: expfmt.py FILE             check; exit 1 with the line on error
       expfmt.py FILE NAME{LABELS} print that series' value (exit 1 if
                                  absent); LABELS as in the text, sorted
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
SAMPLE = re.compile(
    rf"^({NAME})(?:\{{((?:{LABEL}={VALUE}(?:,{LABEL}={VALUE})*,?)?)\}})?"
    r" (\S+)(?: (-?\d+))?$")
PAIR = re.compile(rf"({LABEL})=({VALUE})")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
SUFFIXES = ("_bucket", "_count", "_sum")


def float_ok(v):
    if v in ("+Inf", "-Inf", "NaN"):
        return True
    try:
        float(v)
    except ValueError:
        return False
    return re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", v) is not None


def family_of(name, types):
    if name in types:
        return name
    for s in SUFFIXES:
        if name.endswith(s) and name[: -len(s)] in types:
            return name[: -len(s)]
    return name


def parse(text):
    """Returns {(name, sorted labels tuple): value}; raises ValueError."""
    if text and not text.endswith("\n"):
        raise ValueError("the text must end with a newline")
    types, helps, series, done = {}, set(), {}, set()
    current = None
    for no, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {no}: {line!r}"
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                if not re.fullmatch(NAME, parts[2]):
                    raise ValueError(f"{where}: bad metric name")
                fam = parts[2]
                if fam in done:
                    raise ValueError(f"{where}: family {fam} interleaved")
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ValueError(f"{where}: bad TYPE")
                    if fam in types:
                        raise ValueError(f"{where}: second TYPE for {fam}")
                    if any(family_of(n, types) == fam for n, _ in series):
                        raise ValueError(f"{where}: TYPE after samples")
                    types[fam] = parts[3]
                    if parts[3] == "counter" and not fam.endswith("_total"):
                        raise ValueError(f"{where}: counter without _total")
                else:
                    if fam in helps:
                        raise ValueError(f"{where}: second HELP for {fam}")
                    if len(parts) < 4 or not parts[3].strip():
                        raise ValueError(f"{where}: empty HELP")
                    helps.add(fam)
                if current is not None and current != fam:
                    done.add(current)
                current = fam
            continue
        if line.strip() == "":
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise ValueError(f"{where}: not a sample")
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if not float_ok(value):
            raise ValueError(f"{where}: bad value {value!r}")
        pairs = PAIR.findall(labels)
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{where}: a label twice")
        fam = family_of(name, types)
        if fam in done:
            raise ValueError(f"{where}: family {fam} interleaved")
        if current is not None and current != fam:
            done.add(current)
        current = fam
        key = (name, tuple(sorted(pairs)))
        if key in series:
            raise ValueError(f"{where}: duplicate series")
        series[key] = float(value)
    return series


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    try:
        series = parse(text)
    except ValueError as e:
        print(f"expfmt: {e}", file=sys.stderr)
        return 1
    if len(sys.argv) == 2:
        print(f"expfmt: {len(series)} series, valid")
        return 0
    want = sys.argv[2]
    m = re.fullmatch(rf"({NAME})(?:\{{(.*)\}})?", want)
    key = (m.group(1), tuple(sorted(PAIR.findall(m.group(2) or ""))))
    if key not in series:
        print(f"expfmt: no series {want}", file=sys.stderr)
        return 1
    v = series[key]
    print(int(v) if v == int(v) else v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
