#!/usr/bin/env bash
# Static checks of the Helm chart helm/provenance (run from the repository root):
#   1. helm lint --strict: values.yaml alone, the trial, production and external-URL values;
#   2. helm template of those three configurations (values.yaml alone deliberately does not
#      render: it names the backing services that are missing, which step 5 checks);
#   3. kubernetes-validate --strict of every rendered object against the oldest supported
#      (Chart.yaml kubeVersion) and the newest known Kubernetes; the only kind it may lack a
#      schema for is the ServiceMonitor CRD, whose objects are checked in step 4 instead;
#   4. the chart's own invariants on the renders: restricted Pod Security on every pod, the
#      migration hook ordering, the ServiceMonitor's ports and selector against the Services;
#      and every value of values.yaml described there and in the chart README's values table;
#   5. values the chart must refuse: a malformed digest, an unknown key, no backing services,
#      existingSecret together with a bundled service;
#   6. checkov --framework helm with each of the three configurations: zero failures; every
#      skip is a checkov.io/skipN annotation with its reason on the resource in the template.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$here"
# shellcheck source=scripts/deploy-tools.sh
source scripts/deploy-tools.sh

chart=helm/provenance
namespace=provenance
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/renders"

min_kube=$(sed -n 's/^kubeVersion: *">=\([0-9]*\.[0-9]*\)\..*/\1.0/p' "$chart/Chart.yaml")
[ -n "$min_kube" ] || { echo "helm: no kubeVersion lower bound in $chart/Chart.yaml" >&2; exit 1; }

declare -A configs=(
  [trial]="$chart/ci/default-values.yaml"
  [production]="$chart/values-production.yaml"
  [external]="$chart/ci/external-values.yaml"
)

echo "== helm lint --strict"
helm lint --strict "$chart" --namespace "$namespace" >"$work/lint.log" 2>&1 \
  || { cat "$work/lint.log"; echo "helm: lint of values.yaml failed" >&2; exit 1; }
echo "   values.yaml: ok"
for name in trial production external; do
  helm lint --strict "$chart" --namespace "$namespace" -f "${configs[$name]}" >"$work/lint.log" 2>&1 \
    || { cat "$work/lint.log"; echo "helm: lint with ${configs[$name]} failed" >&2; exit 1; }
  echo "   ${configs[$name]}: ok"
done

echo "== helm template"
for name in trial production external; do
  helm template provenance "$chart" --namespace "$namespace" -f "${configs[$name]}" \
    >"$work/renders/$name.yaml"
  echo "   $name (${configs[$name]}): $(grep -c '^kind:' "$work/renders/$name.yaml") objects"
done

echo "== kubernetes-validate --strict (Kubernetes $min_kube and newest known)"
for name in trial production external; do
  set +e
  kubernetes-validate --strict --quiet -k "$min_kube" "$work/renders/$name.yaml" >"$work/kv.log" 2>&1
  rc_min=$?
  kubernetes-validate --strict --quiet "$work/renders/$name.yaml" >>"$work/kv.log" 2>&1
  rc_new=$?
  set -e
  # A kind without a schema is a warning, not a failure: allow it for the CRD only.
  unexpected=$(grep -v "Couldn't find schema for kind ServiceMonitor with api version monitoring.coreos.com/v1" "$work/kv.log" || true)
  if [ "$rc_min" -ne 0 ] || [ "$rc_new" -ne 0 ] || [ -n "$unexpected" ]; then
    cat "$work/kv.log"
    echo "helm: kubernetes-validate rejected the $name render" >&2
    exit 1
  fi
  echo "   $name: valid$(grep -q ServiceMonitor "$work/kv.log" && echo ' (ServiceMonitor: no upstream schema, checked below)' || true)"
done

echo "== chart invariants"
python - "$work/renders" "$chart" <<'PY'
import difflib, glob, json, os, re, sys
import yaml

renders, chart = sys.argv[1], sys.argv[2]
failures = []

def fail(msg):
    failures.append(msg)

def pod_specs(obj):
    kind = obj.get("kind")
    if kind in ("Deployment", "StatefulSet", "Job"):
        yield obj["spec"]["template"]["spec"]

for path in sorted(glob.glob(os.path.join(renders, "*.yaml"))):
    name = os.path.basename(path)[:-5]
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
        if d["metadata"].get("namespace") != "provenance" and d["kind"] not in ("ClusterRole",):
            fail(f"{name}: {d['kind']}/{d['metadata']['name']} has no release namespace")

    # Restricted Pod Security Standard on every pod and container.
    for d in docs:
        for spec in pod_specs(d):
            where = f"{name}: {d['kind']}/{d['metadata']['name']}"
            psc = spec.get("securityContext", {})
            if not psc.get("runAsNonRoot") or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                fail(f"{where}: pod securityContext is not restricted")
            if spec.get("automountServiceAccountToken") is not False:
                fail(f"{where}: mounts a ServiceAccount token")
            if not spec.get("serviceAccountName"):
                fail(f"{where}: no ServiceAccount of its own")
            for c in spec.get("initContainers", []) + spec["containers"]:
                sc = c.get("securityContext", {})
                ok = (sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True
                      and sc.get("capabilities", {}).get("drop") == ["ALL"] and sc.get("runAsNonRoot") is True)
                if not ok:
                    fail(f"{where}: container {c['name']} securityContext is not restricted")
                if not c.get("resources", {}).get("limits") or not c.get("resources", {}).get("requests"):
                    fail(f"{where}: container {c['name']} has no resource requests/limits")

    # The migration hook: its Secret/ServiceAccount/NetworkPolicy before the Job.
    hooks = [d for d in docs if "helm.sh/hook" in d["metadata"].get("annotations", {})]
    migration = [d for d in hooks if "pre-install" in d["metadata"]["annotations"]["helm.sh/hook"]]
    if migration:
        weight = {f"{d['kind']}": int(d["metadata"]["annotations"].get("helm.sh/hook-weight", "0")) for d in migration}
        job = weight.get("Job")
        if job is None:
            fail(f"{name}: pre-install hooks without the migration Job")
        for kind, w in weight.items():
            if kind != "Job" and not w < job:
                fail(f"{name}: hook {kind} (weight {w}) does not come before the migration Job ({job})")
        for d in migration:
            policy = d["metadata"]["annotations"].get("helm.sh/hook-delete-policy", "")
            if policy != "before-hook-creation,hook-succeeded":
                fail(f"{name}: hook {d['kind']} has delete policy {policy!r}")
        jobs = [d for d in migration if d["kind"] == "Job"]
        for j in jobs:
            spec = j["spec"]
            for key in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
                if key not in spec:
                    fail(f"{name}: the migration Job has no {key}")
            env = {e["name"]: e for e in spec["template"]["spec"]["containers"][0]["env"]}
            ref = env["PROVENANCE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"]
            hook_secrets = {d["metadata"]["name"] for d in migration if d["kind"] == "Secret"}
            if ref not in hook_secrets and name != "production":
                fail(f"{name}: the migration Job reads Secret {ref}, which is no hook")
    elif name != "trial":
        fail(f"{name}: no migration hook")
    if name == "trial":
        for d in by_kind.get("Deployment", []):
            inits = [c["name"] for c in d["spec"]["template"]["spec"].get("initContainers", [])]
            if "migrate" not in inits:
                fail(f"trial: {d['metadata']['name']} has no migrate init container (bundled PostgreSQL)")

    # ServiceMonitor (a CRD, not in kubernetes-validate's schemas): shape, selector, port names.
    for sm in by_kind.get("ServiceMonitor", []):
        if sm["apiVersion"] != "monitoring.coreos.com/v1":
            fail(f"{name}: ServiceMonitor apiVersion {sm['apiVersion']}")
        spec = sm["spec"]
        labels = spec["selector"]["matchLabels"]
        components = next(e["values"] for e in spec["selector"]["matchExpressions"]
                          if e["key"] == "app.kubernetes.io/component")
        selected = [s for s in by_kind.get("Service", [])
                    if all(s["metadata"]["labels"].get(k) == v for k, v in labels.items())
                    and s["metadata"]["labels"].get("app.kubernetes.io/component") in components]
        if sorted(s["metadata"]["labels"]["app.kubernetes.io/component"] for s in selected) != ["api", "worker"]:
            fail(f"{name}: the ServiceMonitor selects {[s['metadata']['name'] for s in selected]}")
        ports = {p["name"] for s in selected for p in s["spec"]["ports"]}
        for ep in spec["endpoints"]:
            if ep["port"] not in ports or ep.get("path") != "/metrics":
                fail(f"{name}: ServiceMonitor endpoint {ep} matches no Service port")
            for key in ("interval", "scrapeTimeout"):
                if not re.fullmatch(r"([0-9]+(ms|s|m|h))+", ep.get(key, "")):
                    fail(f"{name}: ServiceMonitor endpoint {key} {ep.get(key)!r}")
        if spec["namespaceSelector"]["matchNames"] != ["provenance"]:
            fail(f"{name}: ServiceMonitor namespaceSelector {spec['namespaceSelector']}")

    # The api finds the workers' DetectorService, by the worker Service's name and port.
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    for d in by_kind.get("Deployment", []):
        for c in d["spec"]["template"]["spec"]["containers"]:
            for e in c.get("env", []):
                if e["name"] == "PROVENANCE_WORKER_GRPC_URL":
                    m = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", e["value"])
                    svc = services.get(m.group(1)) if m else None
                    if not svc or int(m.group(2)) not in [p["port"] for p in svc["spec"]["ports"]]:
                        fail(f"{name}: PROVENANCE_WORKER_GRPC_URL {e['value']} is no Service port")

# The README's values table is values.yaml's: every key with a "# -- " description, its type,
# default and description, in file order.
def values_table(path):
    src = open(path).read()
    values = yaml.safe_load(src)
    rows, stack, pending = [], [], None
    for line in src.splitlines():
        m = re.match(r"^\s*# -- (.*)$", line)
        if m:
            pending = m.group(1)
            continue
        m = re.match(r"^(\s*)([A-Za-z0-9_]+):", line)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
        if pending is None:
            continue
        path_keys = [k for _, k in stack]
        v = values
        for k in path_keys:
            v = v[k]
        kind = ("list" if isinstance(v, list) else "object" if isinstance(v, dict) else "bool" if isinstance(v, bool)
                else "int" if isinstance(v, int) else "null" if v is None else "string")
        default = json.dumps(v, ensure_ascii=False, separators=(", ", ": ")).replace("|", "\\|")
        description = pending.replace("|", "\\|")
        rows.append(f"| `{'.'.join(path_keys)}` | {kind} | `{default}` | {description} |")
        pending = None
    return values, ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"] + rows

values, expected = values_table(os.path.join(chart, "values.yaml"))
readme = open(os.path.join(chart, "README.md")).read().splitlines()
start = readme.index(expected[0]) if expected[0] in readme else len(readme)
actual = []
for line in readme[start:]:
    if not line.startswith("|"):
        break
    actual.append(line)
if actual != expected:
    diff = "\n".join(difflib.unified_diff(actual, expected, "README.md", "values.yaml", lineterm=""))
    fail("README.md: the values table differs from values.yaml; expected table:\n" + "\n".join(expected) + "\n" + diff)

documented = {re.match(r"^\| `([^`]+)`", r).group(1) for r in expected[2:]}

def leaves(d, p=()):
    if isinstance(d, dict) and d:
        for k, v in d.items():
            yield from leaves(v, p + (k,))
    else:
        yield ".".join(p)

for leaf in leaves(values):
    if not any(leaf == k or leaf.startswith(k + ".") for k in documented):
        fail(f"values.yaml: {leaf} has no '# -- ' description")

if failures:
    print("\n".join("   FAIL " + f for f in failures))
    sys.exit(1)
print("   restricted pods, migration hook order, ServiceMonitor, DetectorService URL, README values table: ok")
PY

echo "== values the chart must refuse"
refuse() {
  local what=$1 expect=$2
  shift 2
  if helm template provenance "$chart" --namespace "$namespace" "$@" >"$work/refuse.log" 2>&1; then
    echo "helm: the chart accepted $what" >&2
    exit 1
  fi
  if ! grep -q -- "$expect" "$work/refuse.log"; then
    cat "$work/refuse.log"
    echo "helm: refusing $what, the chart did not say \"$expect\"" >&2
    exit 1
  fi
  echo "   refused: $what"
}
trial=(-f "$chart/ci/default-values.yaml")
refuse "a malformed digest" "does not match pattern" "${trial[@]}" --set api.image.digest=sha256:1234
refuse "a digest of another algorithm" "does not match pattern" "${trial[@]}" \
  --set worker.image.digest=sha512:0000000000000000000000000000000000000000000000000000000000000000
refuse "an unknown top-level value" "additional properties" "${trial[@]}" --set replicas=3
refuse "an unknown api value" "additional properties" "${trial[@]}" --set api.replicas=3
refuse "values.yaml without backing services" "not configured: PostgreSQL"
refuse "existingSecret with a bundled service" "are exclusive" "${trial[@]}" --set existingSecret=mine
refuse "a bundled and an external Redis" "configured twice" "${trial[@]}" --set externalRedis.url=redis://r:6379
refuse "a malformed admin key" "does not match pattern" "${trial[@]}" --set secrets.bootstrapAdminKey=pvn_short

echo "== helm package"
helm package "$chart" --destination "$work" >/dev/null
echo "   $(basename "$(ls "$work"/provenance-*.tgz)")"

echo "== checkov --framework helm (offline), once per configuration"
# HELM_NAMESPACE: the namespace of the render, as an install has one (without it every object
# would land in "default", which CKV_K8S_21 rightly flags and no install uses).
for name in trial production external; do
  HELM_NAMESPACE=$namespace checkov -d "$chart" --framework helm --var-file "${configs[$name]}" \
    --skip-download --compact -o json >"$work/checkov-$name.json" 2>"$work/checkov-$name.err" || true
  python - "$work/checkov-$name.json" "$name" <<'PY' || { cat "$work/checkov-$name.err" >&2; exit 1; }
import json, sys
path, name = sys.argv[1], sys.argv[2]
try:
    data = json.load(open(path))
except ValueError:
    print(f"   {name}: checkov produced no report")
    sys.exit(1)
reports = data if isinstance(data, list) else [data]
passed = failed = skipped = errors = 0
for report in reports:
    if not isinstance(report, dict) or "summary" not in report:
        continue
    s = report["summary"]
    passed, failed, skipped = passed + s["passed"], failed + s["failed"], skipped + s["skipped"]
    errors += s["parsing_errors"]
    for c in report["results"].get("failed_checks", []):
        print(f"   FAIL {c['check_id']} {c['check_name']}: {c['resource']} in {c['file_path']}")
    for c in report["results"].get("skipped_checks", []):
        print(f"   skip {c['check_id']} {c['resource']} in {c['file_path']}: {c['check_result'].get('suppress_comment', '')}")
# A chart that fails to render gives checkov nothing to check, and no failure: insist on results.
print(f"   {name}: {passed} passed, {failed} failed, {skipped} skipped, {errors} parsing errors")
sys.exit(1 if failed or errors or passed == 0 else 0)
PY
done

echo "helm: all checks passed"
