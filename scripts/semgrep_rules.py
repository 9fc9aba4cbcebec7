#!/usr/bin/env python3
"""Generate a Semgrep config equivalent to our pattern rule pack, for `just bench-detect`.

    semgrep_rules.py OUT.yaml [--rules-dir DIR] [--structural FILE] [--languages regex|native]
                              [--self-test]

Every rule of `crates/detect/rules/*.yaml` becomes one Semgrep rule with the same `id`, and
`metadata.provenance_id` holding our id (Semgrep prefixes `check_id` with the config's dotted path,
so compare through the metadata). Each of our `patterns` becomes a `pattern-regex` under
`pattern-either`; each `not_patterns` entry becomes a `pattern-not-regex` that covers the whole
line it matches (ours drop the line when any not-pattern matches anywhere on it, Semgrep drops a
match that lies inside a not-match).

Our rules match one line at a time (Rust `regex`); Semgrep runs PCRE2 over the whole file in
multiline mode. The regexes are rewritten so that no match can cross a line break: `\\s`, `\\W`,
`\\D` and negated classes stop at `\\n`, verbose `(?x:…)` groups are expanded (Rust ignores
whitespace inside classes there, PCRE does not), and `\\A`/`\\z` become `^`/`$`.

Languages: with `--languages regex` (the default) every rule is a Semgrep `regex` rule whose
targets are chosen with `paths.include` globs mirroring our extension-based language inference
(`any` rules get every file), so Semgrep does not parse targets, as we do not. `native` uses
Semgrep's own languages where they exist (Semgrep then parses each target).

The rules of `--structural` (default: `semgrep-structural.yaml` beside this script, hand-written
counterparts of `crates/detect/rules/structural/*.yml`) are appended as they are.

`--self-test` runs Semgrep (from PATH or $SEMGREP) on each rule's examples and reports the rules
whose positive examples are not all found or whose negative examples are reported.

Rules that cannot be reproduced exactly are listed at the top of the output, and on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

try:  # PyYAML where present, else ruamel.yaml (which Semgrep's venv has).
    import yaml as _pyyaml

    def load_yaml(text: str):
        return _pyyaml.safe_load(text)

    def load_yaml_all(text: str):
        return list(_pyyaml.safe_load_all(text))

    def dump_yaml(data) -> str:
        return _pyyaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1_000_000)

except ImportError:  # pragma: no cover - depends on the interpreter
    import io

    from ruamel.yaml import YAML

    def _yaml():
        y = YAML(typ="safe", pure=True)
        y.default_flow_style = False
        y.width = 1_000_000
        y.allow_unicode = True
        return y

    def load_yaml(text: str):
        return _yaml().load(text)

    def load_yaml_all(text: str):
        return list(_yaml().load_all(text))

    def dump_yaml(data) -> str:
        buf = io.StringIO()
        _yaml().dump(data, buf)
        return buf.getvalue()


# Our language -> the file-name globs of crates/core/src/language.rs `infer_language`.
LANGUAGE_GLOBS = {
    "python": ["*.py", "*.pyi"],
    "javascript": ["*.js", "*.mjs", "*.cjs", "*.jsx"],
    "typescript": ["*.ts", "*.mts", "*.cts", "*.tsx"],
    "go": ["*.go"],
    "java": ["*.java"],
    "kotlin": ["*.kt", "*.kts"],
    "rust": ["*.rs"],
    "ruby": ["*.rb"],
    "shell": ["*.sh", "*.bash", "*.zsh"],
    "dockerfile": ["Dockerfile"],
    "make": ["Makefile"],
    "github-actions": [".github/workflows/*.yml", ".github/workflows/*.yaml"],
    "yaml": ["*.yml", "*.yaml"],
    "php": ["*.php"],
    "c": ["*.c", "*.h"],
    "cpp": ["*.cc", "*.cpp", "*.cxx", "*.hpp"],
    "csharp": ["*.cs"],
    "swift": ["*.swift"],
    "scala": ["*.scala"],
    "sql": ["*.sql"],
    "json": ["*.json"],
    "toml": ["*.toml"],
    "terraform": ["*.tf"],
}
# Our language -> Semgrep's, where Semgrep has a parser for exactly the same files.
NATIVE_LANGUAGES = {
    "python": "python",
    "javascript": "javascript",
    "typescript": "typescript",
    "go": "go",
    "java": "java",
    "kotlin": "kotlin",
    "rust": "rust",
    "ruby": "ruby",
    "shell": "bash",
    "dockerfile": "dockerfile",
}
NORMALISE = {"py": "python", "python3": "python", "js": "javascript", "node": "javascript",
             "jsx": "javascript", "ts": "typescript", "tsx": "typescript", "golang": "go",
             "rb": "ruby", "rs": "rust", "sh": "shell", "bash": "shell", "zsh": "shell"}
# An example file name for each language (for --self-test).
EXAMPLE_NAMES = {lang: globs[0].replace("*", "example") for lang, globs in LANGUAGE_GLOBS.items()}
EXAMPLE_NAMES["any"] = "example.txt"

SEVERITY = {"info": "INFO", "low": "INFO", "medium": "WARNING", "high": "ERROR", "critical": "ERROR"}
VAR_REF = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
WS_NO_NL = r"\t\x0B\f\r "  # PCRE \s without \n, for use inside a character class


class Untranslatable(Exception):
    pass


def normalise_language(name: str) -> str:
    lower = name.strip().lower()
    return NORMALISE.get(lower, lower)


def expand_vars(pattern: str, variables: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        if m.group(1) not in variables:
            raise Untranslatable(f"unknown variable {{{{{m.group(1)}}}}}")
        return variables[m.group(1)]

    return VAR_REF.sub(sub, pattern)


def translate_regex(src: str, notes: set[str]) -> str:
    """Rust `regex` syntax matched against one line -> PCRE2 matched against a whole file in
    multiline mode, such that no match crosses a line break."""
    out: list[str] = []
    i, n = 0, len(src)
    verbose = [False]  # x-flag per open group (top = current)

    def escape_at(j: int) -> tuple[str, int]:
        """The escape starting at src[j] == '\\' and the index after it."""
        if j + 1 >= n:
            raise Untranslatable("trailing backslash")
        c = src[j + 1]
        if c in "pP" and j + 2 < n and src[j + 2] == "{":
            k = src.index("}", j + 2)
            return src[j:k + 1], k + 1
        if c == "x" and j + 2 < n and src[j + 2] == "{":
            k = src.index("}", j + 2)
            return src[j:k + 1], k + 1
        if c == "x":
            return src[j:j + 4], j + 4
        if c in "uU":
            raise Untranslatable(f"escape \\{c} is not PCRE")
        return src[j:j + 2], j + 2

    while i < n:
        c = src[i]
        x = verbose[-1]
        if x and c in " \t\r\n\f\v":
            i += 1
            continue
        if x and c == "#":
            while i < n and src[i] != "\n":
                i += 1
            continue
        if c == "\\":
            esc, i = escape_at(i)
            if esc == r"\s":
                out.append(rf"[^\S\n]")
            elif esc == r"\W":
                out.append(r"[^\w\n]")
            elif esc == r"\D":
                out.append(r"[^\d\n]")
            elif esc.startswith(r"\P"):
                out.append("[^" + esc.replace(r"\P", r"\p", 1) + r"\n]")
            elif esc == r"\A":
                out.append("^")
            elif esc == r"\z":
                out.append("$")
            elif esc in (r"\n", r"\x0A", r"\x0a", r"\x{A}", r"\x{a}", r"\x{0A}", r"\x{0a}"):
                raise Untranslatable("matches a line break explicitly")
            else:
                out.append(esc)
            continue
        if c == "[":
            cls, i = translate_class(src, i, x, escape_at, notes)
            out.append(cls)
            continue
        if c == "(":
            if src.startswith("(?", i) and not src.startswith("(?P<", i) and not src.startswith("(?<", i) \
                    and not src.startswith("(?:", i):
                m = re.match(r"\(\?([a-zA-Z-]*)([:)])", src[i:])
                if not m:
                    raise Untranslatable(f"unsupported group syntax at {src[i:i + 8]!r}")
                flags, kind = m.group(1), m.group(2)
                on, _, off = flags.partition("-")
                new_x = (x or "x" in on) and "x" not in off
                for f in on + off:
                    if f not in "ix":
                        raise Untranslatable(f"flag {f!r} not translated")
                on, off = on.replace("x", ""), off.replace("x", "")
                kept = on + ("-" + off if off else "")
                i += m.end()
                if kind == ":":
                    out.append(f"(?{kept}:")
                    verbose.append(new_x)
                else:  # (?flags) to the end of the enclosing group
                    if kept:
                        out.append(f"(?{kept})")
                    verbose[-1] = new_x
                continue
            # plain, non-capturing or named group: inherits the x-flag
            m = re.match(r"\((?:\?P?<[A-Za-z_][A-Za-z0-9_]*>|\?:)?", src[i:])
            out.append(m.group(0))
            i += m.end()
            verbose.append(x)
            continue
        if c == ")":
            if len(verbose) > 1:
                verbose.pop()
            out.append(")")
            i += 1
            continue
        if c == "#" or c == " ":
            out.append(c)
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def translate_class(src: str, i: int, verbose: bool, escape_at, notes: set[str]) -> tuple[str, int]:
    """A bracketed class at src[i] == '['; returns the PCRE class (never matching \\n unless the
    Rust one explicitly does) and the index after it."""
    n = len(src)
    j = i + 1
    negated = j < n and src[j] == "^"
    if negated:
        j += 1
    items: list[str] = []
    first = True
    matches_newline_class = False  # a positive class with \s, \W, \D, \P{..}
    while True:
        if j >= n:
            raise Untranslatable("unterminated character class")
        c = src[j]
        if c == "]" and not first:
            j += 1
            break
        first = False
        if verbose and c in " \t\r\n\f\v":
            j += 1
            continue
        if c == "[":
            if src.startswith("[:", j):
                k = src.index(":]", j + 2)
                items.append(src[j:k + 2])
                j = k + 2
                continue
            raise Untranslatable("nested character class")
        if src.startswith("&&", j) or src.startswith("--", j) or src.startswith("~~", j):
            raise Untranslatable("character class set operation")
        if c == "\\":
            esc, j = escape_at(j)
            if esc == r"\s" and not negated:
                items.append(WS_NO_NL)
            elif esc in (r"\W", r"\D") or esc.startswith(r"\P"):
                items.append(esc)
                matches_newline_class = not negated or matches_newline_class
            elif esc in (r"\n",):
                raise Untranslatable("matches a line break explicitly")
            else:
                items.append(esc)
            continue
        items.append(c)
        j += 1
    body = "".join(items)
    if negated:
        return "[^" + body + r"\n]", j
    cls = "[" + body + "]"
    if matches_newline_class:
        return r"(?:(?!\n)" + cls + ")", j
    return cls, j


def whole_line(regex: str) -> str:
    """A regex matching the whole line (from its start to its end) on which `regex` matches."""
    return r"^[^\n]*(?:" + regex + r")[^\n]*"


def include_globs(languages: list[str]) -> list[str] | None:
    if "any" in languages:
        return None
    globs: list[str] = []
    for lang in languages:
        for g in LANGUAGE_GLOBS.get(lang, []):
            if g not in globs:
                globs.append(g)
    return globs


def convert_rule(spec: dict, variables: dict[str, str], mode: str) -> tuple[dict, list[str]]:
    """One of our rules as a Semgrep rule, and the reasons it is only approximate (if any)."""
    rid = spec["id"]
    languages = [normalise_language(str(lang)) for lang in spec["languages"]]
    patterns = spec.get("patterns") or ([spec["pattern"]] if spec.get("pattern") else [])
    not_patterns = spec.get("not_patterns") or []
    approx: list[str] = []
    notes: set[str] = set()
    pos = [translate_regex(expand_vars(p, variables), notes) for p in patterns]
    neg = [whole_line(translate_regex(expand_vars(p, variables), notes)) for p in not_patterns]
    secret = spec.get("secret")
    if secret:
        if float(secret.get("min_entropy", 0) or 0) > 0:
            approx.append(f"secret entropy check (group {secret.get('group')} >= "
                          f"{secret.get('min_entropy')} bits/char) not reproduced")
    unknown = [lang for lang in languages if lang != "any" and lang not in LANGUAGE_GLOBS]
    if unknown:
        approx.append(f"no file globs for language(s) {', '.join(unknown)}")

    clauses: list[dict] = [{"pattern-either": [{"pattern-regex": p} for p in pos]}]
    clauses += [{"pattern-not-regex": p} for p in neg]
    rule: dict = {"id": rid}
    native = [NATIVE_LANGUAGES.get(lang) for lang in languages]
    if mode == "native" and all(native):
        rule["languages"] = sorted(set(native))
        globs = None
    else:
        rule["languages"] = ["regex"]
        globs = include_globs(languages)
    rule["severity"] = SEVERITY.get(str(spec.get("severity", "medium")).lower(), "WARNING")
    rule["message"] = str(spec.get("name", rid))
    rule["patterns"] = clauses
    if globs is not None:
        rule["paths"] = {"include": globs}
    rule["metadata"] = {
        "provenance_id": rid,
        "provenance_version": str(spec.get("version", "")),
        "category": spec.get("category"),
        "our_languages": languages,
    }
    if approx:
        rule["metadata"]["approximate"] = approx
    return rule, approx


def load_our_rules(rules_dir: Path) -> list[tuple[str, dict, dict]]:
    """(file name, rule spec, file vars) for every rule of every `*.yaml` in rules_dir."""
    out = []
    for path in sorted(rules_dir.glob("*.yaml")):
        doc = load_yaml(path.read_text(encoding="utf-8")) or {}
        variables = {str(k): str(v) for k, v in (doc.get("vars") or {}).items()}
        for spec in doc.get("rules") or []:
            out.append((path.name, spec, variables))
    return out


def structural_ids(rules_dir: Path) -> list[str]:
    ids = []
    for path in sorted(list((rules_dir / "structural").glob("*.yml")) + list((rules_dir / "structural").glob("*.yaml"))):
        for doc in load_yaml_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("id"):
                ids.append(str(doc["id"]))
    return ids


def load_structural(path: Path) -> list[dict]:
    if not path.exists():
        return []
    doc = load_yaml(path.read_text(encoding="utf-8")) or {}
    rules = doc.get("rules") or []
    for r in rules:
        meta = r.setdefault("metadata", {})
        meta.setdefault("provenance_id", r["id"])
    return rules


def generate(rules_dir: Path, structural: Path, mode: str) -> tuple[dict, dict[str, list[str]], list[str]]:
    rules, approximate, failed = [], {}, []
    for file, spec, variables in load_our_rules(rules_dir):
        try:
            rule, approx = convert_rule(spec, variables, mode)
        except (Untranslatable, ValueError) as e:
            failed.append(f"{spec.get('id')} ({file}): {e}")
            continue
        rules.append(rule)
        if approx:
            approximate[rule["id"]] = approx
    hand = load_structural(structural)
    rules.extend(hand)
    have = {r["metadata"]["provenance_id"] for r in rules}
    missing = [i for i in structural_ids(rules_dir) if i not in have]
    if missing:
        print(f"semgrep_rules: {len(missing)} structural rule(s) have no Semgrep counterpart in "
              f"{structural.name}: {', '.join(missing)}", file=sys.stderr)
    return {"rules": rules}, approximate, failed


def self_test(config_path: Path, rules_dir: Path) -> list[str]:
    """Run Semgrep on every rule's examples; return the rules whose examples disagree."""
    semgrep = os.environ.get("SEMGREP", "semgrep")
    problems: list[str] = []
    expected: dict[tuple[str, str], tuple[set[int], set[int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".semgrepignore").write_text("")
        for idx, (_, spec, _) in enumerate(load_our_rules(rules_dir)):
            langs = [normalise_language(str(lang)) for lang in spec["languages"]]
            lang = next((lg for lg in langs if lg in EXAMPLE_NAMES and lg != "github-actions"), langs[0])
            if lang == "github-actions":
                rel = f".github/workflows/r{idx}.yml"
            else:
                rel = f"r{idx}/{EXAMPLE_NAMES.get(lang, 'example.txt')}"
            ex = spec.get("examples") or {}
            lines = [str(x) for x in ex.get("positive") or []] + [str(x) for x in ex.get("negative") or []]
            npos = len(ex.get("positive") or [])
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text("\n".join(lines) + "\n", encoding="utf-8")
            expected[(spec["id"], rel)] = (set(range(1, npos + 1)), set(range(npos + 1, len(lines) + 1)))
        env = dict(os.environ, SEMGREP_ENABLE_VERSION_CHECK="0", SEMGREP_SEND_METRICS="off")
        proc = subprocess.run(
            [semgrep, "scan", "--config", str(config_path), "--json", "--metrics=off",
             "--disable-version-check", "--no-git-ignore", "-q", "."],
            cwd=root, env=env, capture_output=True, text=True)
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError:
            return [f"semgrep failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"]
        for err in data.get("errors", []):
            if err.get("level") == "error" or "rule" in str(err.get("type", "")).lower():
                problems.append(f"semgrep error: {err.get('message', err)}"[:500])
        found: dict[tuple[str, str], set[int]] = {}
        for r in data.get("results", []):
            rid = r.get("extra", {}).get("metadata", {}).get("provenance_id")
            found.setdefault((rid, r["path"].removeprefix("./")), set()).add(r["start"]["line"])
        for (rid, rel), (pos, neg) in expected.items():
            got = found.get((rid, rel), set())
            missed, extra = sorted(pos - got), sorted(neg & got)
            if missed or extra:
                problems.append(f"{rid}: positive example line(s) not found {missed}, negative "
                                f"example line(s) reported {extra}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--rules-dir", type=Path, default=ROOT / "crates/detect/rules")
    ap.add_argument("--structural", type=Path, default=HERE / "semgrep-structural.yaml")
    ap.add_argument("--languages", choices=["regex", "native"], default="regex")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()

    config, approximate, failed = generate(args.rules_dir, args.structural, args.languages)
    header = ["# Generated by scripts/semgrep_rules.py from crates/detect/rules/*.yaml"
              + (f" and {args.structural.name}" if args.structural.exists() else "")
              + f" (--languages {args.languages}). Do not edit.",
              f"# {len(config['rules'])} rule(s)."]
    if approximate:
        header.append("# Approximate (semantics not reproduced exactly):")
        header += [f"#   {rid}: {'; '.join(why)}" for rid, why in sorted(approximate.items())]
    if failed:
        header.append("# Not translated:")
        header += [f"#   {f}" for f in failed]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header) + "\n" + dump_yaml(config), encoding="utf-8")

    for rid, why in sorted(approximate.items()):
        print(f"semgrep_rules: approximate: {rid}: {'; '.join(why)}", file=sys.stderr)
    for f in failed:
        print(f"semgrep_rules: NOT translated: {f}", file=sys.stderr)
    print(f"semgrep_rules: wrote {len(config['rules'])} rule(s) to {args.out}", file=sys.stderr)

    if args.self_test:
        problems = self_test(args.out, args.rules_dir)
        for p in problems:
            print(f"semgrep_rules: self-test: {p}", file=sys.stderr)
        print(f"semgrep_rules: self-test: {len(problems)} rule(s) disagree with their examples",
              file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
