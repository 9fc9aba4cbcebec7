#!/usr/bin/env bash
# Static checks of the Terraform root module terraform/aws (run from the repository root):
#   1. with `terraform` on PATH: `terraform fmt -check -recursive terraform/`, then `init
#      -backend=false` and `validate` on a copy of the module when the providers can be installed
#      (skipped, and said so, when they cannot);
#   2. python-hcl2 parses every .tf file (and terraform.tfvars.example); every variable has a
#      description and a type, every output a description; every var.*, local.*, data.* and
#      resource reference names something declared; without `terraform`, the files are also held
#      to `terraform fmt`'s layout (hclwrite's rules: 2-space indents by bracket depth, single
#      spaces between tokens, `=` aligned across consecutive attribute lines);
#   3. checkov (terraform framework, offline) with zero failed checks: every finding is fixed or
#      skipped inline at its resource with a `# checkov:skip=CKV_…: reason` comment.
# python-hcl2 lives in a virtualenv of its own next to the shared one: its `hcl2` module would
# shadow the bridgecrew fork of the same name that checkov imports.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$here"
# shellcheck source=scripts/deploy-tools.sh
source scripts/deploy-tools.sh

module=terraform/aws
hcl_venv="${PROVENANCE_TOOLS_DIR:-$HOME/.cache/provenance-tools}/hcl2-venv"
if ! "$hcl_venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("python-hcl2") != "8.1.4")' 2>/dev/null; then
  python3 -m venv "$hcl_venv"
  "$hcl_venv/bin/pip" install -q --disable-pip-version-check python-hcl2==8.1.4
fi

have_terraform=0
if command -v terraform >/dev/null 2>&1; then
  have_terraform=1
  echo "== $(terraform version | head -n 1)"
  echo "== terraform fmt -check -recursive terraform/"
  terraform fmt -check -recursive -diff terraform/
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -R "$module/." "$work/"
  rm -rf "$work/.terraform" "$work/.terraform.lock.hcl"
  if terraform -chdir="$work" init -backend=false -input=false -no-color >"$work/init.log" 2>&1; then
    echo "== terraform validate"
    terraform -chdir="$work" validate -no-color
  else
    echo "== terraform validate: skipped, the providers could not be installed:"
    tail -n 5 "$work/init.log"
  fi
else
  echo "== terraform is not installed: python-hcl2 parse and layout checks stand in for fmt/validate"
fi

echo "== python-hcl2: parse, descriptions and types, references$([ "$have_terraform" = 1 ] || echo ', fmt layout')"
"$hcl_venv/bin/python" - "$module" "$have_terraform" <<'PY'
import glob
import re
import sys

import hcl2

module, have_terraform = sys.argv[1], sys.argv[2] == "1"
files = sorted(glob.glob(f"{module}/**/*.tf", recursive=True))
problems = []


def unquote(key):
    return key[1:-1] if key.startswith('"') and key.endswith('"') else key


# 1. Parse; collect declarations.
declared = {"var": set(), "local": set(), "data": set(), "resource": set()}
sources = {}
for path in files + sorted(glob.glob(f"{module}/**/*.tfvars*", recursive=True)):
    text = open(path, encoding="utf-8").read()
    try:
        doc = hcl2.loads(text)
    except Exception as e:  # noqa: BLE001 - report any parse error with its file
        problems.append(f"{path}: does not parse: {e}")
        continue
    if not path.endswith(".tf"):
        continue
    sources[path] = text
    for block in doc.get("variable", []):
        for name, body in block.items():
            declared["var"].add(unquote(name))
            for field in ("description", "type"):
                if field not in body:
                    problems.append(f"{path}: variable {unquote(name)} has no {field}")
    for block in doc.get("output", []):
        for name, body in block.items():
            if "description" not in body:
                problems.append(f"{path}: output {unquote(name)} has no description")
    for block in doc.get("locals", []):
        declared["local"] |= {k for k in block if not k.startswith("__")}
    for kind in ("resource", "data"):
        for block in doc.get(kind, []):
            for rtype, named in block.items():
                declared[kind] |= {f"{unquote(rtype)}.{unquote(n)}" for n in named}

# 2. Every reference resolves (comments included: a skip reason naming a resource must be right).
for path, text in sources.items():
    for lineno, line in enumerate(text.splitlines(), 1):
        refs = [("var", m) for m in re.findall(r"\bvar\.([a-z0-9_]+)", line)]
        refs += [("local", m) for m in re.findall(r"\blocal\.([a-z0-9_]+)", line)]
        refs += [("data", ".".join(m)) for m in re.findall(r"(?<![\w.])data\.([a-z0-9_]+)\.([a-z0-9_]+)", line)]
        refs += [("resource", ".".join(m)) for m in re.findall(r"(?<![\w.\"/-])((?:aws|random)_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)", line)]
        for kind, name in refs:
            if name not in declared[kind]:
                problems.append(f"{path}:{lineno}: {kind} {name} is not declared")

# 3. terraform fmt's layout (hclwrite/format.go), when terraform itself cannot check it.
OPEN, CLOSE = {"{", "[", "(", "${", "%{"}, {"}", "]", ")", "SEQEND"}


class Unsupported(Exception):
    pass


def tokenize(src):
    """(type, text) tokens of HCL native syntax; heredocs and multi-line comments unsupported."""
    toks, i, n, modes = [], 0, len(src), [["expr", 0]]
    ops = ["...", "==", "!=", "<=", ">=", "&&", "||", "=>", "::"] + list("{}[]()=,.:?!+-*/%<>")
    while i < n:
        if modes[-1][0] == "tmpl":
            if src[i] == '"':
                toks.append(["CQUOTE", '"', 0]); i += 1; modes.pop(); continue
            if src.startswith("${", i) or src.startswith("%{", i):
                toks.append([src[i:i + 2], src[i:i + 2], 0]); i += 2; modes.append(["expr", 0]); continue
            j = i
            while j < n and src[j] != '"' and not (src.startswith("${", j) or src.startswith("%{", j)):
                if src[j] == "\n":
                    raise Unsupported("a line break inside a quoted string")
                j += 3 if src.startswith(("$${", "%%{"), j) else 2 if src[j] == "\\" else 1
            toks.append(["QLIT", src[i:j], 0]); i = j; continue
        spaces = 0
        while i < n and src[i] in " \t\r":
            spaces += 1; i += 1
        if i >= n:
            break
        c = src[i]
        if c == "\n":
            toks.append(["NL", "\n", spaces]); i += 1; continue
        if c == "#" or src.startswith("//", i):
            j = src.find("\n", i); j = n if j < 0 else j + 1
            toks.append(["COMMENT", src[i:j], spaces]); i = j; continue
        if src.startswith("/*", i) or re.match(r"<<-?[A-Za-z_]", src[i:]):
            raise Unsupported("a block comment or heredoc")
        if c == '"':
            toks.append(["OQUOTE", '"', spaces]); i += 1; modes.append(["tmpl", 0]); continue
        m = re.match(r"[A-Za-z_][A-Za-z0-9_-]*|[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?", src[i:])
        if m:
            toks.append(["IDENT" if c.isalpha() or c == "_" else "NUMBER", m.group(0), spaces])
            i += len(m.group(0)); continue
        op = next((o for o in ops if src.startswith(o, i)), None)
        if op is None:
            raise Unsupported(f"unexpected {c!r}")
        if len(modes) > 1 and op in "{}":
            if op == "}" and modes[-1][1] == 0:
                toks.append(["SEQEND", "}", spaces]); i += 1; modes.pop(); continue
            modes[-1][1] += 1 if op == "{" else -1
        toks.append([op, op, spaces]); i += len(op)
    return toks


def change(t):
    return 1 if t[0] in OPEN else -1 if t[0] in CLOSE else 0


def space_after(s, before, a):
    """hclwrite's spaceAfterToken."""
    st, at, bt = s[0], a[0], before[0] if before else None
    if at == "NL": return False
    if st == "IDENT" and at == "(": return False
    if "::" in (st, at) and "IDENT" in (st, at): return False
    if "." in (st, at): return False
    if at in (",", "..."): return False
    if st == ",": return True
    if st in ("QLIT", "OQUOTE") or at in ("QLIT", "CQUOTE"): return False
    if st == "IDENT" and s[1] == "in" and bt == "IDENT": return True
    if at == "[" and (st in ("IDENT", "NUMBER") or change(s) < 0): return False
    if st == "!": return False
    if st == "-":
        return bt not in (None, "(", "{", "[", "=", ":", ",", "?", "+", "*", "/", "%", "-",
                          "==", "!=", ">", ">=", "<", "<=", "&&", "||", "!")
    if st == "{" or at == "}": return not (st == "{" and at == "}")
    if st in ("${", "%{") and at == "{": return True
    if st == "}" and at == "SEQEND": return True
    if st == "SEQEND" and at in ("${", "%{"): return False
    if change(s) > 0 or change(a) < 0: return False
    return True


def formatted(src):
    lines, cur = [], []
    for t in tokenize(src):
        if t[0] == "NL" or (t[0] == "COMMENT" and t[1].endswith("\n")):
            if t[0] == "COMMENT":
                cur.append(t)
            lines.append(cur); cur = []
        else:
            cur.append(t)
    if cur:
        lines.append(cur)
    cells = []
    for lead in lines:
        comment = assign = None
        if len(lead) > 1 and lead[-1][0] == "COMMENT":
            comment, lead = [lead[-1]], lead[:-1]
        for k, t in enumerate(lead):
            if k > 0 and t[0] == "=":
                if sum(change(x) for x in lead[k:]) == 0:
                    assign, lead = lead[k:], lead[:k]
                break
        cells.append([lead, assign, comment])
    indents = []
    for lead, assign, _ in cells:
        if not lead:
            continue
        net = sum(change(t) for t in lead + (assign or []))
        if net < 0:
            closed = -net
            while closed > 0 and indents:
                if closed >= indents[-1]:
                    closed -= indents.pop()
                else:
                    indents[-1] -= closed; closed = 0
        lead[0][2] = 2 * len(indents)
        if net > 0:
            indents.append(net)
    for lead, assign, comment in cells:
        for part in (lead, assign or []):
            for k in range(len(part) - 1):
                part[k + 1][2] = int(space_after(part[k], part[k - 1] if k else None, part[k + 1]))
        if assign:
            assign[0][2] = 1
        if comment:
            comment[0][2] = 1
    width = lambda ts: sum(t[2] + len(t[1]) for t in ts or [])  # noqa: E731
    for cell in (1, 2):
        chain = []
        for c in cells + [[[], None, None]]:
            if c[cell] is not None:
                chain.append(c); continue
            most = max((width(x[0]) + (width(x[1]) if cell == 2 else 0) for x in chain), default=0)
            for x in chain:
                x[cell][0][2] = most - width(x[0]) - (width(x[1]) if cell == 2 else 0) + 1
            chain = []
    return ["".join(" " * t[2] + t[1] for t in lead + (assign or []) + (comment or [])).rstrip("\n")
            for lead, assign, comment in cells]


if not have_terraform:
    for path, text in sources.items():
        try:
            want = formatted(text)
        except Unsupported as e:
            print(f"  {path}: layout not checked ({e})")
            continue
        have = text.split("\n")
        if have and have[-1] == "":
            have.pop()
        for lineno, (w, h) in enumerate(zip(want, have), 1):
            if w != h:
                problems.append(f"{path}:{lineno}: terraform fmt would write\n    {w!r}\n  instead of\n    {h!r}")
                break

for p in problems:
    print(f"  FAIL {p}")
print(f"  {len(files)} files, {len(declared['var'])} variables, {len(declared['resource'])} resources,"
      f" {len(declared['data'])} data sources: {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY

echo "== checkov -d $module --framework terraform (offline)"
checkov -d "$module" --framework terraform --skip-download --compact --quiet
echo "terraform: all checks passed"
