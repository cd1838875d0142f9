{{/* Names */}}
{{- define "rstwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rstwatch.fullname" -}}
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
{{- end -}}

{{- define "rstwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rstwatch.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels: include "rstwatch.labels" (list . "processor") */}}
{{- define "rstwatch.labels" -}}
{{- $ctx := index . 0 -}}
helm.sh/chart: {{ printf "%s-%s" $ctx.Chart.Name $ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: rstwatch
{{ include "rstwatch.selectorLabels" . }}
{{- end -}}

{{- define "rstwatch.selectorLabels" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ include "rstwatch.name" $ctx }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "rstwatch.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Paths where secrets are mounted; the config file refers to them. */}}
{{- define "rstwatch.kafkaSaslPasswordFile" -}}/etc/rstwatch/secrets/kafka-sasl/{{ .Values.kafka.sasl.passwordKey }}{{- end -}}
{{- define "rstwatch.webhookSecretFile" -}}/etc/rstwatch/secrets/webhook/{{ .Values.alerts.webhook.secretKey }}{{- end -}}
{{- define "rstwatch.clickhousePasswordFile" -}}/etc/rstwatch/secrets/clickhouse/{{ .Values.clickhouse.passwordKey }}{{- end -}}

{{/* The clickhouse section of rstwatch.yaml, as a dict (shared by the ConfigMap and the migrate Job). */}}
{{- define "rstwatch.clickhouseConfig" -}}
{{- $c := .Values.clickhouse -}}
{{- $ch := dict "url" $c.url "database" $c.database "username" $c.username "cluster" $c.cluster -}}
{{- if $c.existingSecret -}}
{{- $_ := set $ch "passwordFile" (include "rstwatch.clickhousePasswordFile" .) -}}
{{- end -}}
{{- if $c.tls.existingSecret -}}
{{- $tls := dict -}}
{{- if $c.tls.caKey -}}{{- $_ := set $tls "ca" (printf "/etc/rstwatch/clickhouse-tls/%s" $c.tls.caKey) -}}{{- end -}}
{{- if $c.tls.certKey -}}{{- $_ := set $tls "cert" (printf "/etc/rstwatch/clickhouse-tls/%s" $c.tls.certKey) -}}{{- end -}}
{{- if $c.tls.keyKey -}}{{- $_ := set $tls "key" (printf "/etc/rstwatch/clickhouse-tls/%s" $c.tls.keyKey) -}}{{- end -}}
{{- $_ := set $ch "tls" $tls -}}
{{- end -}}
{{- with $c.ttlDays }}{{- $_ := set $ch "ttlDays" . -}}{{- end -}}
{{- with $c.writer }}{{- $_ := set $ch "writer" . -}}{{- end -}}
{{- toYaml $ch -}}
{{- end -}}

{{/* rstwatch.yaml */}}
{{- define "rstwatch.config" -}}
{{- $k := .Values.kafka -}}
{{- $kafka := dict "brokers" $k.brokers "clientId" $k.clientId "topics" $k.topics -}}
{{- if $k.tls.enabled -}}
{{- $ssl := dict "enabled" true "rejectUnauthorized" $k.tls.rejectUnauthorized -}}
{{- if $k.tls.existingSecret -}}
{{- if $k.tls.caKey -}}{{- $_ := set $ssl "ca" (printf "/etc/rstwatch/kafka-tls/%s" $k.tls.caKey) -}}{{- end -}}
{{- if $k.tls.certKey -}}{{- $_ := set $ssl "cert" (printf "/etc/rstwatch/kafka-tls/%s" $k.tls.certKey) -}}{{- end -}}
{{- if $k.tls.keyKey -}}{{- $_ := set $ssl "key" (printf "/etc/rstwatch/kafka-tls/%s" $k.tls.keyKey) -}}{{- end -}}
{{- end -}}
{{- $_ := set $kafka "ssl" $ssl -}}
{{- end -}}
{{- if ne $k.sasl.mechanism "none" -}}
{{- if not $k.sasl.existingSecret -}}{{- fail "kafka.sasl.existingSecret is required when kafka.sasl.mechanism is not none" -}}{{- end -}}
{{- $_ := set $kafka "sasl" (dict "mechanism" $k.sasl.mechanism "username" $k.sasl.username "passwordFile" (include "rstwatch.kafkaSaslPasswordFile" .)) -}}
{{- end -}}
{{- $a := .Values.agent -}}
{{- $agent := dict "iface" $a.iface "bpf" $a.bpf "snaplen" $a.snaplen "compression" $a.compression "bufferMaxBytes" $a.bufferMaxBytes -}}
{{- with $a.batch }}{{- $_ := set $agent "batch" . -}}{{- end -}}
{{- $p := .Values.processor -}}
{{- $processor := dict "groupId" $p.groupId "workers" $p.workers "maxInFlightBytes" $p.maxInFlightBytes "shutdownDeadlineS" $p.shutdownDeadlineS -}}
{{- $al := .Values.alerts -}}
{{- $w := $al.webhook -}}
{{- $webhook := dict "url" $w.url "timeoutMs" $w.timeoutMs "retries" $w.retries -}}
{{- if $w.existingSecret -}}{{- $_ := set $webhook "secretFile" (include "rstwatch.webhookSecretFile" .) -}}{{- end -}}
{{- $sl := $al.syslog -}}
{{- $syslog := dict "url" $sl.url "format" $sl.format "appName" $sl.appName "facility" $sl.facility "rejectUnauthorized" $sl.rejectUnauthorized "timeoutMs" $sl.timeoutMs "retries" $sl.retries -}}
{{- if $sl.caExistingSecret -}}{{- $_ := set $syslog "ca" (printf "/etc/rstwatch/syslog-ca/%s" $sl.caKey) -}}{{- end -}}
{{- $alerts := dict "enabled" $al.enabled "quietS" $al.quietS "maxEntities" $al.maxEntities "sampleSize" $al.sampleSize "replayMessages" $al.replayMessages "suppress" $al.suppress "groupId" .Values.detect.groupId "webhook" $webhook "syslog" $syslog "undeliveredPath" "/var/lib/rstwatch/undelivered/undelivered-alerts.ndjson" -}}
{{- $alerts = mergeOverwrite $alerts (deepCopy $al.rules) -}}
{{- $cfg := dict
      "log" (dict "level" .Values.log.level "format" .Values.log.format)
      "metrics" (dict "enabled" true "listen" (printf "0.0.0.0:%v" .Values.metrics.port))
      "kafka" $kafka
      "clickhouse" (include "rstwatch.clickhouseConfig" . | fromYaml)
      "agent" $agent
      "processor" $processor
      "alerts" $alerts -}}
{{- toYaml (mergeOverwrite $cfg (deepCopy .Values.config)) -}}
{{- end -}}

{{/* Volumes for the config file and the secrets it names. */}}
{{- define "rstwatch.volumes" -}}
- name: config
  configMap:
    name: {{ include "rstwatch.fullname" . }}
{{- if and (ne .Values.kafka.sasl.mechanism "none") .Values.kafka.sasl.existingSecret }}
- name: kafka-sasl
  secret:
    secretName: {{ .Values.kafka.sasl.existingSecret }}
    items: [{ key: {{ .Values.kafka.sasl.passwordKey | quote }}, path: {{ .Values.kafka.sasl.passwordKey | quote }} }]
{{- end }}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret }}
{{- end }}
{{- include "rstwatch.clickhouseVolumes" . }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "rstwatch.clickhouseVolumes" -}}
{{- if .Values.clickhouse.existingSecret }}
- name: clickhouse-password
  secret:
    secretName: {{ .Values.clickhouse.existingSecret }}
    items: [{ key: {{ .Values.clickhouse.passwordKey | quote }}, path: {{ .Values.clickhouse.passwordKey | quote }} }]
{{- end }}
{{- if .Values.clickhouse.tls.existingSecret }}
- name: clickhouse-tls
  secret:
    secretName: {{ .Values.clickhouse.tls.existingSecret }}
{{- end }}
{{- end -}}

{{- define "rstwatch.volumeMounts" -}}
- name: config
  mountPath: /etc/rstwatch/rstwatch.yaml
  subPath: rstwatch.yaml
  readOnly: true
{{- if and (ne .Values.kafka.sasl.mechanism "none") .Values.kafka.sasl.existingSecret }}
- name: kafka-sasl
  mountPath: /etc/rstwatch/secrets/kafka-sasl
  readOnly: true
{{- end }}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  mountPath: /etc/rstwatch/kafka-tls
  readOnly: true
{{- end }}
{{- include "rstwatch.clickhouseVolumeMounts" . }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "rstwatch.clickhouseVolumeMounts" -}}
{{- if .Values.clickhouse.existingSecret }}
- name: clickhouse-password
  mountPath: /etc/rstwatch/secrets/clickhouse
  readOnly: true
{{- end }}
{{- if .Values.clickhouse.tls.existingSecret }}
- name: clickhouse-tls
  mountPath: /etc/rstwatch/clickhouse-tls
  readOnly: true
{{- end }}
{{- end -}}
