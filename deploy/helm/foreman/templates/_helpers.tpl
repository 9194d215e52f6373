{{/* The release's full name, at most 63 characters (a DNS label). */}}
{{- define "foreman.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "foreman.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "foreman.labels" -}}
{{ include "foreman.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "foreman.serviceAccountName" -}}
{{- default (include "foreman.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "foreman.artifactsClaim" -}}
{{- default (printf "%s-artifacts" (include "foreman.fullname" .)) .Values.artifacts.existingClaim -}}
{{- end -}}

{{/* The names Foreman reads as NAME_FILE (SECRET_NAMES in src/config/env.ts). */}}
{{- define "foreman.fileSecretNames" -}}
{{- list "PRIVATE_KEY" "WEBHOOK_SECRET" "DATABASE_URL" "CHECKPOINT_SIGNING_KEY" "CHECKPOINT_PUBLIC_KEY" "CHANGE_HOOK_SECRET" "GITHUB_CLIENT_SECRET" "UI_SESSION_SECRET" "SUMMARY_WEBHOOK_SECRET" "SMTP_URL" "SMTP_PASS" | toJson -}}
{{- end -}}

{{/* Fails on values that cannot work, saying which to set. */}}
{{- define "foreman.validate" -}}
{{- if not .Values.github.appId -}}
{{- fail "github.appId is required: the numeric App ID from the GitHub App's settings page" -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- fail "secrets.existingSecret is required: a Secret with the keys named in secrets.files" -}}
{{- end -}}
{{- $allowed := include "foreman.fileSecretNames" . | fromJsonArray -}}
{{- range $name, $key := .Values.secrets.files -}}
{{- if eq $name "METRICS_TOKEN" -}}
{{- fail "secrets.files.METRICS_TOKEN: set metrics.tokenSecret instead (the ServiceMonitor reads the same Secret)" -}}
{{- end -}}
{{- if not (has $name $allowed) -}}
{{- fail (printf "secrets.files.%s: Foreman reads no %s_FILE; file secrets are %s" $name $name (join ", " $allowed)) -}}
{{- end -}}
{{- end -}}
{{- range $name := list "PRIVATE_KEY" "WEBHOOK_SECRET" "DATABASE_URL" -}}
{{- if not (hasKey $.Values.secrets.files $name) -}}
{{- fail (printf "secrets.files.%s is required (the key of %s in secrets.existingSecret)" $name $name) -}}
{{- end -}}
{{- end -}}
{{- $managed := list "APP_ID" "GHE_HOST" "GHE_PROTOCOL" "HOST" "PORT" "ARTIFACTS_DIR" "AGENTS_ENABLED" "DOCKER_HOST" "DOCKER_TLS_VERIFY" "DOCKER_CERT_PATH" "DOCKER_ALLOW_INSECURE_TCP" "WORKSPACE_DIR" "EGRESS_DIR" "REPLICA_ID" "METRICS_TOKEN" -}}
{{- range $name, $value := .Values.env -}}
{{- if has $name $managed -}}
{{- fail (printf "env.%s: set by the chart; use its value (see values.yaml)" $name) -}}
{{- end -}}
{{- if or (has $name $allowed) (has (trimSuffix "_FILE" $name) $allowed) -}}
{{- fail (printf "env.%s: a secret; put it in secrets.existingSecret and name it in secrets.files" $name) -}}
{{- end -}}
{{- end -}}
{{- if not (has .Values.agents.runner (list "docker" "kubernetes")) -}}
{{- fail "agents.runner must be docker or kubernetes" -}}
{{- end -}}
{{- if and .Values.agents.autoscaling.enabled (not .Values.agents.enabled) -}}
{{- fail "agents.autoscaling.enabled needs agents.enabled: it scales on the queue of agent jobs" -}}
{{- end -}}
{{- if and .Values.agents.enabled (eq .Values.agents.runner "docker") -}}
{{- if not (hasPrefix "tcp://" .Values.agents.docker.host) -}}
{{- fail "agents.docker.host is required with agents.enabled: tcp://host:2376, the Docker daemon that runs the agent containers" -}}
{{- end -}}
{{- if and (not .Values.agents.docker.tlsSecret) (not .Values.agents.docker.allowInsecureTcp) -}}
{{- fail "agents.docker.tlsSecret is required with agents.enabled: a Secret with ca.pem, cert.pem and key.pem (or set agents.docker.allowInsecureTcp on a network you trust)" -}}
{{- end -}}
{{- if not .Values.agents.sharedVolume -}}
{{- fail "agents.sharedVolume is required with agents.enabled: storage the Docker host mounts at agents.workspaceDir and agents.egressDir too" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Foreman's settings and secrets, for every container that runs `foreman`. */}}
{{- define "foreman.envFrom" -}}
- configMapRef:
    name: {{ include "foreman.fullname" . }}
{{- end -}}

{{- define "foreman.secretEnv" -}}
{{- range $name, $key := .Values.secrets.files }}
- name: {{ $name }}_FILE
  value: /run/secrets/foreman/{{ $name }}
{{- end }}
{{- with .Values.metrics.tokenSecret.name }}
- name: METRICS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.metrics.tokenSecret.key }}
{{- end }}
{{- end -}}

{{- define "foreman.baseVolumeMounts" -}}
- name: secrets
  mountPath: /run/secrets/foreman
  readOnly: true
- name: artifacts
  mountPath: {{ .Values.artifacts.path }}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /app/data
{{- end -}}

{{- define "foreman.baseVolumes" -}}
- name: secrets
  secret:
    secretName: {{ .Values.secrets.existingSecret }}
    defaultMode: 0440
    items:
      {{- range $name, $key := .Values.secrets.files }}
      - key: {{ $key }}
        path: {{ $name }}
      {{- end }}
- name: artifacts
  persistentVolumeClaim:
    claimName: {{ include "foreman.artifactsClaim" . }}
- name: tmp
  emptyDir: {}
- name: data
  emptyDir: {}
{{- end -}}

{{/* The namespace of the agent Jobs (RUNNER=kubernetes). */}}
{{- define "foreman.agentNamespace" -}}
{{- .Values.agents.kubernetes.namespace | default .Release.Namespace -}}
{{- end -}}

{{/* Whether agent jobs run as Kubernetes Jobs. */}}
{{- define "foreman.kubernetesRunner" -}}
{{- if and .Values.agents.enabled (eq .Values.agents.runner "kubernetes") -}}true{{- end -}}
{{- end -}}

{{/* A map of labels as `key=value,…` (sorted). */}}
{{- define "foreman.labelList" -}}
{{- $pairs := list -}}
{{- range $key, $value := . -}}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}
