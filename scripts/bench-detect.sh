#!/usr/bin/env bash
# Detector benchmark: `provenance scan` against Semgrep, on the same files with equivalent rules
# (scripts/semgrep_rules.py translates our rule pack). `just bench-detect` runs it.
#
#   * Semgrep (pinned) in a venv at ~/.cache/provenance-tools/semgrep-venv, run offline.
#   * A corpus of ~150k lines of real code at ~/.cache/provenance-bench/corpus, built once from
#     pinned sources (MANIFEST lists them, with line counts): the Python standard library of
#     this machine, npm packages, Debian golang-*-dev packages.
#   * A PR-sized input at ~/.cache/provenance-bench/pr: 10 corpus files and a diff adding 200
#     lines across them.
#   * Median wall and CPU time of RUNS runs of each tool on each input, the findings of both
#     compared (every Semgrep finding must be one of ours: same rule, path and line), and a
#     markdown summary, also written to ~/.cache/provenance-bench/results-<timestamp>.md.
#
# Environment: RUNS (default 3), SKIP_OURS=1 (Semgrep only), REBUILD=1 (cargo build even when the
# binary exists), SEMGREP_LANGS=regex|native (see semgrep_rules.py), CARGO_TARGET_DIR.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SEMGREP_VERSION="1.180.0" # newer releases need a certifi newer than the registry here serves
RUNS="${RUNS:-3}"
SKIP_OURS="${SKIP_OURS:-0}"
SEMGREP_LANGS="${SEMGREP_LANGS:-regex}"
TOOLS="$HOME/.cache/provenance-tools"
VENV="$TOOLS/semgrep-venv"
BENCH="$HOME/.cache/provenance-bench"
CORPUS="$BENCH/corpus"
PR="$BENCH/pr"
BIN="${CARGO_TARGET_DIR:-$HOME/.cache/provenance-target}/release/provenance"
export SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SEND_METRICS=off

# Corpus sources. Changing anything here rebuilds the corpus (the spec is stored in MANIFEST).
PY_STDLIB="/usr/lib/python3.11"
PY_TARGET=110000
JS_TARGET=25000
GO_TARGET=15000
# npm package@version  integrity  files taken (path prefixes inside the package, in this order)
NPM_SOURCES=(
  "express@4.21.2 sha512-28HqgMZAmih1Czt9ny7qr6ek2qddF4FclbMzwhCREB6OFfH+rXAnuNCwo1/wFvrtbgsQDb4kSbX9de9lFbrXnA== index.js,lib/"
  "lodash@4.17.21 sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg== lodash.js"
  "axios@1.7.9 sha512-LhLcE7Hbiryz8oMDdDptSrWowmB4Bl6RCt6sIJKpRB4XtVf0iEgewX3au/pJqm+Py1kCASkb/FFKjxQaLtxJvw== lib/"
)
# Debian package=version  sha256 of the .deb
DEB_SOURCES=(
  "golang-github-gin-gonic-gin-dev=1.8.1-1 66d916769bcd36a6722b0c92a81719b8faca56f69662b17d1ef7ba257c85367a"
  "golang-github-spf13-cobra-dev=1.6.1-1 4f5d20855133319beef3c5b49d3c21a0406f270bf94fb4b6f4d406b691283cb2"
  "golang-github-gorilla-mux-dev=1.8.0-1 0880a4019fe68496a0e0a749c2948c029e489f49edd448bed2fedaba33f848c2"
  "golang-github-spf13-pflag-dev=1.0.6~git20210604-d5e0c0615ace-1 bd1c3c2a3e47512a64da02ebea900eb5a3f3c5d386e559d5718a3a935c0ea570"
)
PY_STDLIB_PKG="$(dpkg-query -W -f '${Package}=${Version} ' libpython3.11-stdlib libpython3.11-minimal 2>/dev/null || echo unknown)"
CORPUS_SPEC="corpus-v1 | $PY_STDLIB $PY_STDLIB_PKG-> $PY_TARGET | ${NPM_SOURCES[*]} -> $JS_TARGET | ${DEB_SOURCES[*]} -> $GO_TARGET"

log() { printf '==> %s\n' "$*" >&2; }
WORK="" OUT=""
cleanup() { rm -rf ${WORK:+"$WORK"} ${OUT:+"$OUT"}; }
trap cleanup EXIT

# --- a. Semgrep ----------------------------------------------------------------------------------
SEMGREP="$VENV/bin/semgrep"
PY="$VENV/bin/python"
if [[ "$("$SEMGREP" --version 2>/dev/null || true)" != "$SEMGREP_VERSION" ]]; then
  log "installing semgrep $SEMGREP_VERSION into $VENV"
  rm -rf "$VENV"
  mkdir -p "$TOOLS"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "semgrep==$SEMGREP_VERSION"
fi
log "semgrep $("$SEMGREP" --version)"

# --- b. Corpus -----------------------------------------------------------------------------------
build_corpus() {
  WORK="$(mktemp -d "$BENCH/build.XXXXXX")"
  local work="$WORK"
  mkdir -p "$work/npm" "$work/deb"
  for src in "${NPM_SOURCES[@]}"; do
    read -r spec _ _ <<<"$src"
    log "npm pack $spec"
    (cd "$work/npm" && npm pack --silent --pack-destination "$work/npm" "$spec" >/dev/null 2>"$work/npm.log") \
      || { cat "$work/npm.log" >&2; return 1; }
  done
  for src in "${DEB_SOURCES[@]}"; do
    read -r spec _ <<<"$src"
    log "apt-get download $spec"
    if ! (cd "$work/deb" && apt-get download -q "$spec" >"$work/apt.log" 2>&1); then
      log "apt-get download failed; running apt-get update once and retrying"
      apt-get update -qq >/dev/null 2>&1 || true
      (cd "$work/deb" && apt-get download -q "$spec" >"$work/apt.log" 2>&1) || { cat "$work/apt.log" >&2; return 1; }
    fi
  done
  "$PY" - "$work" "$CORPUS_SPEC" "$PY_STDLIB" "$PY_TARGET" "$JS_TARGET" "$GO_TARGET" \
    "${NPM_SOURCES[@]}" -- "${DEB_SOURCES[@]}" <<'PYEOF'
import base64, hashlib, os, shutil, subprocess, sys, tarfile
from pathlib import Path

work = Path(sys.argv[1]); spec = sys.argv[2]; stdlib = Path(sys.argv[3])
targets = {"python": int(sys.argv[4]), "javascript": int(sys.argv[5]), "go": int(sys.argv[6])}
rest = sys.argv[7:]; sep = rest.index("--")
npm_sources, deb_sources = rest[:sep], rest[sep + 1:]
MAX_BYTES = 1_000_000  # below both tools' limits (ours 1 MiB, Semgrep's --max-target-bytes here)
out = work / "corpus"
manifest_sources, files, skipped = [], [], []

def line_count(text):
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)

def usable(path, rel):
    """The file's text, or None (with the reason recorded) when it is not taken."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        skipped.append(f"{rel} (over {MAX_BYTES} bytes)"); return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        skipped.append(f"{rel} (not UTF-8)"); return None
    n = line_count(text)
    if ".min." in path.name or (n and size / n > 200) or any(len(l) > 5000 for l in text.splitlines()):
        skipped.append(f"{rel} (minified)"); return None
    return text

def take(lang, candidates):
    """Whole files in the given order until the language reaches its target line count."""
    total = 0
    for src, dest in candidates:
        if total >= targets[lang]:
            break
        text = usable(src, dest)
        if text is None:
            continue
        d = out / lang / dest
        d.parent.mkdir(parents=True, exist_ok=True)
        d.write_text(text, encoding="utf-8")
        n = line_count(text)
        files.append((lang, f"{lang}/{dest}", n))
        total += n
    if total < targets[lang]:
        sys.exit(f"corpus: only {total} {lang} lines available (target {targets[lang]})")

# Python: the standard library, sorted, without test/ and tests/ directories.
py = []
for root, dirs, names in os.walk(stdlib):
    dirs[:] = sorted(d for d in dirs if d not in ("test", "tests", "__pycache__", "site-packages", "dist-packages"))
    for name in names:
        if name.endswith(".py"):
            p = Path(root) / name
            py.append((p, p.relative_to(stdlib).as_posix()))
py.sort(key=lambda t: t[1])
manifest_sources.append(f"python: Python standard library {stdlib} (files in sorted path order, "
                        f"test/ and tests/ skipped); {spec.split('|')[1].strip()}")
take("python", py)

# JavaScript: npm packages, pinned and integrity-checked.
js = []
for src in npm_sources:
    pkg, integrity, prefixes = src.split()
    name, version = pkg.rsplit("@", 1)
    tgz = work / "npm" / f"{name.replace('@', '').replace('/', '-')}-{version}.tgz"
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    if digest != integrity:
        sys.exit(f"corpus: {pkg}: integrity {digest} != pinned {integrity}")
    dest = work / "npm" / f"{name}-{version}"
    with tarfile.open(tgz) as t:
        try:
            t.extractall(dest, filter="data")
        except TypeError:  # Python without extraction filters
            t.extractall(dest)
    root = dest / "package"
    all_js = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                    if p.is_file() and p.suffix in (".js", ".mjs", ".cjs"))
    for prefix in prefixes.split(","):
        for rel in all_js:
            if rel == prefix or (prefix.endswith("/") and rel.startswith(prefix)):
                js.append((root / rel, f"{name}-{version}/{rel}"))
    manifest_sources.append(f"javascript: npm {pkg} {integrity} (files: {prefixes})")
take("javascript", js)

# Go: Debian golang-*-dev packages (the Go sources they install), without tests and testdata.
go = []
for src in deb_sources:
    pkgver, sha = src.split()
    pkg, version = pkgver.split("=", 1)
    debs = [d for d in (work / "deb").glob(f"{pkg}_*.deb")]
    if len(debs) != 1:
        sys.exit(f"corpus: expected one .deb for {pkgver}, found {debs}")
    got = hashlib.sha256(debs[0].read_bytes()).hexdigest()
    if got != sha:
        sys.exit(f"corpus: {debs[0].name}: sha256 {got} != pinned {sha}")
    dest = work / "deb" / pkg
    subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(dest)], check=True)
    gocode = dest / "usr/share/gocode/src"
    short = f"{pkg.removeprefix('golang-').removesuffix('-dev')}-{version.split('-')[0].split('~')[0]}"
    for p in sorted(gocode.rglob("*.go"), key=lambda p: p.relative_to(gocode).as_posix()):
        rel = p.relative_to(gocode).as_posix()
        if p.is_symlink() or p.name.endswith("_test.go") or "/testdata/" in f"/{rel}":
            continue
        go.append((p, f"{short}/{rel.split('/', 3)[-1] if rel.count('/') >= 3 else rel}"))
    manifest_sources.append(f"go: Debian {pkgver} sha256 {sha} (*.go under /usr/share/gocode/src, "
                            f"no *_test.go or testdata/)")
take("go", go)

totals = {lang: sum(n for l, _, n in files if l == lang) for lang in targets}
counts = {lang: sum(1 for l, _, _ in files if l == lang) for lang in targets}
with open(out / "MANIFEST", "w") as m:
    m.write(f"# provenance-bench corpus. spec: {spec}\n")
    for s in manifest_sources:
        m.write(f"source {s}\n")
    for lang in targets:
        m.write(f"lines {lang} {totals[lang]} files {counts[lang]}\n")
    m.write(f"lines total {sum(totals.values())} files {len(files)}\n")
    for s in skipped:
        m.write(f"skipped {s}\n")
    for _, rel, n in files:
        m.write(f"file {n} {rel}\n")
print(" ".join(f"{lang}={totals[lang]}" for lang in targets), file=sys.stderr)
PYEOF
  rm -rf "$CORPUS"
  mv "$work/corpus" "$CORPUS"
  rm -rf "$WORK"
  WORK=""
  : >"$CORPUS/.semgrepignore" # no default ignores (test/, vendor/, *.min.js…): both tools see every file
}

mkdir -p "$BENCH"
if [[ ! -f "$CORPUS/MANIFEST" ]] || [[ "$(head -1 "$CORPUS/MANIFEST")" != "# provenance-bench corpus. spec: $CORPUS_SPEC" ]]; then
  log "building the corpus in $CORPUS"
  build_corpus
  rm -rf "$PR" # made from the corpus
else
  log "reusing the corpus in $CORPUS"
fi
grep '^lines ' "$CORPUS/MANIFEST" | sed 's/^/    /' >&2

# --- c. PR-sized input ---------------------------------------------------------------------------
PR_SPEC="pr-v2: 6 python (4 with a risky call in the window), 2 javascript, 2 go; 20 added lines each"
if [[ ! -f "$PR/pr.diff" ]] || [[ "$(cat "$PR/SPEC" 2>/dev/null)" != "$PR_SPEC" ]]; then
  log "making the PR input in $PR"
  rm -rf "$PR" && mkdir -p "$PR"
  "$PY" - "$CORPUS" "$PR" "$PR_SPEC" <<'PYEOF'
import re, subprocess, sys, tempfile
from pathlib import Path

corpus, pr, spec = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
PICK = {"python": 6, "javascript": 2, "go": 2}
RISKY_PICK = {"python": 4}  # of which: files whose added window holds a risky call
ADDED = 20  # consecutive lines per file treated as added
# A tool-neutral choice of "risky" code for the PR windows, so the comparison has findings to
# agree on: calls either tool's rules are about.
RISKY = re.compile(r"\b(?:eval|exec|os\.system|os\.popen|pickle\.loads?)\(|\bshell=True")
files = [line.split(maxsplit=2)[1:] for line in (corpus / "MANIFEST").read_text().splitlines()
         if line.startswith("file ")]
chosen, window_start = [], {}
def spread(cands, k):
    return [cands[(2 * i + 1) * len(cands) // (2 * k)] for i in range(k)] if k else []
for lang, k in PICK.items():
    cands = [rel for n, rel in files if rel.startswith(lang + "/") and 150 <= int(n) <= 1500]
    risky = {}
    for rel in cands:
        for i, line in enumerate((corpus / rel).read_text(encoding="utf-8").splitlines()):
            if RISKY.search(line) and not line.lstrip().startswith("#"):
                risky[rel] = max(0, i - 5)
                break
    r = min(RISKY_PICK.get(lang, 0), len(risky))
    picked = spread(sorted(risky), r) + spread([c for c in cands if c not in risky], k - r)
    for rel in picked:
        if rel in risky:
            window_start[rel] = risky[rel]
    chosen += picked
with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    for rel in chosen:
        text = (corpus / rel).read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        start = min(window_start.get(rel, len(lines) // 3), len(lines) - ADDED)  # 0-based first added line
        for d, content in ((tmp / "old" / rel, "".join(lines[:start] + lines[start + ADDED:])),
                           (tmp / "new" / rel, text), (pr / rel, text)):
            d.parent.mkdir(parents=True, exist_ok=True)
            d.write_text(content, encoding="utf-8")
    proc = subprocess.run(
        ["git", "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false", "-c", "core.quotePath=false",
         "diff", "--no-index", "--no-color", "--no-ext-diff", "old", "new"],
        cwd=tmp, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"git diff failed: {proc.stderr}")
out = []
for line in proc.stdout.splitlines(keepends=True):
    if line.startswith(("diff --git ", "--- ", "+++ ")):
        line = line.replace("a/old/", "a/").replace("b/new/", "b/")
    out.append(line)
diff = "".join(out)
added = sum(1 for l in out if l.startswith("+") and not l.startswith("+++"))
if added != ADDED * len(chosen):
    sys.exit(f"pr.diff adds {added} lines, expected {ADDED * len(chosen)}")
(pr / "pr.diff").write_text(diff, encoding="utf-8")
(pr / "FILES").write_text("".join(f"{rel}\n" for rel in chosen))
(pr / ".semgrepignore").write_text("")
(pr / "SPEC").write_text(spec)
print(f"{len(chosen)} files, {added} added lines", file=sys.stderr)
PYEOF
fi
mapfile -t PR_FILES <"$PR/FILES"

# --- d. Our binary -------------------------------------------------------------------------------
if [[ "$SKIP_OURS" != 1 ]]; then
  if [[ ! -x "$BIN" || "${REBUILD:-0}" == 1 ]]; then
    log "building $BIN"
    (cd "$REPO" && CARGO_TARGET_DIR="$(dirname "$(dirname "$BIN")")" cargo build --release -p provenance)
  fi
  newest="$(find "$REPO/crates" "$REPO/Cargo.lock" -type f -newer "$BIN" -print -quit 2>/dev/null || true)"
  [[ -z "$newest" ]] || log "warning: $BIN is older than $newest (REBUILD=1 rebuilds it)"
fi

# --- e. Timed runs -------------------------------------------------------------------------------
OUT="$(mktemp -d "$BENCH/run.XXXXXX")"
RULES="$OUT/semgrep-rules.yaml"
log "generating the Semgrep config (languages: $SEMGREP_LANGS) and checking it on the rules' examples"
SEMGREP="$SEMGREP" "$PY" "$REPO/scripts/semgrep_rules.py" "$RULES" --languages "$SEMGREP_LANGS" --self-test \
  2>"$OUT/rules.log" || true
sed 's/^semgrep_rules: /    /' "$OUT/rules.log" >&2
grep -q 'wrote [0-9]* rule' "$OUT/rules.log" || { log "semgrep_rules.py failed"; exit 1; }

# timed NAME CWD CMD...: run CMD in CWD RUNS times; stdout of the last run to $OUT/NAME.out, one
# "wall user sys" line per run to $OUT/NAME.times. CPU time covers every waited-for descendant.
timed() {
  local name="$1" cwd="$2"
  shift 2
  log "$name: $* (x$RUNS)"
  : >"$OUT/$name.times"
  for ((i = 1; i <= RUNS; i++)); do
    (cd "$cwd" && "$PY" -c '
import resource, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
with open(out, "wb") as f:
    rc = subprocess.run(cmd, stdout=f, stderr=open(out + ".err", "wb")).returncode
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
if rc != 0:
    sys.stderr.write(open(out + ".err").read()[-3000:])
    sys.exit(f"{cmd[0]} exited with {rc}")
print(f"{wall:.4f} {ru.ru_utime:.4f} {ru.ru_stime:.4f}")
' "$OUT/$name.out" "$@") >>"$OUT/$name.times"
  done
}

SG=("$SEMGREP" scan --config "$RULES" --json --metrics=off --disable-version-check --no-git-ignore
  --max-target-bytes 1000000)
if [[ "$SKIP_OURS" != 1 ]]; then
  timed ours-corpus "$CORPUS" "$BIN" scan --format json --fail-on never python javascript go
fi
timed semgrep-corpus-j1 "$CORPUS" "${SG[@]}" -j 1 python javascript go
timed semgrep-corpus-jdefault "$CORPUS" "${SG[@]}" python javascript go
if [[ "$SKIP_OURS" != 1 ]]; then
  timed ours-pr "$PR" "$BIN" scan --diff pr.diff --format json --fail-on never
fi
timed semgrep-pr-j1 "$PR" "${SG[@]}" -j 1 "${PR_FILES[@]}"
timed semgrep-pr-jdefault "$PR" "${SG[@]}" "${PR_FILES[@]}"

# --- f, g. Findings and summary ------------------------------------------------------------------
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS="$BENCH/results-$stamp.md"
"$PY" - "$OUT" "$CORPUS" "$PR" "$SKIP_OURS" "$RUNS" "$("$SEMGREP" --version)" "$SEMGREP_LANGS" "$BIN" \
  "$(nproc)" "$stamp" "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" >"$RESULTS" <<'PYEOF'
import json, re, statistics, sys
from collections import Counter
from pathlib import Path

out, corpus, pr = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
skip_ours, runs, sg_version, sg_langs, binary, ncpu, stamp, rev = sys.argv[4:12]
skip_ours = skip_ours == "1"

manifest = (corpus / "MANIFEST").read_text().splitlines()
lines = {l.split()[1]: (int(l.split()[2]), int(l.split()[4])) for l in manifest if l.startswith("lines ")}
file_lines = {l.split(maxsplit=2)[2]: int(l.split()[1]) for l in manifest if l.startswith("file ")}
pr_files = (pr / "FILES").read_text().split()
pr_lines = sum(file_lines[f] for f in pr_files)
def pr_added(path, line):
    return line in added_lines.get(path, set())
added_lines = {}
cur = None
for l in (pr / "pr.diff").read_text().splitlines():
    if l.startswith("+++ b/"):
        cur, ln = l[6:], 0
    elif l.startswith("@@"):
        ln = int(re.match(r"@@ -\S+ \+(\d+)", l).group(1))
    elif cur and l.startswith("+"):
        added_lines.setdefault(cur, set()).add(ln); ln += 1
    elif cur and l.startswith(" "):
        ln += 1
pr_added_count = sum(len(v) for v in added_lines.values())

def times(name):
    p = out / f"{name}.times"
    if not p.exists():
        return None
    rows = [tuple(map(float, l.split())) for l in p.read_text().split("\n") if l.strip()]
    return statistics.median(r[0] for r in rows), statistics.median(r[1] + r[2] for r in rows)

def semgrep(name, only_added=False):
    d = json.loads((out / f"{name}.out").read_text())
    keys = set()
    for r in d["results"]:
        rid = r.get("extra", {}).get("metadata", {}).get("provenance_id") or r["check_id"]
        path = r["path"].removeprefix("./")
        if only_added and not pr_added(path, r["start"]["line"]):
            continue
        keys.add((rid, path, r["start"]["line"]))
    return keys, len(d.get("paths", {}).get("scanned", [])), len(d.get("errors", []))

def ours(name):
    d = json.loads((out / f"{name}.out").read_text())
    keys = {(f["rule_id"], f["location"]["file_path"], f["location"]["start_line"]) for f in d["findings"]}
    return keys, d.get("files_scanned"), d.get("detectors_incomplete")

def fmt(x, nd=2):
    return "–" if x is None else f"{x:,.{nd}f}"

W = print
W(f"# Detector benchmark {stamp}\n")
W(f"provenance `{rev}` ({binary if not skip_ours else 'skipped: SKIP_OURS=1'}); Semgrep {sg_version} "
  f"(rules as `{sg_langs}`); {ncpu} CPUs; median of {runs} run(s). CPU = user + sys of the process "
  f"tree; lines/CPU-s is throughput per core.\n")
W("## Corpus\n")
W("| language | lines | files |\n|---|---:|---:|")
for lang in ("python", "javascript", "go", "total"):
    n, f = lines[lang]
    W(f"| {lang} | {n:,} | {f:,} |")
W("")
for l in manifest:
    if l.startswith("source "):
        W(f"- {l[7:]}")
W(f"\nPR input: {len(pr_files)} files ({pr_lines:,} lines), `pr.diff` adds {pr_added_count} lines "
  f"({', '.join(pr_files)}).\n")

total = lines["total"][0]
sg_c1, sg_c1_files, sg_c1_err = semgrep("semgrep-corpus-j1")
sg_cd, _, _ = semgrep("semgrep-corpus-jdefault")
sg_p1, sg_p_files, sg_p_err = semgrep("semgrep-pr-j1", only_added=True)
sg_p_all, _, _ = semgrep("semgrep-pr-j1")
if not skip_ours:
    our_c, our_c_files, our_c_inc = ours("ours-corpus")
    our_p, _, our_p_inc = ours("ours-pr")

W("## Timings\n")
W("| input | tool | lines in | wall s | CPU s | lines/s (wall) | lines/CPU-s | wall vs ours | findings |")
W("|---|---|---:|---:|---:|---:|---:|---:|---:|")
def row(inp, tool, name, nlines, findings, base):
    t = times(name)
    if t is None:
        W(f"| {inp} | {tool} | {nlines:,} | – | – | – | – | – | – |"); return None
    wall, cpu = t
    ratio = f"{wall / base:.1f}×" if base else "–"
    W(f"| {inp} | {tool} | {nlines:,} | {wall:.3f} | {cpu:.3f} | {nlines / wall:,.0f} | "
      f"{nlines / cpu if cpu else float('nan'):,.0f} | {ratio} | {findings if findings is not None else '–'} |")
    return wall
b = row("corpus", "provenance scan", "ours-corpus", total, None if skip_ours else len(our_c), None)
row("corpus", "semgrep -j 1", "semgrep-corpus-j1", total, len(sg_c1), b)
row("corpus", f"semgrep (default -j, {ncpu} CPUs)", "semgrep-corpus-jdefault", total, len(sg_cd), b)
b = row("PR", "provenance scan --diff", "ours-pr", pr_added_count, None if skip_ours else len(our_p), None)
row("PR", "semgrep -j 1 (10 whole files)", "semgrep-pr-j1", pr_lines,
    f"{len(sg_p1)} on added lines ({len(sg_p_all)} in the files)", b)
row("PR", "semgrep default -j (10 whole files)", "semgrep-pr-jdefault", pr_lines, None, b)
W("")
W(f"Files scanned: Semgrep {sg_c1_files} of {lines['total'][1]} corpus files, {sg_p_files} PR files"
  + ("" if skip_ours else f"; provenance {our_c_files}") + ". "
  f"Semgrep errors: corpus {sg_c1_err}, PR {sg_p_err}."
  + ("" if skip_ours or not (our_c_inc or our_p_inc) else f" Incomplete detectors: {our_c_inc or our_p_inc}."))
if sg_c1 != sg_cd:
    W(f"\nNote: Semgrep -j 1 and default -j disagree on {len(sg_c1 ^ sg_cd)} findings.")

W("\n## Findings (unique rule, path, line)\n")
sg_by = Counter(k[0] for k in sg_c1)
if skip_ours:
    W("| rule | semgrep |\n|---|---:|")
    for rid in sorted(sg_by):
        W(f"| {rid} | {sg_by[rid]} |")
else:
    our_by = Counter(k[0] for k in our_c)
    misses = sorted(sg_c1 - our_c)
    miss_by = Counter(k[0] for k in misses)
    extra_by = Counter(k[0] for k in our_c - sg_c1)
    W("| rule | provenance | semgrep | semgrep-only (misses) | provenance-only |\n|---|---:|---:|---:|---:|")
    for rid in sorted(set(our_by) | set(sg_by)):
        W(f"| {rid} | {our_by[rid]} | {sg_by[rid]} | {miss_by[rid]} | {extra_by[rid]} |")
    W(f"| **total** | {len(our_c)} | {len(sg_c1)} | {len(misses)} | {len(our_c - sg_c1)} |")
    W(f"\nCorpus: {len(misses)} Semgrep finding(s) missing from ours" + (":" if misses else "."))
    for rid, path, line in misses[:20]:
        W(f"- `{rid}` {path}:{line}")
    pr_misses = sorted(sg_p1 - our_p)
    W(f"\nPR (added lines): provenance {len(our_p)}, Semgrep {len(sg_p1)}, {len(pr_misses)} Semgrep "
      "finding(s) missing from ours" + (":" if pr_misses else "."))
    for rid, path, line in pr_misses[:20]:
        W(f"- `{rid}` {path}:{line}")
rules_log = (out / "rules.log").read_text().splitlines()
W("\n## Rule translation\n")
for l in rules_log:
    if "approximate:" in l or "NOT translated" in l or "self-test" in l or "structural" in l:
        W(f"- {l.removeprefix('semgrep_rules: ')}")
PYEOF
cat "$RESULTS"
log "results written to $RESULTS"
