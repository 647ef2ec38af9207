#!/usr/bin/env bash
# The worked examples of docs/quotas.md, taken from the page itself and run
# against a real cofferd (with the test clock, which the retention example
# needs): every shell block of "## Worked examples" runs as written, in a
# directory with the var/coffer.env it sources, and what the page says came
# back is checked:
#   - a table after a block: its rows are the block's last HTTP calls, in
#     order. Column "answer": the status, the error code, every `"key": value`
#     fragment (found in the response or one level down, e.g. in .version) and
#     every "quoted sentence" (in the error message); `version.number` and
#     `rotated`: those response fields; "versions held after" / "kept after":
#     the collection's version numbers after the call; "account `usage.size`
#     after": that of the collection's account;
#   - a comment under a command, "# 413 {...}" or "# [3,4,5]: ...": the status
#     and the JSON the command printed ("..." matches any string);
#   - a table with a "created at (UTC)" column: the block's X-Coffer-Test-Time
#     upload is not run as written but once per row, at the row's time;
#   - the sentences that state outcomes in prose, matched by pattern (a page
#     that rewords them fails here, so that it gets a new check).
# A page the reader cannot understand fails the test rather than checking less.
source "$(dirname "$0")/lib.sh"
itest_begin
cofferd_start allow_test_clock=true app_env=test
WORK=$ITEST_DIR/work
mkdir -p "$WORK/var"
printf 'COFFER_URL=%s\nCOFFER_ADMIN_TOKEN=%s\n' "$COFFER_URL" "$ADMIN" >"$WORK/var/coffer.env"

rc=0
python3 - "$COFFER_SOURCE/docs/quotas.md" "$WORK" >"$ITEST_DIR/doc-checks.out" 2>&1 <<'PY' || rc=$?
import json
import os
import re
import subprocess
import sys

page, work = sys.argv[1], sys.argv[2]
text = open(page, encoding="utf-8").read()
start = text.find("\n## Worked examples")
if start < 0:
    sys.exit("docs/quotas.md has no '## Worked examples' section")
end = text.find("\n## ", start + 1)
section = text[start:end if end > 0 else len(text)]
passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok:   " + what)
    else:
        failed += 1
        print("FAIL: " + what + (": " + detail if detail else ""))


# The section as a list of ("block", lines) and ("table", header, rows) in page order.
items = []
lines = section.split("\n")
i = 0
while i < len(lines):
    line = lines[i]
    if line.startswith("```sh"):
        j = i + 1
        while not lines[j].startswith("```"):
            j += 1
        items.append(("block", lines[i + 1:j]))
        i = j + 1
        continue
    if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[ -|]+\|$", lines[i + 1]):
        cells = lambda l: [c.strip() for c in l.strip().strip("|").split("|")]
        header = cells(line)
        rows = []
        j = i + 2
        while j < len(lines) and lines[j].startswith("|"):
            rows.append(dict(zip(header, cells(lines[j]))))
            j += 1
        items.append(("table", header, rows))
        i = j
        continue
    items.append(("prose", line))
    i += 1


def commands(block):
    """The block's commands, each with the expectation comments under it."""
    out, current, quotes, loop = [], [], 0, 0
    for line in block:
        if not current and line.startswith("# "):
            if out:
                out[-1]["expect"].append(line[2:])
            continue
        current.append(line)
        quotes += line.count("'")
        if re.match(r"^\s*for\b", line):
            loop += 1
        loop -= len(re.findall(r"(?:^|;)\s*done\b", line))
        if quotes % 2 == 0 and not line.endswith("\\") and loop == 0:
            out.append({"text": "\n".join(current), "expect": []})
            current, quotes = [], 0
    if current:
        sys.exit("unfinished command in a block: " + "\n".join(current))
    return out


# curl, wrapped: each call appends its status, URL, body, the collection's
# versions and its account's usage.size after it to calls.jsonl. What the
# command prints is unchanged.
WRAPPER = r'''
set -u
curl()
{
    local url= a rc coll acct held=null usage=null status
    for a in "$@"; do [[ $a == http://* ]] && url=$a; done
    command curl -w '%{stderr}%{http_code}' "$@" 2>"$W/status" | tee "$W/body"
    rc=${PIPESTATUS[0]}
    status=$(cat "$W/status")
    if [[ $url =~ /repository/collection/([^/?]+)/versions$ ]]; then
        coll=${BASH_REMATCH[1]}
        held=$(command curl -s -H "Authorization: Bearer $COFFER_ADMIN_TOKEN" \
            "$COFFER_URL/api/stable/repository/collection/$coll/versions" | jq -c '[.versions[]?.number]')
        acct=$(command curl -s -H "Authorization: Bearer $COFFER_ADMIN_TOKEN" \
            "$COFFER_URL/api/stable/repository/collection/$coll" | jq -r '.collection.account_id // empty')
        [[ -z $acct ]] || usage=$(command curl -s -H "Authorization: Bearer $COFFER_ADMIN_TOKEN" \
            "$COFFER_URL/api/stable/accounts/$acct" | jq '.account.usage.size')
    fi
    jq -cn --arg cmd "$CMD" --arg status "$status" --arg url "$url" --rawfile body "$W/body" \
        --argjson held "${held:-null}" --argjson usage "${usage:-null}" \
        '{cmd: ($cmd | tonumber), status: $status, url: $url, body: $body, held: $held, usage: $usage}' \
        >>"$W/calls.jsonl"
    return "$rc"
}
'''

script = ["W=" + json.dumps(work + "/.calls"), "mkdir -p \"$W\"", "cd " + json.dumps(work), WRAPPER]
planned = []  # per item: the command numbers it ran
dated = {}  # table index -> the command numbers of its dated uploads
n = 0


def add(cmd_text):
    global n
    n += 1
    script.append("CMD=%d" % n)
    script.append("{ %s\n} >\"$W/out.%d\" 2>\"$W/err.%d\" || true" % (cmd_text, n, n))
    return n


for k, item in enumerate(items):
    if item[0] != "block":
        planned.append([])
        continue
    nxt = next((it for it in items[k + 1:] if it[0] != "prose" or it[1].strip()), None)
    is_dated = nxt is not None and nxt[0] == "table" and "created at (UTC)" in nxt[1]
    numbers = []
    for c in commands(item[1]):
        if is_dated and "X-Coffer-Test-Time" in c["text"]:
            template = c["text"]
            table_index = items.index(nxt)
            dated[table_index] = []
            for row in nxt[2]:
                m = re.match(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})$", row["created at (UTC)"])
                if not m:
                    sys.exit("a created-at cell is not 'YYYY-MM-DD HH:MM': " + row["created at (UTC)"])
                when = "%sT%s:00Z" % m.groups()
                dated[table_index].append(
                    add(re.sub(r"X-Coffer-Test-Time: [0-9TZ:-]+", "X-Coffer-Test-Time: " + when, template)))
            continue
        c["n"] = add(c["text"])
        numbers.append(c)
    planned.append(numbers)

# The prose: six quick uploads by an upload-only token, a capped collection,
# and four quick uploads on the server's clock.
flat = re.sub(r"\s+", " ", section)
m = re.search(r"Then an upload-only token sends six versions \(v(\d+) to v(\d+)\) within\s+seconds, all at "
              r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})\. Afterwards the collection holds \*\*([0-9, ]+)\*\*", flat)
check("the page states what six quick uploads leave", m is not None)
quick = None
if m:
    first, last, day, hm, holds = m.groups()
    script.append('up=$(command curl -s -H "Authorization: Bearer $COFFER_ADMIN_TOKEN" -X POST '
                  '"$COFFER_URL/api/stable/auth/token" -d \'{"account_id": "acct", "permissions": '
                  '["versions.upload"], "collections": ["logs"]}\' | jq -r .token)')
    quick = []
    for _ in range(int(last) - int(first) + 1):
        quick.append(add('curl -s -H "Authorization: Bearer $up" -H "X-Coffer-Test-Time: %sT%s:00Z" '
                         '--data-binary @dump "$C/logs/versions"' % (day, hm)))
capped = re.search(r'a\s+collection with `("max_versions": \d+, "retention": \{[^`]*\})` accepts (\w+)\s+uploads'
                   r' and refuses the (\w+) with `(\d{3}) (\w+)`\. Nothing is deleted', flat)
check("the page states what a capped retention collection does", capped is not None)
words = {"two": 2, "three": 3, "four": 4, "five": 5}
capped_calls = []
if capped:
    fields, accepted = capped.group(1), words.get(capped.group(2))
    add('curl -s -H "$auth" -X POST "$C" -d \'{"id": "capped", "account_id": "acct", "strategy": "retention", '
        + fields + "}'")
    for _ in range((accepted or 0) + 1):
        capped_calls.append(add('curl -s -H "$auth" --data-binary @dump "$C/capped/versions"'))
practice = re.search(r"four quick uploads into the\s+`(\w+)` rules above answer `rotated` ((?:`[^`]*`,?\s*(?:and\s+)?)+)",
                     flat)
check("the page states what four quick uploads on the server's clock answer", practice is not None)
practice_calls = []
if practice:
    add('curl -s -H "$auth" -X POST "$C" -d \'{"id": "quick", "account_id": "acct", "strategy": "retention", '
        '"retention": {"keep_last": 2, "keep_daily": 3, "keep_monthly": 2, "keep_yearly": 2}}\'')
    for _ in range(4):
        practice_calls.append(add('curl -s -H "$auth" --data-binary @dump "$C/quick/versions"'))

open(os.path.join(work, "run.sh"), "w").write("\n".join(script) + "\n")
subprocess.run(["bash", os.path.join(work, "run.sh")], check=True)
calls = [json.loads(l) for l in open(os.path.join(work, ".calls", "calls.jsonl"))]
by_cmd = {}
for c in calls:
    by_cmd.setdefault(c["cmd"], []).append(c)


def body_json(call):
    try:
        return json.loads(call["body"])
    except ValueError:
        return None


def find_key(obj, key):
    if isinstance(obj, dict):
        if key in obj:
            return True, obj[key]
        for v in obj.values():
            if isinstance(v, dict) and key in v:
                return True, v[key]
    return False, None


def number(cell):
    m = re.match(r"^([0-9][0-9 ]*)", cell)
    return int(m.group(1).replace(" ", "")) if m else None


def check_row(what, row, call):
    got = body_json(call)
    for col, cell in row.items():
        if col == "answer":
            m = re.match(r"^`(\d{3})(?: (\w+))?`", cell)
            if not m:
                check(what + ": the answer starts with `STATUS code`", False, cell)
                continue
            check(what + ": status " + m.group(1), call["status"] == m.group(1), call["body"][:300])
            if m.group(2):
                check(what + ": code " + m.group(2), isinstance(got, dict) and got.get("code") == m.group(2),
                      call["body"][:300])
            for frag in re.findall(r"`(\"[^`]*)`", cell):
                try:
                    want = json.loads("{" + frag + "}")
                except ValueError:
                    check(what + ": a fragment that is JSON", False, frag)
                    continue
                for key, value in want.items():
                    found, have = find_key(got, key)
                    check("%s: %s = %s" % (what, key, json.dumps(value)), found and have == value,
                          "got " + json.dumps(have))
            for sentence in re.findall(r'\("([^"]+)"\)|`: "([^"]+)"', cell):
                sentence = sentence[0] or sentence[1]
                check(what + ': says "' + sentence + '"',
                      isinstance(got, dict) and got.get("error") == sentence, call["body"][:300])
        elif col == "`version.number`":
            found, have = find_key(got, "version")
            check(what + ": number " + cell, found and have.get("number") == int(cell), call["body"][:200])
        elif col == "`rotated`" or col == "rotated":
            want = json.loads(cell.strip("`").replace(" ", "")) if cell.strip() else None
            if want is not None:
                have = sorted(got.get("rotated", [])) if isinstance(got, dict) else None
                check(what + ": rotated " + cell, have == sorted(want), call["body"][:200])
        elif col in ("versions held after", "kept after"):
            want = [int(x) for x in cell.split(",")]
            check(what + ": held after " + cell, call["held"] == want, json.dumps(call["held"]))
        elif col.startswith("account `usage.size` after"):
            check(what + ": usage.size after " + cell, call["usage"] == number(cell), json.dumps(call["usage"]))


def json_matches(want, have):
    if want == "...":
        return True
    if isinstance(want, dict):
        return isinstance(have, dict) and set(want) == set(have) and all(json_matches(want[k], have[k]) for k in want)
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(map(json_matches, want, have))
    return want == have


tables = 0
for k, item in enumerate(items):
    if item[0] == "block":
        for c in planned[k]:
            for e in c["expect"]:
                m = re.match(r"^(?:(\d{3}) )?([\[{].*)$", e)
                if not m:
                    continue
                try:
                    want, _ = json.JSONDecoder().raw_decode(m.group(2))
                except ValueError:
                    check("a JSON comment", False, e)
                    continue
                out = open(os.path.join(work, ".calls", "out.%d" % c["n"])).read()
                last = by_cmd.get(c["n"], [{}])[-1]
                if m.group(1):
                    check("`%s`: status %s" % (c["text"][:60], m.group(1)), last.get("status") == m.group(1))
                try:
                    have = json.loads(out)
                except ValueError:
                    have = None
                check("`%s` prints %s" % (c["text"][:60], e[:80]), json_matches(want, have), out[:300])
        continue
    if item[0] != "table":
        continue
    header, rows = item[1], item[2]
    checked = {"answer", "`version.number`", "`rotated`", "rotated", "versions held after", "kept after"}
    if not any(h in checked or h.startswith("account `usage.size`") for h in header):
        continue  # a reference table, not an outcome
    tables += 1
    if k in dated:
        made = [by_cmd.get(nr, [None])[-1] for nr in dated[k]]
    else:
        block = next(j for j in range(k - 1, -1, -1) if items[j][0] == "block")
        made = [c for cmd in planned[block] for c in by_cmd.get(cmd["n"], [])]
        made = made[len(made) - len(rows):] if len(rows) <= len(made) else None
    if made is None or None in made:
        check("table %s: one HTTP call per row" % header, False)
        continue
    for row, call in zip(rows, made):
        check_row("%s %s" % (header[0], row[header[0]]), row, call)

check("every outcome table was checked (5)", tables == 5, str(tables))
if quick:
    last = by_cmd[quick[-1]][-1]
    want = [int(x) for x in holds.split(",")]
    check("after the six quick uploads the collection holds " + holds, last["held"] == want, json.dumps(last["held"]))
    check("the six quick uploads were accepted", all(by_cmd[c][-1]["status"] == "201" for c in quick))
if capped:
    statuses = [by_cmd[c][-1]["status"] for c in capped_calls]
    check("the capped collection accepts %d uploads" % accepted, statuses[:-1] == ["201"] * accepted, str(statuses))
    refused = body_json(by_cmd[capped_calls[-1]][-1]) or {}
    check("and refuses the next with %s %s" % (capped.group(4), capped.group(5)),
          statuses[-1] == capped.group(4) and refused.get("code") == capped.group(5), str(statuses))
    check("nothing deleted to make room", by_cmd[capped_calls[-1]][-1]["held"] == list(range(1, accepted + 1)))
if practice:
    want = [json.loads(x) for x in re.findall(r"`([^`]*)`", practice.group(2))]
    have = [(body_json(by_cmd[c][-1]) or {}).get("rotated") for c in practice_calls]
    check("four quick uploads answer rotated %s" % want, have == want, str(have))
    check("and keep the last two", by_cmd[practice_calls[-1]][-1]["held"] == [3, 4])
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
oks=$(grep -c '^ok: ' "$ITEST_DIR/doc-checks.out" || true)
echo "statements of docs/quotas.md checked: $oks"
grep -v '^ok: ' "$ITEST_DIR/doc-checks.out" || true
check "the worked examples of docs/quotas.md hold against cofferd (exit $rc)" test "$rc" -eq 0
check "and many of their statements were checked ($oks)" test "$oks" -ge 60

cofferd_stop
itest_finish
