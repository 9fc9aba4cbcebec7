{{/*
Names, labels, images and the pieces every pod of the chart shares.
*/}}

{{- define "provenance.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's base name; component names append "-api", "-worker", … so it keeps room for them.
*/}}
{{- define "provenance.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "provenance.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Standard labels. Call with (dict "ctx" $ "component" "api").
*/}}
{{- define "provenance.labels" -}}
helm.sh/chart: {{ include "provenance.chart" .ctx }}
{{ include "provenance.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: provenance
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "provenance.selectorLabels" -}}
app.kubernetes.io/name: {{ include "provenance.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "provenance.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "provenance.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secret the pods read: the user's existingSecret, or the one this chart renders.
*/}}
{{- define "provenance.secretName" -}}
{{- default (include "provenance.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
An image reference. Call with (dict "ctx" $ "image" .Values.api.image "app" true).
A digest wins over the tag (repo@sha256:…); the tag defaults to the chart's appVersion.
Application images ("app") are <image.registry>/<image.repositoryPrefix>/<repository>; the
bundled services' images carry their own registry.
*/}}
{{- define "provenance.image" -}}
{{- $registry := .image.registry | default "" }}
{{- $repository := .image.repository }}
{{- if .app }}
{{- $registry = .ctx.Values.image.registry }}
{{- with .ctx.Values.image.repositoryPrefix }}
{{- $repository = printf "%s/%s" . $repository }}
{{- end }}
{{- end }}
{{- $ref := ternary (printf "%s/%s" $registry $repository) $repository (ne $registry "") }}
{{- if .image.digest }}
{{- printf "%s@%s" $ref .image.digest }}
{{- else }}
{{- printf "%s:%s" $ref (.image.tag | default .ctx.Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/*
Pull policy: the image's, else image.pullPolicy, else IfNotPresent for a digest (immutable) and
Always for a tag (which can be pushed again).
*/}}
{{- define "provenance.imagePullPolicy" -}}
{{- .image.pullPolicy | default .ctx.Values.image.pullPolicy | default (ternary "IfNotPresent" "Always" (not (empty .image.digest))) }}
{{- end }}

{{/*
checkov skip annotations, one per entry of (dict "skips" (list "CKV_K8S_x=reason" …)).
checkov reads suppressions of Kubernetes objects from these annotations (inline comments are not
read for Kubernetes); the reason follows "=" and must not contain "=" itself.
*/}}
{{- define "provenance.checkovSkips" -}}
{{- $lines := list }}
{{- range $i, $skip := .skips }}
{{- $lines = append $lines (printf "checkov.io/skip%d: %s" (add1 $i) ($skip | quote)) }}
{{- end }}
{{- join "\n" $lines }}
{{- end }}

{{/*
CKV_K8S_43 wants images pinned by digest: that is what a deploy does (values-production.yaml, the
release workflow's --set api.image.digest=…). Only a render with a tag-only image gets the skip.
*/}}
{{- define "provenance.digestSkip" -}}
{{- if not .digest -}}
CKV_K8S_43=this render pins the image by tag only; set its image.digest to pin it (deploys do: values-production.yaml)
{{- end -}}
{{- end }}

{{/*
Whether any bundled service is on ("true" or empty).
*/}}
{{- define "provenance.bundled.any" -}}
{{- if or .Values.postgresql.enabled .Values.rabbitmq.enabled .Values.redis.enabled }}true{{ end }}
{{- end }}

{{/*
Render-time checks: each of the three backing services is configured exactly once, and
existingSecret is not combined with settings it replaces.
*/}}
{{- define "provenance.validate" -}}
{{- $v := .Values }}
{{- if $v.existingSecret }}
{{- if include "provenance.bundled.any" . }}
{{- fail "existingSecret and the bundled services (postgresql/rabbitmq/redis.enabled) are exclusive: the bundled services' credentials are generated into the chart's own Secret. Either drop existingSecret (trial) or point its database-url, amqp-url and redis-url at your own services (production)." }}
{{- end }}
{{- if or $v.externalDatabase.url $v.externalAmqp.url $v.externalRedis.url $v.secrets.signingKey $v.secrets.bootstrapAdminKey }}
{{- fail "existingSecret is set: put database-url, amqp-url, redis-url, signing-key.pem and bootstrap-admin-key in that Secret and leave externalDatabase.url, externalAmqp.url, externalRedis.url and secrets.* empty." }}
{{- end }}
{{- else }}
{{- $missing := list }}
{{- range $name, $c := dict "PostgreSQL" (list $v.postgresql.enabled $v.externalDatabase.url "postgresql.enabled" "externalDatabase.url") "RabbitMQ" (list $v.rabbitmq.enabled $v.externalAmqp.url "rabbitmq.enabled" "externalAmqp.url") "Redis" (list $v.redis.enabled $v.externalRedis.url "redis.enabled" "externalRedis.url") }}
{{- $bundled := index $c 0 }}
{{- $external := index $c 1 }}
{{- if and (not $bundled) (not $external) }}
{{- $missing = append $missing (printf "%s (set %s=true for a trial, or %s)" $name (index $c 2) (index $c 3)) }}
{{- end }}
{{- if and $bundled $external }}
{{- fail (printf "%s is configured twice: %s and %s are exclusive." $name (index $c 2) (index $c 3)) }}
{{- end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "not configured: %s. Or set existingSecret to a Secret holding database-url, amqp-url, redis-url and signing-key.pem (see the chart README). A trial with everything bundled: --set postgresql.enabled=true,rabbitmq.enabled=true,redis.enabled=true." (join "; " $missing)) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Whether the schema migration runs as the pre-install/pre-upgrade hook Job (external database) or
as an init container of the api and worker pods (bundled PostgreSQL, which does not exist yet when
pre-install hooks run).
*/}}
{{- define "provenance.migration.hook" -}}
{{- if and .Values.migration.enabled (not .Values.postgresql.enabled) }}true{{ end }}
{{- end }}

{{- define "provenance.migration.initContainer" -}}
{{- if and .Values.migration.enabled .Values.postgresql.enabled }}true{{ end }}
{{- end }}

{{/*
The public URL of the API: config.publicBaseUrl, else the first Ingress host.
*/}}
{{- define "provenance.publicBaseUrl" -}}
{{- if .Values.config.publicBaseUrl }}
{{- .Values.config.publicBaseUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.ingress.tls) 0)) $host }}
{{- end }}
{{- end }}

{{/*
A digest of the settings the pods read from the Secret, so a change rolls the Deployments. It
covers the inputs, not generated material (which is kept across upgrades by lookup).
*/}}
{{- define "provenance.secretChecksum" -}}
{{- $v := .Values }}
{{- dict "existingSecret" $v.existingSecret "secrets" $v.secrets "db" $v.externalDatabase "amqp" $v.externalAmqp "redis" $v.externalRedis "pg" $v.postgresql.auth "mq" $v.rabbitmq.auth "rd" $v.redis.auth | toJson | sha256sum }}
{{- end }}

{{/*
Pod and container securityContext of every pod (values podSecurityContext and
containerSecurityContext: the restricted Pod Security Standard by default).
*/}}
{{- define "provenance.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "provenance.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext }}
{{- end }}

{{/*
Settings from the Secret: the URLs as secretKeyRef variables (so an existingSecret needs only
plain keys; the application has no per-setting *_FILE variants), the signing key as a file.
*/}}
{{- define "provenance.env.secrets" -}}
- name: PROVENANCE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "provenance.secretName" . }}
      key: database-url
- name: PROVENANCE_AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "provenance.secretName" . }}
      key: amqp-url
- name: PROVENANCE_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "provenance.secretName" . }}
      key: redis-url
- name: PROVENANCE_SIGNING_KEY_FILE
  value: /etc/provenance/signing/signing-key.pem
{{- end }}

{{/*
Settings from values shared by the api, the worker and the migration.
*/}}
{{- define "provenance.env.common" -}}
- name: PROVENANCE_DATA_DIR
  value: /var/lib/provenance
- name: PROVENANCE_LOG_FORMAT
  value: {{ .Values.config.logFormat | quote }}
- name: RUST_LOG
  value: {{ .Values.config.rustLog | quote }}
- name: PROVENANCE_DATABASE_MAX_CONNECTIONS
  value: {{ .Values.config.databaseMaxConnections | quote }}
{{- with .Values.config.amqpPrefix }}
- name: PROVENANCE_AMQP_PREFIX
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.otlpEndpoint }}
- name: PROVENANCE_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.webhookAllowHosts }}
- name: PROVENANCE_WEBHOOK_ALLOW_HOSTS
  value: {{ join "," . | quote }}
{{- end }}
{{- with include "provenance.publicBaseUrl" . }}
- name: PROVENANCE_PUBLIC_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The writable directories of a read-only root filesystem, and the signing key.
*/}}
{{- define "provenance.volumes" -}}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.ephemeralStorage.dataSizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.ephemeralStorage.tmpSizeLimit }}
- name: signing-key
  secret:
    secretName: {{ include "provenance.secretName" . }}
    defaultMode: 0400
    items:
      - key: signing-key.pem
        path: signing-key.pem
{{- end }}

{{- define "provenance.volumeMounts" -}}
- name: data
  mountPath: /var/lib/provenance
- name: tmp
  mountPath: /tmp
- name: signing-key
  mountPath: /etc/provenance/signing
  readOnly: true
{{- end }}

{{/*
The migration as an init container (bundled PostgreSQL). Its image is the api image, which holds
`provenance-api migrate`; several pods migrating at once is safe (a Postgres advisory lock).
*/}}
{{- define "provenance.migration.container" -}}
- name: migrate
  image: {{ include "provenance.image" (dict "ctx" . "image" .Values.api.image "app" true) }}
  imagePullPolicy: {{ include "provenance.imagePullPolicy" (dict "ctx" . "image" .Values.api.image) }}
  args: ["migrate"]
  env:
    - name: PROVENANCE_DATABASE_URL
      valueFrom:
        secretKeyRef:
          name: {{ include "provenance.secretName" . }}
          key: database-url
    {{- include "provenance.env.common" . | nindent 4 }}
  resources:
    {{- toYaml .Values.migration.resources | nindent 4 }}
  securityContext:
    {{- include "provenance.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: data
      mountPath: /var/lib/provenance
    - name: tmp
      mountPath: /tmp
{{- end }}

{{/*
Topology spread: the component's constraints, or by default spread over zones and nodes (soft),
each counting only the pods of the same rollout.
*/}}
{{- define "provenance.topologySpread" -}}
{{- $selector := include "provenance.selectorLabels" (dict "ctx" .ctx "component" .component) | fromYaml }}
{{- $constraints := .constraints }}
{{- if not $constraints }}
{{- $constraints = list (dict "maxSkew" 1 "topologyKey" "topology.kubernetes.io/zone" "whenUnsatisfiable" "ScheduleAnyway") (dict "maxSkew" 1 "topologyKey" "kubernetes.io/hostname" "whenUnsatisfiable" "ScheduleAnyway") }}
{{- end }}
{{- $out := list }}
{{- range $constraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" $selector) }}
{{- $_ := set $c "matchLabelKeys" (list "pod-template-hash") }}
{{- end }}
{{- $out = append $out $c }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
NetworkPolicy egress shared by the api and the worker: DNS, the three backing services (their pods when
bundled, else networkPolicy.<service>.ports to .cidrs, any address when empty), the OTLP endpoint
when configured, and networkPolicy.extraEgress.
*/}}
{{- define "provenance.networkPolicy.commonEgress" -}}
{{- $np := .Values.networkPolicy -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
  {{- with $np.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- range $backend := list (dict "bundled" .Values.postgresql.enabled "component" "postgresql" "port" 5432 "external" $np.database) (dict "bundled" .Values.rabbitmq.enabled "component" "rabbitmq" "port" 5672 "external" $np.amqp) (dict "bundled" .Values.redis.enabled "component" "redis" "port" 6379 "external" $np.redis) }}
{{- if $backend.bundled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "provenance.selectorLabels" (dict "ctx" $ "component" $backend.component) | nindent 10 }}
  ports:
    - port: {{ $backend.port }}
      protocol: TCP
{{- else }}
- ports:
    {{- range $backend.external.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with $backend.external.cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}
{{- if .Values.config.otlpEndpoint }}
- ports:
    {{- range $np.otlp.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with $np.otlp.cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end }}
{{- with $np.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
NetworkPolicy of a bundled service: its port from the api and worker pods (the migration runs in
their init containers), DNS out, nothing else. Call with (dict "ctx" $ "component" "redis" "port" 6379).
*/}}
{{- define "provenance.networkPolicy.bundled" -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "provenance.fullname" .ctx }}-{{ .component }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "provenance.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "provenance.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    - ports:
        - port: {{ .port }}
          protocol: TCP
      from:
        {{- range $client := list "api" "worker" }}
        - podSelector:
            matchLabels:
              {{- include "provenance.selectorLabels" (dict "ctx" $.ctx "component" $client) | nindent 14 }}
        {{- end }}
  egress:
    - ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
      {{- with .ctx.Values.networkPolicy.dns.to }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
