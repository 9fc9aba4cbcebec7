//! The external engine: any executable speaking the `provenance.detector/v1` JSON protocol on
//! stdin/stdout (`docs/external-detectors.md`), so a team can plug in Semgrep, gitleaks or its
//! own tool.
//!
//! Each scan gets a fresh temporary directory holding only the files under review, at their
//! repository paths (already validated: relative, no `..`); the program runs there in its own
//! process group with a cleared environment, and is killed with its children when the
//! detector's deadline passes. Its findings are checked — paths must be files it was given,
//! lines must exist — and shown with our own snippet of the file, secrets redacted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use provenance_core::analysis::FileContent;
use provenance_core::finding::{Detection, Location, RuleInfo, Severity};
use provenance_core::language::infer_language;
use provenance_core::line::ChangedLine;
use provenance_core::names::RepoPath;
use serde::{Deserialize, Serialize};
use wait_timeout::ChildExt as _;

use crate::pattern::{MAX_SNIPPET_CHARS, SecretRedactor, cap_chars, declared_language, reported_span};
use crate::{Capabilities, DetectInput, Detector, DetectorOutput};

/// The protocol name and version, sent in every request and expected in every response.
pub const EXTERNAL_PROTOCOL: &str = "provenance.detector/v1";

/// How long `PROGRAM capabilities` may take.
const CAPABILITIES_TIMEOUT: Duration = Duration::from_secs(30);
/// The most stdout read from a plug-in; more is an error.
const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;
/// The most stderr kept for the error message.
const MAX_STDERR_BYTES: usize = 4 * 1024;

/// Why an external detector could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    #[error("external detector {name:?}: {message}")]
    Setup { name: String, message: String },
}

/// What `PROGRAM capabilities` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesReply {
    protocol: String,
    tool: Tool,
    #[serde(default)]
    rules: Vec<ExternalRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExternalRule {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    help: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    cwe: Vec<String>,
    #[serde(default)]
    references: Vec<String>,
}

/// What Provenance writes to `PROGRAM scan`'s stdin.
#[derive(Debug, Serialize)]
struct ScanRequest<'a> {
    protocol: &'static str,
    /// Every file is in the working directory at this relative path.
    files: Vec<RequestFile<'a>>,
}

#[derive(Debug, Serialize)]
struct RequestFile<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    /// Lines added or modified at head. Findings elsewhere are dropped by Provenance according
    /// to the analysis's report mode, so a tool may report the whole file.
    changed_lines: Vec<u32>,
    /// `false` when only the changed lines were submitted: the file holds them at their line
    /// numbers and is blank elsewhere.
    complete: bool,
}

/// What `PROGRAM scan` prints.
#[derive(Debug, Deserialize)]
struct ScanReply {
    protocol: String,
    findings: Vec<ExternalFinding>,
}

#[derive(Debug, Deserialize)]
struct ExternalFinding {
    rule_id: String,
    path: String,
    start_line: u32,
    #[serde(default)]
    end_line: Option<u32>,
    #[serde(default)]
    start_column: Option<u32>,
    #[serde(default)]
    end_column: Option<u32>,
    message: String,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    category: Option<String>,
}

/// An external detector (`engine = "external"`).
pub struct ExternalDetector {
    name: String,
    program: PathBuf,
    capabilities: Capabilities,
    rules: HashMap<String, RuleInfo>,
    redactor: SecretRedactor,
}

impl std::fmt::Debug for ExternalDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalDetector").field("name", &self.name).field("program", &self.program).finish()
    }
}

impl ExternalDetector {
    pub const ENGINE: &'static str = "external";

    /// Set up the detector `name` (lower-case letters, digits, `-`, `_`) run by `program`: asks
    /// it for its capabilities once. Its rule ids are reported as `name/rule`.
    pub fn new(name: &str, program: &Path, redactor: SecretRedactor) -> Result<Self, ExternalError> {
        let err = |message: String| ExternalError::Setup { name: name.to_string(), message };
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(err("the name must be lower-case letters, digits, '-' or '_'".into()));
        }
        let program = std::fs::canonicalize(program).map_err(|e| err(format!("{}: {e}", program.display())))?;
        let scratch = tempfile::tempdir().map_err(|e| err(format!("temporary directory: {e}")))?;
        let deadline = Instant::now() + CAPABILITIES_TIMEOUT;
        let stdout = run(&program, "capabilities", scratch.path(), b"", deadline).map_err(err)?;
        let value: serde_json::Value =
            serde_json::from_slice(&stdout).map_err(|e| err(format!("`capabilities` printed invalid JSON: {e}")))?;
        let reply: CapabilitiesReply =
            serde_json::from_value(value.clone()).map_err(|e| err(format!("`capabilities`: {e}")))?;
        if reply.protocol != EXTERNAL_PROTOCOL {
            return Err(err(format!("speaks {:?}, not {EXTERNAL_PROTOCOL:?}", reply.protocol)));
        }
        let rules: HashMap<String, RuleInfo> = reply
            .rules
            .iter()
            .map(|r| {
                let id = format!("{name}/{}", r.id);
                let title = r.name.clone().unwrap_or_else(|| r.id.clone());
                let info = RuleInfo {
                    id: id.clone(),
                    version: reply.tool.version.clone(),
                    name: title.clone(),
                    short_description: title,
                    full_description: r.description.clone().unwrap_or_default(),
                    help: r.help.clone().unwrap_or_default(),
                    severity: r.severity.unwrap_or(Severity::Medium),
                    category: r.category.clone().unwrap_or_else(|| "external".into()),
                    languages: Vec::new(),
                    cwe: r.cwe.clone(),
                    references: r.references.clone(),
                    tags: vec![format!("tool:{}", reply.tool.name)],
                };
                (r.id.clone(), info)
            })
            .collect();
        let mut infos: Vec<RuleInfo> = rules.values().cloned().collect();
        infos.sort_by(|a, b| a.id.cmp(&b.id));
        let capabilities = Capabilities {
            name: name.to_string(),
            engine: Self::ENGINE.to_string(),
            version: format!("{} {}", reply.tool.name, reply.tool.version),
            rules: infos,
            // The tool's own account of itself, canonicalised: it changes with the tool's
            // version or any rule.
            rulepack_sha256: provenance_core::digest::canonical_value_sha256(&value).map_err(|e| err(e.to_string()))?,
        };
        Ok(Self { name: name.to_string(), program, capabilities, rules, redactor })
    }

    fn scan(&self, input: &DetectInput<'_>, deadline: Instant) -> Result<Vec<Detection>, String> {
        let contents: HashMap<&RepoPath, &FileContent> = input.files.iter().map(|f| (&f.path, f)).collect();
        let mut by_path: BTreeMap<&RepoPath, Vec<&ChangedLine>> = BTreeMap::new();
        for line in input.lines {
            by_path.entry(&line.file_path).or_default().push(line);
        }
        let workspace = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let mut texts: HashMap<&str, (String, BTreeSet<u32>)> = HashMap::new();
        let mut files = Vec::new();
        for (path, lines) in &by_path {
            let changed: BTreeSet<u32> =
                lines.iter().filter(|l| l.change_type.is_at_head()).map(|l| l.line_number).collect();
            let (text, complete) = match contents.get(path) {
                Some(file) => (file.content.clone(), true),
                None => (sparse_file(lines), false),
            };
            let target = workspace.path().join(path.as_str());
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::write(&target, &text).map_err(|e| format!("{}: {e}", target.display()))?;
            let language =
                lines.iter().find_map(|l| declared_language(l)).or_else(|| infer_language(path).map(str::to_string));
            files.push(RequestFile {
                path: path.as_str(),
                language,
                changed_lines: changed.iter().copied().collect(),
                complete,
            });
            texts.insert(path.as_str(), (text, changed));
        }
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let request = serde_json::to_vec(&ScanRequest { protocol: EXTERNAL_PROTOCOL, files })
            .map_err(|e| format!("request: {e}"))?;
        let stdout = run(&self.program, "scan", workspace.path(), &request, deadline)?;
        let reply: ScanReply =
            serde_json::from_slice(&stdout).map_err(|e| format!("`scan` printed an invalid reply: {e}"))?;
        if reply.protocol != EXTERNAL_PROTOCOL {
            return Err(format!("`scan` replied in {:?}, not {EXTERNAL_PROTOCOL:?}", reply.protocol));
        }

        let file_lines: HashMap<&str, Vec<&str>> =
            texts.iter().map(|(path, (text, _))| (*path, text.lines().collect())).collect();
        let mut detections = Vec::new();
        for finding in reply.findings {
            // Only files it was given, only lines they have.
            let Some((path, (_, changed))) = texts.get_key_value(finding.path.trim_start_matches("./")) else {
                continue;
            };
            let file_lines = &file_lines[path];
            let last = u32::try_from(file_lines.len()).unwrap_or(u32::MAX);
            let start = finding.start_line;
            let end = finding.end_line.unwrap_or(start).max(start);
            if start == 0 || end > last || finding.rule_id.trim().is_empty() {
                continue;
            }
            if !reported_span(input.report_mode, changed, start, end) {
                continue;
            }
            let Ok(file_path) = RepoPath::parse(path) else { continue };
            let rule = self.rules.get(&finding.rule_id);
            let shown: Vec<&str> = file_lines[(start as usize - 1)..(end as usize)].to_vec();
            let snippet = cap_chars(self.redactor.redact_lines(&shown.join("\n")).trim(), MAX_SNIPPET_CHARS);
            detections.push(Detection {
                rule_id: format!("{}/{}", self.name, finding.rule_id),
                rule_version: rule.map_or_else(|| self.capabilities.version.clone(), |r| r.version.clone()),
                category: finding
                    .category
                    .or_else(|| rule.map(|r| r.category.clone()))
                    .unwrap_or_else(|| "external".into()),
                severity: finding.severity.or_else(|| rule.map(|r| r.severity)).unwrap_or(Severity::Medium),
                message: cap_chars(&self.redactor.redact_lines(&finding.message), 500),
                location: Location {
                    file_path,
                    start_line: start,
                    end_line: end,
                    start_column: finding.start_column.unwrap_or(1).max(1),
                    end_column: finding.end_column.unwrap_or(1).max(1),
                },
                snippet,
                engine: Self::ENGINE.to_string(),
            });
        }
        Ok(detections)
    }
}

impl Detector for ExternalDetector {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn detect(&self, input: &DetectInput<'_>, deadline: Instant) -> DetectorOutput {
        match self.scan(input, deadline) {
            Ok(detections) => DetectorOutput { detections, complete: true },
            Err(why) => {
                tracing::warn!(detector = %self.name, error = %why, "external detector failed; its result is incomplete");
                DetectorOutput { detections: Vec::new(), complete: false }
            }
        }
    }
}

/// The submitted lines at their line numbers, blank lines elsewhere, so a tool's line numbers
/// are the file's.
fn sparse_file(lines: &[&ChangedLine]) -> String {
    let mut numbered: BTreeMap<u32, &str> = BTreeMap::new();
    for line in lines {
        if !line.change_type.is_at_head() {
            continue;
        }
        let Some(content) = line.content.as_deref() else { continue };
        for (offset, text) in content.lines().enumerate() {
            numbered.insert(line.line_number.saturating_add(u32::try_from(offset).unwrap_or(u32::MAX)), text);
        }
    }
    let mut out = String::new();
    let mut next = 1u32;
    for (number, text) in numbered {
        while next < number {
            out.push('\n');
            next += 1;
        }
        out.push_str(text);
        out.push('\n');
        next = number.saturating_add(1);
    }
    out
}

/// Run `program command` in `dir` with `input` on stdin; its stdout, or why it failed. The
/// program runs in its own process group with a minimal environment and is killed, with every
/// process it started, at `deadline`.
fn run(program: &Path, command: &str, dir: &Path, input: &[u8], deadline: Instant) -> Result<Vec<u8>, String> {
    let mut child = Command::new(program)
        .arg(command)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()))
        .env("HOME", dir)
        .env("TMPDIR", dir)
        .env("LANG", "C.UTF-8")
        .env("PROVENANCE_DETECTOR_PROTOCOL", EXTERNAL_PROTOCOL)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{}: cannot start: {e}", program.display()))?;

    let stdin = child.stdin.take();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            // A program that exits without reading its input is not an error here.
            let _ = stdin.write_all(&input);
        }
    });
    let stdout = child.stdout.take().map(|out| std::thread::spawn(move || read_capped(out, MAX_OUTPUT_BYTES)));
    let stderr = child.stderr.take().map(|err| std::thread::spawn(move || read_capped(err, MAX_STDERR_BYTES)));

    let status = match child.wait_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(Some(status)) => status,
        Ok(None) => {
            kill_group(&mut child);
            return Err("over its time budget: stopped".into());
        }
        Err(e) => {
            kill_group(&mut child);
            return Err(format!("waiting for it: {e}"));
        }
    };
    // The program may have left children holding the pipes open: stop them too.
    kill_group(&mut child);
    let _ = writer.join();
    let (stdout, overflow) = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
    let (stderr, _) = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        return Err(format!("`{command}` exited with {status}: {}", stderr.trim()));
    }
    if overflow {
        return Err(format!("`{command}` printed more than {MAX_OUTPUT_BYTES} bytes"));
    }
    Ok(stdout)
}

/// Read at most `cap` bytes (draining the rest); the bytes and whether there were more.
fn read_capped(mut from: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let mut overflow = false;
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if out.len() + n > cap {
                    overflow = true;
                } else {
                    out.extend_from_slice(&buf[..n]);
                }
            }
        }
    }
    (out, overflow)
}

/// SIGKILL the child's process group (it leads its own) and reap the child.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}
