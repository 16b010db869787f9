{{/*
The settings every worker (and the preflight Job) shares, as the data of the env ConfigMap.
Nothing secret: SASL credentials come from secretKeyRef, TLS material from a mounted Secret.
*/}}
{{- define "fleet.envData" -}}
{{- $v := .Values -}}
KAFKA_BROKERS: {{ $v.kafka.brokers | quote }}
KAFKA_SECURITY_PROTOCOL: {{ $v.kafka.securityProtocol | quote }}
{{- if hasPrefix "SASL_" $v.kafka.securityProtocol }}
KAFKA_SASL_MECHANISMS: {{ $v.kafka.sasl.mechanism | quote }}
{{- end }}
{{- if $v.kafka.tls.existingSecret }}
KAFKA_SSL_CA_LOCATION: {{ printf "/etc/kafka/tls/%s" $v.kafka.tls.caKey | quote }}
{{- if $v.kafka.tls.clientCertificate.enabled }}
KAFKA_SSL_CERTIFICATE_LOCATION: {{ printf "/etc/kafka/tls/%s" $v.kafka.tls.clientCertificate.certKey | quote }}
KAFKA_SSL_KEY_LOCATION: {{ printf "/etc/kafka/tls/%s" $v.kafka.tls.clientCertificate.keyKey | quote }}
{{- end }}
{{- end }}
{{- range $prefix, $group := dict "KAFKA_" $v.kafka.properties "KAFKA_CONSUMER_" $v.kafka.consumerProperties "KAFKA_PRODUCER_" $v.kafka.producerProperties }}
{{- range $name, $value := $group }}
{{ printf "%s%s" $prefix ($name | replace "_" "__" | replace "." "_" | upper) }}: {{ $value | quote }}
{{- end }}
{{- end }}
TOPIC_PREFIX: {{ $v.topics.prefix | quote }}
HTTP_HOST: "0.0.0.0"
HTTP_PORT: {{ $v.httpPort | quote }}
LOG_FORMAT: {{ $v.logging.format | quote }}
SHUTDOWN_TIMEOUT_MS: {{ $v.shutdown.timeoutMs | quote }}
{{- with (include "fleet.feedbackBaseUrl" .) }}
FEEDBACK_BASE_URL: {{ . | quote }}
FEEDBACK_LINK_TTL: {{ $v.feedback.linkTtl | quote }}
FEEDBACK_PORT: {{ $v.feedback.port | quote }}
{{- end }}
{{- end -}}

{{/*
The public URL of the dispatcher's /feedback path: feedback.baseUrl, else https://<the Ingress
host>/feedback when the feedback Ingress is on, else empty (no feedback buttons). The links' key,
FEEDBACK_SECRET (and, during a rotation, FEEDBACK_SECRET_PREVIOUS), is a key of
webhooks.existingSecret, never a value.
*/}}
{{- define "fleet.feedbackBaseUrl" -}}
{{- $f := .Values.feedback -}}
{{- if $f.baseUrl -}}
{{- $f.baseUrl -}}
{{- else if and $f.ingress.enabled $f.ingress.host -}}
{{- printf "https://%s/feedback" $f.ingress.host -}}
{{- end -}}
{{- end -}}

{{/* Environment entries of a container that come from Secrets. */}}
{{- define "fleet.secretEnv" -}}
{{- $v := .Values -}}
{{- if hasPrefix "SASL_" $v.kafka.securityProtocol }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.usernameKey }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.passwordKey }}
{{- end }}
{{- end -}}

{{/* The restricted Pod Security profile: pod level. */}}
{{- define "fleet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The restricted Pod Security profile: container level. */}}
{{- define "fleet.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Volumes shared by the workers and the preflight Job (besides the config files). */}}
{{- define "fleet.commonVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "fleet.commonVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  mountPath: /etc/kafka/tls
  readOnly: true
{{- end }}
{{- end -}}
