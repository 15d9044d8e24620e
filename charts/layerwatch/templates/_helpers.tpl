{{/* Names and labels shared by every template. */}}
{{- define "layerwatch.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "layerwatch.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "layerwatch.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "layerwatch.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "layerwatch.operator.name" -}}{{ include "layerwatch.fullname" . }}-operator{{- end -}}
{{- define "layerwatch.webhook.name" -}}{{ include "layerwatch.fullname" . }}-webhook{{- end -}}
{{- define "layerwatch.webhook.tlsSecret" -}}{{ include "layerwatch.fullname" . }}-webhook-tls{{- end -}}
{{- define "layerwatch.webhook.configName" -}}{{ include "layerwatch.fullname" . }}.layerwatch.dev{{- end -}}
{{- define "layerwatch.webhook.enforceConfigName" -}}{{ include "layerwatch.fullname" . }}-enforce.layerwatch.dev{{- end -}}
{{- define "layerwatch.push.name" -}}{{ include "layerwatch.operator.name" . }}-push{{- end -}}
{{- define "layerwatch.push.tokenSecret" -}}{{ .Values.operator.push.tokenSecret | default (include "layerwatch.push.name" .) }}{{- end -}}
{{- define "layerwatch.push.tlsSecret" -}}
{{- if .Values.operator.push.tls.secretName }}{{ .Values.operator.push.tls.secretName }}{{ else if .Values.operator.push.tls.certManager }}{{ include "layerwatch.push.name" . }}-tls{{ end -}}
{{- end -}}
