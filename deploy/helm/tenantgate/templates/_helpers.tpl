{{/* Names, labels and the rendered config files. */}}

{{- define "tenantgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "tenantgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{- define "tenantgate.broker.fullname" -}}
{{- printf "%s-broker" (include "tenantgate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "tenantgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "tenantgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tenantgate.broker.selector" -}}
app.kubernetes.io/name: {{ include "tenantgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: broker
{{- end }}

{{- define "tenantgate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end }}

{{- define "tenantgate.serviceAccountName" -}}
{{- if .Values.broker.serviceAccount.create -}}
{{- default (include "tenantgate.broker.fullname" .) .Values.broker.serviceAccount.name -}}
{{- else -}}
{{- required "broker.serviceAccount.name is required when create is false" .Values.broker.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{- define "tenantgate.brokerURL" -}}
{{- printf "%s://%s.%s.svc:%v" (ternary "https" "http" (not (empty .Values.broker.tls.existingSecret))) (include "tenantgate.broker.fullname" .) .Release.Namespace .Values.broker.service.port -}}
{{- end }}

{{/*
tenantgate.conf renders a `key = value` file.
  dict "name" broker|forwarder "derived" <chart-derived keys> "config" <values>
Values override derived keys; null means unset (the program's default);
a list becomes comma-separated; a key the program does not know fails.
*/}}
{{- define "tenantgate.conf" -}}
{{- $known := splitList " " (include (printf "tenantgate.%s.keys" .name) .root) -}}
{{- $all := dict -}}
{{- range $k, $v := .derived }}{{- if not (kindIs "invalid" $v) }}{{- $_ := set $all $k $v }}{{- end }}{{- end }}
{{- range $k, $v := .config }}
{{- if not (has $k $known) }}
{{- fail (printf "%s.config.%s: not a tenantgate-%s config key (see docs/%s-config.md)" $.name $k $.name $.name) }}
{{- end }}
{{- if not (kindIs "invalid" $v) }}{{- $_ := set $all $k $v }}{{- end }}
{{- end }}
{{- range $k := keys $all | sortAlpha }}
{{- $v := get $all $k }}
{{- if kindIs "slice" $v }}{{- $v = join "," $v }}{{- end }}
{{- if contains "\n" (toString $v) }}
{{- fail (printf "%s.config.%s: a value must be one line" $.name $k) }}
{{- end }}
{{ $k }} = {{ $v }}
{{- end }}
{{- end }}
