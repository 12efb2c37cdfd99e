#!/usr/bin/env python3
"""The metric names deploy/'s rules and dashboard use, and whether a server exports them.

    metrics.py used                       every metric family the rules and the dashboard use
    metrics.py promql-rules OUT           the dashboard's PromQL as a rule file, for `promtool check rules`
    metrics.py exercise URL               sign in as a demo user, hold a slot and book it, wait for the broadcast
    metrics.py missing METRICS_FILE       the used names with no `# TYPE` line in METRICS_FILE (exit 1 if any)
    metrics.py admin-url DATABASE_URL     the same server's `postgres` database, and the database's name

Standard library only (no PyYAML): the rule file's `expr:` values are read as
they are written there, on one line or as a `|`/`>` block; anything else stops
with an error rather than being skipped. Called by deploy/check.sh.
"""

import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
RULES = DEPLOY / "prometheus" / "request-desk.rules.yml"
DASHBOARD = DEPLOY / "grafana" / "request-desk.json"

# Names PromQL or Prometheus provide, not the server.
NOT_OURS = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "atan2", "inf", "nan", "Inf", "NaN"}
SUFFIXES = ("_bucket", "_sum", "_count")

# Grafana's stand-ins, so that a dashboard expression is PromQL promtool can parse.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def die(msg):
    print(f"deploy/metrics.py: {msg}", file=sys.stderr)
    sys.exit(2)


def rule_exprs(path=RULES):
    """Every `expr:` in the rule file, as (where, expr); where names the alert or record."""
    lines = path.read_text().split("\n")
    out = []
    rule = None
    i = 0
    while i < len(lines):
        r = re.match(r"^\s*-?\s*(alert|record):\s*(\S+)", lines[i])
        if r:
            rule = r.group(2).strip("'\"")
        m = re.match(r"^(\s*)(?:- )?expr:\s*(.*)$", lines[i])
        if not m:
            i += 1
            continue
        indent, value = len(m.group(1)), m.group(2).strip()
        where = f"rule {rule or '?'} ({path.name}:{i + 1})"
        if value in ("|", ">", "|-", ">-", "|+", ">+"):
            block = []
            i += 1
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                block.append(lines[i].strip())
                i += 1
            out.append((where, " ".join(b for b in block if b)))
            continue
        if value.startswith('"'):
            if len(value) < 2 or not value.endswith('"'):
                die(f"{path.name}:{i + 1}: a quoted expr over several lines; write it as an `expr: |` block")
            value = json.loads(value)  # YAML's double-quoted escapes are JSON's, for PromQL's characters
        elif value.startswith("'"):
            if len(value) < 2 or not value.endswith("'"):
                die(f"{path.name}:{i + 1}: a quoted expr over several lines; write it as an `expr: |` block")
            value = value[1:-1].replace("''", "'")
        elif not value:
            die(f"{path.name}:{i + 1}: an expr on the following lines without `|`; write it as an `expr: |` block")
        out.append((where, value))
        i += 1
    if not out:
        die(f"no expr in {path}")
    return out


def dashboard_exprs(path=DASHBOARD):
    """Every target's `expr` and every query variable's query, as (where, expr, kind)."""
    doc = json.loads(path.read_text())
    out = []

    def walk(node, title):
        if isinstance(node, dict):
            title = node.get("title", title)
            for t in node.get("targets", []) or []:
                if isinstance(t, dict) and t.get("expr"):
                    out.append((f"{path.name}: panel {title!r} {t.get('refId', '')}".rstrip(), t["expr"], "promql"))
            for key in ("panels", "rows"):
                for child in node.get(key, []) or []:
                    walk(child, title)

    walk(doc, "")
    for var in doc.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        q = var.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        out.append((f"{path.name}: variable {var.get('name')!r}", q or "", "variable"))
    return out


def variable_promql(query):
    """The PromQL inside a Grafana Prometheus variable query, or None (metrics(), label_names())."""
    q = query.strip()
    m = re.match(r"^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$", q, re.S)
    if m:
        return m.group(1)
    if re.match(r"^label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$", q):
        return None  # a label's values over every series: no metric
    m = re.match(r"^query_result\((.*)\)$", q, re.S)
    if m:
        return m.group(1)
    if re.match(r"^(metrics|label_names)\(", q):
        return None
    return q


def grafana_to_promql(expr):
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    # ${var}, ${var:format} and $var: a label value or regex in a matcher.
    return re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*", "x", expr)


def names_in(expr):
    """The metric names a PromQL expression selects (promtool has checked its syntax)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    s = re.sub(r"\{[^}]*\}", " ", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)  # ranges and subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)  # label lists
    s = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*", " ", s)  # Grafana variables
    names = set()
    for m in re.finditer(r"0[xX][0-9a-fA-F]+|[0-9][0-9.]*(?:[eE][+-]?[0-9]+)?[a-z]*|[A-Za-z_:][A-Za-z0-9_:]*|\S", s):
        tok = m.group(0)
        if not re.match(r"[A-Za-z_:]", tok) or tok in KEYWORDS:
            continue
        if re.match(r"\s*\(", s[m.end():]):
            continue  # a function or an aggregation
        names.add(tok)
    return names


def used():
    """{name as written: [where, ...]} for every metric the rules and the dashboard select."""
    found = {}
    for where, expr in rule_exprs():
        for n in names_in(expr):
            found.setdefault(n, []).append(where)
    for where, expr, kind in dashboard_exprs():
        promql = variable_promql(expr) if kind == "variable" else expr
        if promql is None:
            continue
        for n in names_in(promql):
            found.setdefault(n, []).append(where)
    return {n: w for n, w in found.items() if n not in NOT_OURS}


def family(name):
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def exported_types(text):
    """{family: type} from the `# TYPE` lines of a Prometheus text exposition."""
    types = {}
    for line in text.splitlines():
        m = re.match(r"^#\s*TYPE\s+(\S+)\s+(\S+)", line)
        if m:
            types[m.group(1)] = m.group(2)
    return types


def is_exported(name, types):
    if name in types:
        return True
    base = family(name)
    if base != name and types.get(base) in ("histogram", "summary", "gaugehistogram"):
        return not (name.endswith("_bucket") and types[base] == "summary")
    return False


def call(base, method, path, body=None, token=None):
    """(status, parsed JSON body or text) of one request to the server."""
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            status, raw = res.status, res.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def exercise(base):
    """Some traffic, so that labelled families (by outcome, target, ...) have a series:
    a family with no series has no `# TYPE` line either. Needs the demo users (SEED_DEMO)."""
    def expect(what, got, status):
        if got[0] != status:
            die(f"exercise: {what} answered {got[0]}, expected {status}: {got[1]}")
        return got[1]

    login = expect("POST /api/auth/login", call(base, "POST", "/api/auth/login",
                                                {"email": "alice@example.com", "password": "demo-password"}), 200)
    token = login["token"]
    days = expect("GET /api/availability", call(base, "GET", "/api/availability", token=token), 200)["days"]
    day = next((d for d in days if d["status"] != "closed" and d["remaining"] > 0), None)
    if day is None:
        die("exercise: no open day with room in GET /api/availability")
    hold = expect("POST /api/holds", call(base, "POST", "/api/holds", {"date": day["date"]}, token), 201)
    expect("POST /api/requests", call(base, "POST", "/api/requests",
                                      {"title": "deploy/check.sh", "dueDate": day["date"], "holdId": hold["id"]},
                                      token), 201)
    # The hub broadcasts the change once the change stream delivers it.
    deadline = time.monotonic() + 10
    while True:
        status, text = call(base, "GET", "/metrics")
        m = re.search(r"^hub_broadcasts_total(?:\{[^}]*\})? ([0-9.e+]+)$", str(text), re.M)
        if status == 200 and m and float(m.group(1)) > 0:
            break
        if time.monotonic() > deadline:
            die("exercise: no hub broadcast within 10 s of a booking (hub_broadcasts_total stays 0)")
        time.sleep(0.1)
    print(f"signed in as alice@example.com, held and booked {day['date']}, the hub broadcast it")


def main(argv):
    if len(argv) < 2:
        die(__doc__)
    cmd = argv[1]
    if cmd == "used":
        for fam in sorted({family(n) for n in used()}):
            print(fam)
    elif cmd == "promql-rules" and len(argv) == 3:
        # The dashboard's expressions as recording rules, so promtool parses every one of them.
        lines = ["# Generated by deploy/metrics.py from the dashboard; for promtool check rules only.",
                 "groups:", "  - name: dashboard", "    rules:"]
        n = 0
        for where, expr, kind in dashboard_exprs():
            promql = variable_promql(expr) if kind == "variable" else expr
            if promql is None:
                continue
            n += 1
            lines.append(f"      - record: dashboard_expression_{n}  # {where}")
            lines.append(f"        expr: {json.dumps(grafana_to_promql(promql))}")
        Path(argv[2]).write_text("\n".join(lines) + "\n")
        print(f"{n} dashboard expressions")
    elif cmd == "exercise" and len(argv) == 3:
        exercise(argv[2].rstrip("/"))
    elif cmd == "missing" and len(argv) == 3:
        types = exported_types(Path(argv[2]).read_text())
        missing = {}
        for name, wheres in used().items():
            if not is_exported(name, types):
                missing.setdefault(family(name), set()).update(wheres)
        if missing:
            print(f"{len(missing)} metric(s) used but not exported (no '# TYPE' line in /metrics):")
            width = max(len(f) for f in missing)
            for fam in sorted(missing):
                rules = sorted({w.split()[1] for w in missing[fam] if w.startswith("rule ")})
                panels = sorted({w.split(": ", 1)[1].rsplit(" ", 1)[0].removeprefix("panel ") for w in missing[fam] if not w.startswith("rule ")})
                places = ([f"rules {', '.join(rules)}"] if rules else []) + ([f"panels {', '.join(panels)}"] if panels else [])
                print(f"  {fam.ljust(width)}  used by {'; '.join(places)}")
            return 1
        print(f"all {len({family(n) for n in used()})} metric families used by the rules and the dashboard are exported")
        unused = sorted(set(types) - {family(n) for n in used()} - {n for n in used()})
        if unused:
            print("exported but used by neither (fine, just so you know): " + ", ".join(unused))
    elif cmd == "admin-url" and len(argv) == 3:
        url = urllib.parse.urlsplit(argv[2])
        name = urllib.parse.unquote(url.path.lstrip("/"))
        if not name:
            die(f"no database name in {argv[2]}")
        print(urllib.parse.urlunsplit(url._replace(path="/postgres")))
        print(name)
    else:
        die(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
