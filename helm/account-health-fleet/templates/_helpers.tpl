{{/*
Names, labels, the stages' fixed facts, and the checks that refuse a bad values file with a clear
message (schema checks are in values.schema.json; these are the ones that compare values).
*/}}

{{- define "fleet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fleet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "fleet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "fleet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: account-health-fleet
{{- range $k, $v := .Values.commonLabels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* Selector labels of one stage: (dict "root" $ "stage" "ingest-scorer") */}}
{{- define "fleet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fleet.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .stage }}
{{- end -}}

{{- define "fleet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fleet.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "fleet.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The stages' fixed facts, in pipeline order: executable, input topic (its partitions key), the file
it reads and the variable that names it.
*/}}
{{- define "fleet.stages" -}}
- key: ingestScorer
  name: ingest-scorer
  input: account-events
  partitionsKey: accountEvents
  file: scoring.yaml
  fileValue: scoring
  fileEnv: SCORING_FILE
- key: evaluator
  name: evaluator
  input: health-scores
  partitionsKey: healthScores
  file: rules.yaml
  fileValue: rules
  fileEnv: RULES_FILE
- key: dispatcher
  name: dispatcher
  input: alerts
  partitionsKey: alerts
  file: destinations.yaml
  fileValue: destinations
  fileEnv: DESTINATIONS_FILE
{{- end -}}

{{/* The enabled stages as a list of dicts: fromYamlArray of the above, filtered. */}}
{{- define "fleet.enabledStages" -}}
{{- $out := list -}}
{{- range (include "fleet.stages" . | fromYamlArray) -}}
{{- if (index $.Values.stages .key).enabled -}}
{{- $out = append $out . -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Where the stages' files are mounted. */}}
{{- define "fleet.configDir" -}}/etc/account-health-fleet{{- end -}}

{{/* A stage's file content: the values' override or the chart's default. (dict "root" $ "stage" $s) */}}
{{- define "fleet.fileContent" -}}
{{- $override := index .root.Values.config .stage.fileValue -}}
{{- if $override -}}
{{- $override -}}
{{- else -}}
{{- .root.Files.Get (printf "files/%s" .stage.file) -}}
{{- end -}}
{{- end -}}

{{/*
The topic catalog the preflight Job applies: files/topics.yaml with the inputs' partitions from
topics.partitions, and the same count on every topic that mirrors an input (partitioned_like).
*/}}
{{- define "fleet.topicCatalog" -}}
{{- $catalog := .Files.Get "files/topics.yaml" | fromYaml -}}
{{- $wanted := dict "account-events" .Values.topics.partitions.accountEvents "health-scores" .Values.topics.partitions.healthScores "alerts" .Values.topics.partitions.alerts -}}
{{- range $catalog.topics -}}
{{- if hasKey $wanted .name -}}
{{- $_ := set . "partitions" (index $wanted .name) -}}
{{- else if and .partitioned_like (hasKey $wanted .partitioned_like) -}}
{{- $_ := set . "partitions" (index $wanted .partitioned_like) -}}
{{- end -}}
{{- end -}}
# Rendered by the account-health-fleet chart from topics/topics.yaml with the partitions of
# values topics.partitions. Applied by the preflight Job: fleet-admin topics apply.
{{ toYaml $catalog }}
{{- end -}}

{{/* Property names that hold secrets: refused in plain settings (ConfigMaps, env values). */}}
{{- define "fleet.secretPattern" -}}(?i)(passw|secret|token|jaas|credential|private|(^|[._])key($|[._])|apikey|api_key|webhook){{- end -}}

{{/*
Checks across values that a JSON schema cannot express. Each failure names the value and what to do.
*/}}
{{- define "fleet.validate" -}}
{{- $v := .Values -}}
{{- if not $v.kafka.brokers -}}
{{- fail "kafka.brokers is required: set it to the bootstrap servers, e.g. --set kafka.brokers=kafka-bootstrap.kafka:9092" -}}
{{- end -}}
{{- $strimziAuth := include "fleet.strimziAuth" . -}}
{{- if $v.strimzi.enabled -}}
{{- if not $v.strimzi.clusterName -}}
{{- fail "strimzi.clusterName is required when strimzi.enabled is true: the name of the Kafka resource (its strimzi.io/cluster label)" -}}
{{- end -}}
{{- if and $v.strimzi.topics $v.topics.apply -}}
{{- fail "strimzi.topics renders KafkaTopic resources, so the Topic Operator owns the topics: set topics.apply to false (the preflight Job would create them too)" -}}
{{- end -}}
{{- if and (eq $strimziAuth "scram-sha-512") (not (and (hasPrefix "SASL_" $v.kafka.securityProtocol) (eq $v.kafka.sasl.mechanism "SCRAM-SHA-512"))) -}}
{{- fail (printf "strimzi.users.authentication scram-sha-512 needs kafka.securityProtocol SASL_SSL (or SASL_PLAINTEXT) and kafka.sasl.mechanism SCRAM-SHA-512 (now %s, %s)" $v.kafka.securityProtocol $v.kafka.sasl.mechanism) -}}
{{- end -}}
{{- if and (eq $strimziAuth "tls") (ne $v.kafka.securityProtocol "SSL") -}}
{{- fail (printf "strimzi.users.authentication tls needs kafka.securityProtocol SSL (now %s)" $v.kafka.securityProtocol) -}}
{{- end -}}
{{- end -}}
{{- if and (hasPrefix "SASL_" $v.kafka.securityProtocol) (not $strimziAuth) -}}
{{- if not $v.kafka.sasl.existingSecret -}}
{{- fail (printf "kafka.sasl.existingSecret is required with kafka.securityProtocol=%s: name a Secret holding the keys %q and %q (credentials are never taken as values)" $v.kafka.securityProtocol $v.kafka.sasl.usernameKey $v.kafka.sasl.passwordKey) -}}
{{- end -}}
{{- end -}}
{{- if and $v.kafka.tls.existingSecret (not (has $v.kafka.securityProtocol (list "SSL" "SASL_SSL"))) -}}
{{- fail (printf "kafka.tls.existingSecret is set but kafka.securityProtocol is %s: use SSL or SASL_SSL, or unset the TLS secret" $v.kafka.securityProtocol) -}}
{{- end -}}
{{- if and $v.kafka.tls.clientCertificate.enabled (not $v.kafka.tls.existingSecret) -}}
{{- fail "kafka.tls.clientCertificate.enabled needs kafka.tls.existingSecret (the Secret holding the client certificate and key)" -}}
{{- end -}}
{{- $secretPattern := include "fleet.secretPattern" . -}}
{{- range $group := list "properties" "consumerProperties" "producerProperties" -}}
{{- range $name, $value := index $v.kafka $group -}}
{{- if regexMatch $secretPattern $name -}}
{{- fail (printf "kafka.%s.%s looks like a secret and would be written to a ConfigMap: use kafka.sasl.existingSecret / kafka.tls.existingSecret instead" $group $name) -}}
{{- end -}}
{{- if has $name (list "bootstrap.servers" "security.protocol" "sasl.mechanisms" "sasl.mechanism" "group.id") -}}
{{- fail (printf "kafka.%s.%s is set by the chart: use the matching kafka.* or stages.*.groupId value" $group $name) -}}
{{- end -}}
{{- if has $name (list "acks" "request.required.acks" "enable.idempotence" "enable.auto.offset.store" "enable.auto.commit" "auto.offset.reset") -}}
{{- fail (printf "kafka.%s.%s is pinned by the fleet (its at-least-once design relies on it) and the workers refuse to start when it is set: remove it (docs/operations.md, Settings that matter)" $group $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $grace := int $v.shutdown.terminationGracePeriodSeconds -}}
{{- $budget := int $v.shutdown.timeoutMs -}}
{{- if le (mul $grace 1000) $budget -}}
{{- fail (printf "shutdown.terminationGracePeriodSeconds (%d s) must be above the stop budget shutdown.timeoutMs (%d ms), or Kubernetes kills workers before they commit; e.g. %d" $grace $budget (add (div $budget 1000) 10)) -}}
{{- end -}}
{{- $anyStage := false -}}
{{- range (include "fleet.stages" . | fromYamlArray) -}}
{{- $s := index $v.stages .key -}}
{{- if $s.enabled -}}
{{- $anyStage = true -}}
{{- $parts := int (index $v.topics.partitions .partitionsKey) -}}
{{- $a := $s.autoscaling -}}
{{- if and (eq $v.autoscaling.mode "none") (gt (int $s.replicas) $parts) -}}
{{- fail (printf "stages.%s.replicas (%d) is more than the partitions of its input topic %s (topics.partitions.%s = %d): the extra consumers would sit idle. Lower the replicas or raise the partitions (see the runbook, Scaling)" .key (int $s.replicas) .input .partitionsKey $parts) -}}
{{- end -}}
{{- if and (ne $v.autoscaling.mode "none") (gt (int $a.maxReplicas) $parts) -}}
{{- fail (printf "stages.%s.autoscaling.maxReplicas (%d) is more than the partitions of its input topic %s (topics.partitions.%s = %d): the extra consumers would sit idle. Lower maxReplicas or raise the partitions (see the runbook, Scaling)" .key (int $a.maxReplicas) .input .partitionsKey $parts) -}}
{{- end -}}
{{- if and (ne $v.autoscaling.mode "none") (gt (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- fail (printf "stages.%s.autoscaling.minReplicas (%d) is above maxReplicas (%d)" .key (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- end -}}
{{- $key := .key -}}
{{- range $name, $value := $s.extraEnv -}}
{{- if regexMatch $secretPattern $name -}}
{{- fail (printf "stages.%s.extraEnv.%s looks like a secret and would be rendered as a plain value: put it in a Secret (webhooks.existingSecret for the dispatcher)" $key $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $anyStage -}}
{{- fail "every stage is disabled: enable at least one of stages.ingestScorer, stages.evaluator, stages.dispatcher" -}}
{{- end -}}
{{- if $v.stages.dispatcher.enabled -}}
{{- if not $v.webhooks.existingSecret -}}
{{- fail "webhooks.existingSecret is required while the dispatcher is enabled: name the Secret whose keys are the ${VARIABLES} of the destinations file (e.g. SLACK_WEBHOOK_CUSTOMER_HEALTH); webhook URLs are never taken as values" -}}
{{- end -}}
{{- $dest := include "fleet.fileContent" (dict "root" . "stage" (dict "file" "destinations.yaml" "fileValue" "destinations")) -}}
{{- range $i, $line := splitList "\n" $dest -}}
{{- $code := regexReplaceAll "#.*$" $line "" -}}
{{- if regexMatch "(?i)(https?://|hooks\\.slack)" $code -}}
{{- fail (printf "the destinations file has a literal URL on line %d: webhook URLs are secrets, write url: ${SOME_VARIABLE} and put the URL in the Secret webhooks.existingSecret" (add1 $i)) -}}
{{- end -}}
{{- if or (regexMatch "(?i)xox[a-z]-" $code) (regexMatch "^\\s*token\\s*:\\s*[^$\\s]" $code) -}}
{{- fail (printf "the destinations file has a literal token on line %d: a Slack app's bot token is a secret, write token: ${SLACK_BOT_TOKEN} and put the token in the Secret webhooks.existingSecret" (add1 $i)) -}}
{{- end -}}
{{- if regexMatch "^\\s*password\\s*:\\s*[^$\\s]" $code -}}
{{- fail (printf "the destinations file has a literal password on line %d: an email destination's SMTP password is a secret, write password: ${SMTP_PASSWORD} and put it in the Secret webhooks.existingSecret" (add1 $i)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $v.feedback.ingress.enabled (not $v.stages.dispatcher.enabled) -}}
{{- fail "feedback.ingress.enabled needs the dispatcher (stages.dispatcher.enabled)" -}}
{{- end -}}
{{- if and $v.feedback.ingress.enabled (not $v.feedback.ingress.host) -}}
{{- fail "feedback.ingress.host is required when feedback.ingress.enabled is true" -}}
{{- end -}}
{{- if eq (int $v.feedback.port) (int $v.httpPort) -}}
{{- fail (printf "feedback.port (%d) must differ from httpPort: the feedback links have a listener of their own, apart from the probes and metrics" (int $v.feedback.port)) -}}
{{- end -}}
{{- if and $v.networkPolicy.enabled (not $v.networkPolicy.kafka.cidrs) (not $v.networkPolicy.kafka.namespaceSelector) -}}
{{- fail "networkPolicy.kafka.cidrs (or networkPolicy.kafka.namespaceSelector) is required when networkPolicy.enabled is true: the stages must reach the brokers" -}}
{{- end -}}
{{- end -}}

{{/* A stage's KafkaUser (and the Secret the User Operator writes): <fullname>-<stage>. (dict "root" $ "stage" name) */}}
{{- define "fleet.kafkaUser" -}}
{{- printf "%s-%s" (include "fleet.fullname" .root) .stage | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The scheduling and security fields of a pod spec: the top-level values, each replaced by the
stage's own when set (the security contexts are merged: chart's restricted profile, then the
top-level values, then the stage's). (dict "root" $ "stage" $s); the preflight Job passes (dict).
*/}}
{{- define "fleet.podScheduling" -}}
{{- $v := .root.Values -}}
{{- $s := .stage -}}
securityContext:
  {{- toYaml (mergeOverwrite (include "fleet.podSecurityContext" .root | fromYaml) (deepCopy $v.podSecurityContext) (deepCopy (default (dict) $s.podSecurityContext))) | nindent 2 }}
{{- with (default $v.priorityClassName $s.priorityClassName) }}
priorityClassName: {{ . }}
{{- end }}
{{- with (default $v.nodeSelector $s.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.affinity $s.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.tolerations $s.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A container's security context: the restricted profile with the values merged over it. (dict "root" $ "stage" $s) */}}
{{- define "fleet.containerSecurityContextFor" -}}
{{- toYaml (mergeOverwrite (include "fleet.containerSecurityContext" .root | fromYaml) (deepCopy .root.Values.securityContext) (deepCopy (default (dict) .stage.securityContext))) -}}
{{- end -}}

{{/* The extra envFrom entries of a container: the top-level ones, then the stage's. (dict "root" $ "stage" $s) */}}
{{- define "fleet.extraEnvFrom" -}}
{{- with (concat .root.Values.extraEnvFrom (default (list) .stage.extraEnvFrom)) -}}
{{- toYaml . -}}
{{- end -}}
{{- end -}}

{{/*
A stage's Kafka credentials as its own Strimzi KafkaUser (strimzi.users with scram-sha-512): the
user's name, and the password from the Secret the User Operator writes. (dict "root" $ "stage" name)
*/}}
{{- define "fleet.strimziUserEnv" -}}
{{- $user := include "fleet.kafkaUser" . -}}
- name: KAFKA_SASL_USERNAME
  value: {{ $user | quote }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $user }}
      key: password
{{- end -}}

{{/* Whether the stages connect as their Strimzi KafkaUsers: "scram-sha-512", "tls" or "". */}}
{{- define "fleet.strimziAuth" -}}
{{- if and .Values.strimzi.enabled .Values.strimzi.users.enabled -}}
{{- .Values.strimzi.users.authentication -}}
{{- end -}}
{{- end -}}
