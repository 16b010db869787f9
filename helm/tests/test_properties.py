"""Properties of the rendered objects that an SRE relies on."""

from __future__ import annotations

import json
import re

import yaml

from conftest import (CHART, REQUIRED, ROOT, SECRET_NAME, containers, manifests, merge, of_kind,
                      pod_specs)

STAGES = {"ingest-scorer": "account-events", "evaluator": "health-scores", "dispatcher": "alerts"}
VARIABLE_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
URL = re.compile(r"(?i)https?://|hooks\.slack")


def configmap_env(docs, name):
    return next(d["data"] for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == name)


def container_env(docs, container):
    """The container's environment as the kubelet would build it from env and envFrom configMapRefs."""
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmap_env(docs, source["configMapRef"]["name"]))
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return env


# ---- no secret in any ConfigMap or plain value ----

def test_no_secret_value_in_any_configmap(scenario):
    name, _, docs = scenario
    for cm in of_kind(docs, "ConfigMap"):
        for key, text in cm["data"].items():
            where = f'{name}: ConfigMap {cm["metadata"]["name"]} key {key}'
            if key.endswith(".yaml"):
                if key == "destinations.yaml":
                    check_destinations_file(text, where)
                else:
                    # Rules and scoring files carry playbook links (wiki URLs), never webhooks.
                    assert "hooks.slack" not in text and "${" not in text, where
            elif key.endswith("_LOCATION"):
                # Paths of TLS files (KAFKA_SSL_KEY_LOCATION): the material is in the mounted Secret.
                assert text.startswith("/etc/kafka/tls/"), where
            else:
                assert not SECRET_NAME.search(key), f"{where}: a secret-looking setting in a ConfigMap"
                # KAFKA_BROKERS and FEEDBACK_BASE_URL (the public address of the feedback links) are
                # addresses, not credentials; every other URL is refused.
                assert not URL.search(text) or key in ("KAFKA_BROKERS", "FEEDBACK_BASE_URL"), f"{where}: a URL in a plain setting"


def check_destinations_file(text, where):
    doc = yaml.safe_load(text)
    assert doc["destinations"], where
    for destination, fields in doc["destinations"].items():
        for field in ("url", "signing_secret", "token", "password"):
            if field in fields:
                assert VARIABLE_REFERENCE.match(str(fields[field])), \
                    f"{where}: {destination}.{field} must be a ${{VARIABLE}} reference, not a value"
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert not URL.search(code), f"{where}: a literal URL"


def test_secret_settings_come_only_from_secrets(scenario):
    name, values, docs = scenario
    for obj, spec in pod_specs(docs):
        for c in containers(spec):
            for entry in c.get("env", []):
                if SECRET_NAME.search(entry["name"]):
                    assert "secretKeyRef" in entry.get("valueFrom", {}), f'{name}: {obj} {c["name"]} {entry["name"]} is a plain value'
    if values["kafka"].get("securityProtocol", "").startswith("SASL_"):
        dispatcher = next(d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-dispatcher"))
        env = {e["name"]: e for e in dispatcher["spec"]["template"]["spec"]["containers"][0]["env"]}
        ref = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == values["kafka"]["sasl"]["existingSecret"], name
    # The chart renders no Secret: secrets exist before the install and are referenced by name.
    assert not of_kind(docs, "Secret"), name


def test_tls_material_is_mounted_from_the_existing_secret(all_rendered):
    docs = all_rendered["sasl-ssl-values.yaml"]
    env = configmap_env(docs, "fleet-account-health-fleet-env")
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and env["KAFKA_SASL_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_SSL_CA_LOCATION"] == "/etc/kafka/tls/ca.crt"
    assert env["KAFKA_CLIENT_RACK"] == "eu-west-1a" and env["KAFKA_CONSUMER_SESSION_TIMEOUT_MS"] == "45000"
    for obj, spec in pod_specs(docs):
        volume = next(v for v in spec["volumes"] if v["name"] == "kafka-tls")
        assert volume["secret"]["secretName"] == "fleet-kafka-tls", obj
        for c in containers(spec):
            assert any(m["mountPath"] == "/etc/kafka/tls" for m in c["volumeMounts"]), f'{obj} {c["name"]}'
    auth = of_kind(docs, "TriggerAuthentication")[0]
    params = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    assert params["password"] == ("fleet-kafka-credentials", "password") and params["ca"] == ("fleet-kafka-tls", "ca.crt")
    for so in of_kind(docs, "ScaledObject"):
        trigger = so["spec"]["triggers"][0]
        assert trigger["metadata"]["sasl"] == "scram_sha512" and trigger["metadata"]["tls"] == "enable"
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]


# ---- the restricted Pod Security profile ----

def test_every_container_is_restricted(scenario):
    name, _, docs = scenario
    specs = pod_specs(docs)
    assert len(specs) >= 2
    for obj, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["seccompProfile"]["type"] == "RuntimeDefault", f"{name}: {obj}"
        assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), f"{name}: {obj}"
        allowed_volumes = {"configMap", "secret", "emptyDir", "projected", "downwardAPI"}
        for volume in spec.get("volumes", []):
            assert set(volume) - {"name"} <= allowed_volumes, f"{name}: {obj} volume {volume['name']}"
        assert spec.get("automountServiceAccountToken") is False, f"{name}: {obj}"
        for c in containers(spec):
            where = f'{name}: {obj} container {c["name"]}'
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc.get("privileged", False) is False, where
            assert sc.get("runAsNonRoot", pod["runAsNonRoot"]) is True and sc.get("runAsUser", pod.get("runAsUser", 0)) != 0, where
            assert sc.get("seccompProfile", pod["seccompProfile"])["type"] == "RuntimeDefault", where
            assert not any(p.get("hostPort") for p in c.get("ports", [])), where
            # A read-only root filesystem needs somewhere to write temporary files.
            assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]), where


# ---- stop budget and probes ----

def test_grace_period_is_above_the_stop_budget(scenario):
    name, _, docs = scenario
    for obj, spec in pod_specs(docs):
        if obj.startswith("Job/"):
            continue
        for c in containers(spec):
            budget_ms = int(container_env(docs, c)["SHUTDOWN_TIMEOUT_MS"])
            assert spec["terminationGracePeriodSeconds"] * 1000 > budget_ms, f"{name}: {obj}"


def test_probes_hit_the_port_the_worker_listens_on(scenario):
    name, _, docs = scenario
    deployments = of_kind(docs, "Deployment")
    assert sorted(d["spec"]["template"]["spec"]["containers"][0]["name"] for d in deployments) == sorted(STAGES)
    for d in deployments:
        c = d["spec"]["template"]["spec"]["containers"][0]
        where = f'{name}: {d["metadata"]["name"]}'
        listen = int(container_env(docs, c)["HTTP_PORT"])
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        expected = {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/readyz"}
        for probe, path in expected.items():
            get = c[probe]["httpGet"]
            port = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
            assert port == listen, f"{where}: {probe} on {port}, the worker listens on {listen}"
            assert get["path"] == path, f"{where}: {probe} path {get['path']}"
        startup = c["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 300, f"{where}: the startup probe leaves under 5 min for restore"


def test_probes_follow_a_changed_port():
    docs = manifests(merge(REQUIRED, {"httpPort": 9464, "service": {"port": 80}}))
    assert configmap_env(docs, "fleet-account-health-fleet-env")["HTTP_PORT"] == "9464"
    for d in of_kind(docs, "Deployment"):
        c = d["spec"]["template"]["spec"]["containers"][0]
        assert c["ports"] == [{"name": "http", "containerPort": 9464, "protocol": "TCP"}]
        assert c["livenessProbe"]["httpGet"]["port"] == "http"
    for s in of_kind(docs, "Service"):
        assert s["spec"]["ports"][0]["targetPort"] == "http" and s["spec"]["ports"][0]["port"] == 80


def test_services_and_monitors_select_their_stage(all_rendered):
    docs = all_rendered["monitoring-values.yaml"]
    pods = {d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]: d["spec"]["template"]["metadata"]["labels"]
            for d in of_kind(docs, "Deployment")}
    services = {s["metadata"]["name"]: s for s in of_kind(docs, "Service")}
    for stage, labels in pods.items():
        service = services[f"fleet-account-health-fleet-{stage}"]
        assert service["spec"]["selector"].items() <= labels.items()
        # No other stage's pods match.
        assert all(not service["spec"]["selector"].items() <= other.items() for s, other in pods.items() if s != stage)
        monitor = next(m for m in of_kind(docs, "ServiceMonitor") if m["metadata"]["name"].endswith(stage))
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
        assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    ingress = of_kind(docs, "Ingress")[0]
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    assert [p["path"] for p in paths] == ["/feedback"], "the Ingress must expose the feedback links only"


# ---- scaling and the partition cap ----

def rendered_catalog(docs):
    files = next(d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].endswith("-preflight-files"))
    return {t["name"]: t for t in yaml.safe_load(files["data"]["topics.yaml"])["topics"]}


def test_no_stage_can_outgrow_its_input_partitions(scenario):
    name, values, docs = scenario
    catalog = rendered_catalog(docs)
    caps = {stage: catalog[topic]["partitions"] for stage, topic in STAGES.items()}
    checked = 0
    for d in of_kind(docs, "Deployment"):
        stage = d["metadata"]["labels"]["app.kubernetes.io/component"]
        if "replicas" in d["spec"]:
            assert d["spec"]["replicas"] <= caps[stage], f"{name}: {stage}"
            checked += 1
    for so in of_kind(docs, "ScaledObject"):
        stage = so["metadata"]["labels"]["app.kubernetes.io/component"]
        assert 1 <= so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"] <= caps[stage], f"{name}: {stage}"
        trigger = so["spec"]["triggers"][0]
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["topic"] == values.get("topics", {}).get("prefix", "") + STAGES[stage]
        assert trigger["metadata"]["consumerGroup"] == stage and trigger["metadata"]["allowIdleConsumers"] == "false"
        checked += 1
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        stage = hpa["metadata"]["labels"]["app.kubernetes.io/component"]
        assert hpa["spec"]["maxReplicas"] <= caps[stage], f"{name}: {stage}"
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        checked += 1
    assert checked == 3, f"{name}: each stage is capped once (replicas, ScaledObject or HPA)"
    # A Deployment under an autoscaler leaves replicas to it.
    if of_kind(docs, "ScaledObject") or of_kind(docs, "HorizontalPodAutoscaler"):
        assert all("replicas" not in d["spec"] for d in of_kind(docs, "Deployment")), name


def test_partitions_in_values_reach_the_catalog_and_its_mirrors(all_rendered):
    catalog = rendered_catalog(all_rendered["keda-values.yaml"])
    assert catalog["account-events"]["partitions"] == 24 and catalog["ingest-scorer-state"]["partitions"] == 24
    assert catalog["alerts"]["partitions"] == 6
    for mirror in ("alerts-retry-1", "alerts-retry-2", "alerts-retry-3", "alerts-delivered"):
        assert catalog[mirror]["partitions"] == 6, mirror
    assert catalog["alerts-dlt"]["partitions"] == 3, "topics that mirror no input keep their count"


def test_default_partitions_match_the_topic_catalog():
    source = {t["name"]: t for t in yaml.safe_load((ROOT / "topics" / "topics.yaml").read_text())["topics"]}
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["topics"]["partitions"]
    assert defaults == {"accountEvents": source["account-events"]["partitions"],
                        "healthScores": source["health-scores"]["partitions"],
                        "alerts": source["alerts"]["partitions"]}


def test_pdb_per_stage(scenario):
    name, _, docs = scenario
    pdbs = of_kind(docs, "PodDisruptionBudget")
    assert sorted(p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] for p in pdbs) == sorted(STAGES), name


# ---- configuration files and rollouts ----

def test_the_chart_ships_the_repository_files_unchanged():
    for source, copy in (("config/scoring.yaml", "scoring.yaml"), ("config/rules.yaml", "rules.yaml"), ("topics/topics.yaml", "topics.yaml")):
        assert (ROOT / source).read_text() == (CHART / "files" / copy).read_text(), \
            f"helm/account-health-fleet/files/{copy} differs from {source}: copy it again"


def test_the_default_destinations_cover_every_routed_destination():
    rules = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text())
    routed = {r["destination"] for r in rules["routes"]}
    shipped = set(yaml.safe_load((CHART / "files" / "destinations.yaml").read_text())["destinations"])
    assert routed <= shipped, f"destinations routed by config/rules.yaml but not in the chart's file: {routed - shipped}"


def test_configmaps_hold_the_files_byte_for_byte(all_rendered):
    docs = all_rendered["default-values.yaml"]
    for stage, file in (("ingest-scorer", "scoring.yaml"), ("evaluator", "rules.yaml"), ("dispatcher", "destinations.yaml")):
        cm = configmap_env(docs, f"fleet-account-health-fleet-{stage}-config")
        assert cm[file] == (CHART / "files" / file).read_text().rstrip("\n"), file


def test_a_changed_file_rolls_only_its_stage():
    before = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"] for d in of_kind(manifests(REQUIRED), "Deployment")}
    rules = (CHART / "files" / "rules.yaml").read_text().replace("cooldown: 12h", "cooldown: 6h")
    after = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"]
             for d in of_kind(manifests(merge(REQUIRED, {"config": {"rules": rules}})), "Deployment")}
    changed = {name for name in before if before[name]["checksum/config"] != after[name]["checksum/config"]}
    # The rules file holds the team's quiet hours and digests too, which the dispatcher applies.
    assert changed == {"fleet-account-health-fleet-evaluator", "fleet-account-health-fleet-dispatcher"}
    env_changed = of_kind(manifests(merge(REQUIRED, {"logging": {"format": "text"}})), "Deployment")
    assert all(d["spec"]["template"]["metadata"]["annotations"]["checksum/env"] != before[d["metadata"]["name"]]["checksum/env"]
               for d in env_changed), "a changed shared setting must roll every stage"


def test_each_stage_reads_its_file_from_its_configmap(scenario):
    name, _, docs = scenario
    file_env = {"ingest-scorer": "SCORING_FILE", "evaluator": "RULES_FILE", "dispatcher": "DESTINATIONS_FILE"}
    for d in of_kind(docs, "Deployment"):
        spec = d["spec"]["template"]["spec"]
        c = spec["containers"][0]
        path = container_env(docs, c)[file_env[c["name"]]]
        mount = next(m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
        volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
        data = configmap_env(docs, volume["configMap"]["name"])
        assert path.rsplit("/", 1)[1] in data, f"{name}: {c['name']} reads {path}, absent from its ConfigMap"
        if c["name"] == "dispatcher":
            rules = container_env(docs, c)["RULES_FILE"]
            assert rules.rsplit("/", 1)[1] in data, f"{name}: the dispatcher reads quiet hours and digests from {rules}, absent from its ConfigMap"


def test_dispatcher_gets_the_webhook_secret_and_nobody_else(scenario):
    name, values, docs = scenario
    secret = values["webhooks"]["existingSecret"]
    for obj, spec in pod_specs(docs):
        for c in containers(spec):
            refs = [s["secretRef"]["name"] for s in c.get("envFrom", []) if "secretRef" in s]
            wants = c["name"] in ("dispatcher", "check-dispatcher")
            assert refs == ([secret] if wants else []), f"{name}: {obj} {c['name']} {refs}"


# ---- feedback links ----

def env_configmap(docs):
    return next(d["data"] for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].endswith("-env"))


def test_feedback_is_off_by_default():
    env = env_configmap(manifests(REQUIRED))
    assert "FEEDBACK_BASE_URL" not in env and "FEEDBACK_LINK_TTL" not in env


def test_feedback_base_url_and_lifetime_reach_the_dispatcher():
    docs = manifests(merge(REQUIRED, {"feedback": {"baseUrl": "https://fleet.example.com/feedback", "linkTtl": "7d"}}))
    dispatcher = next(c for _, spec in pod_specs(docs) for c in containers(spec) if c["name"] == "dispatcher")
    env = container_env(docs, dispatcher)
    assert env["FEEDBACK_BASE_URL"] == "https://fleet.example.com/feedback"
    assert env["FEEDBACK_LINK_TTL"] == "7d"
    # The key comes only from the webhook Secret (envFrom), never as a value.
    assert "FEEDBACK_SECRET" not in env


def test_feedback_base_url_follows_the_ingress(all_rendered):
    docs = all_rendered["monitoring-values.yaml"]
    ingress = of_kind(docs, "Ingress")[0]
    host = ingress["spec"]["rules"][0]["host"]
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]["path"]
    assert env_configmap(docs)["FEEDBACK_BASE_URL"] == f"https://{host}{path}"


FEEDBACK_ON = {"feedback": {"baseUrl": "https://fleet.example.com/feedback"}}


def test_feedback_has_its_own_port_and_service(all_rendered):
    """Issue 22: the feedback links on a listener of their own; the Service and Ingress that reach
    them expose that port and nothing else (never /metrics or the probes)."""
    docs = all_rendered["monitoring-values.yaml"]
    env = env_configmap(docs)
    assert env["FEEDBACK_PORT"] == "8081" and env["HTTP_PORT"] == "8080"
    dispatcher = next(d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-dispatcher"))
    ports = {p["name"]: p["containerPort"] for p in dispatcher["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert ports == {"http": 8080, "feedback": 8081}
    service = next(s for s in of_kind(docs, "Service") if s["metadata"]["name"] == "fleet-account-health-fleet-feedback")
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [("feedback", 8081, "feedback")]
    assert service["spec"]["selector"].items() <= dispatcher["spec"]["template"]["metadata"]["labels"].items()
    backend = of_kind(docs, "Ingress")[0]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "fleet-account-health-fleet-feedback", "port": {"name": "feedback"}}
    # The other stages listen on http only.
    for d in of_kind(docs, "Deployment"):
        if d is not dispatcher:
            assert [p["name"] for p in d["spec"]["template"]["spec"]["containers"][0]["ports"]] == ["http"]


def test_feedback_port_follows_its_value_and_is_absent_while_feedback_is_off():
    docs = manifests(merge(REQUIRED, merge(FEEDBACK_ON, {"feedback": {"port": 9100}})))
    assert env_configmap(docs)["FEEDBACK_PORT"] == "9100"
    service = next(s for s in of_kind(docs, "Service") if s["metadata"]["name"].endswith("-feedback"))
    assert service["spec"]["ports"][0]["port"] == 9100
    off = manifests(REQUIRED)
    assert "FEEDBACK_PORT" not in env_configmap(off)
    assert not [s for s in of_kind(off, "Service") if s["metadata"]["name"].endswith("-feedback")]


# ---- network policies ----

def policies(docs):
    return {p["metadata"]["labels"]["app.kubernetes.io/component"]: p for p in of_kind(docs, "NetworkPolicy")}


def egress_ports(policy):
    return sorted({(port["port"], port["protocol"]) for rule in policy["spec"]["egress"] for port in rule.get("ports", [])})


def test_network_policies_are_off_by_default(scenario):
    name, values, docs = scenario
    expected = 3 if values.get("networkPolicy", {}).get("enabled") else 0
    assert len(of_kind(docs, "NetworkPolicy")) == expected, name


def test_network_policies_admit_metrics_from_monitoring_and_feedback_from_the_ingress(all_rendered):
    docs = all_rendered["monitoring-values.yaml"]
    pods = {d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]: d["spec"]["template"]["metadata"]["labels"]
            for d in of_kind(docs, "Deployment")}
    for stage, policy in policies(docs).items():
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        # Each policy selects its stage's pods and no other stage's.
        assert all((spec["podSelector"]["matchLabels"].items() <= labels.items()) == (s == stage) for s, labels in pods.items())
        rules = {tuple(p["port"] for p in rule["ports"]): rule["from"] for rule in spec["ingress"]}
        assert rules[("http",)] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
        if stage == "dispatcher":
            assert set(rules) == {("http",), ("feedback",)}
            assert rules[("feedback",)] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
        else:
            assert set(rules) == {("http",)}


def test_network_policies_let_out_only_dns_kafka_and_slack(all_rendered):
    docs = all_rendered["monitoring-values.yaml"]
    for stage, policy in policies(docs).items():
        expected = [(53, "TCP"), (53, "UDP"), (9092, "TCP"), (9093, "TCP")] + ([(443, "TCP")] if stage == "dispatcher" else [])
        assert egress_ports(policy) == sorted(expected), stage
        kafka = next(rule for rule in policy["spec"]["egress"] if {"port": 9092, "protocol": "TCP"} in rule["ports"])
        assert kafka["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}},
                               {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kafka"}}}]


def test_network_policy_without_a_feedback_port_or_with_extra_rules():
    values = merge(REQUIRED, {"networkPolicy": {"enabled": True, "kafka": {"cidrs": ["10.0.0.0/8"]},
                                                "extraEgress": [{"to": [{"ipBlock": {"cidr": "169.254.20.10/32"}}],
                                                                 "ports": [{"port": 53, "protocol": "UDP"}]}]}})
    dispatcher = policies(manifests(values))["dispatcher"]
    # Feedback off: no port is open to the ingress controller.
    assert [[p["port"] for p in rule["ports"]] for rule in dispatcher["spec"]["ingress"]] == [["http"]]
    assert dispatcher["spec"]["egress"][-1]["to"] == [{"ipBlock": {"cidr": "169.254.20.10/32"}}]


# ---- the preflight Job ----

def test_preflight_checks_every_stage_then_applies_topics(scenario):
    name, values, docs = scenario
    job = of_kind(docs, "Job")[0]
    hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
    assert sorted(hooks) == ["pre-install", "pre-upgrade"]
    spec = job["spec"]["template"]["spec"]
    steps = [c["command"] for c in containers(spec)]
    assert steps[:3] == [[f"/usr/local/bin/{s}", "--check-config"] for s in STAGES], f"{name}: {steps}"
    assert steps[3][:4] == ["/usr/local/bin/fleet-admin", "topics", "apply", "--file"], f"{name}: {steps}"
    assert spec["restartPolicy"] == "Never" and job["spec"]["activeDeadlineSeconds"] > 0
    # Its files exist before it runs: a hook ConfigMap with a lower weight.
    files = next(d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == spec["volumes"][0]["configMap"]["name"])
    assert int(files["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert set(files["data"]) == {"scoring.yaml", "rules.yaml", "destinations.yaml", "topics.yaml"}


def test_commands_name_binaries_the_image_installs(all_rendered):
    dockerfile = (ROOT / "Dockerfile").read_text()
    products = set(re.search(r'ARG PRODUCTS="([^"]+)"', dockerfile).group(1).split())
    for docs in all_rendered.values():
        for obj, spec in pod_specs(docs):
            for c in containers(spec):
                binary = c["command"][0]
                assert binary.startswith("/usr/local/bin/") and binary.rsplit("/", 1)[1] in products, f"{obj}: {binary}"


# ---- the alerts ----

def test_prometheus_rules_cover_the_oncall_needs_and_are_documented(all_rendered):
    rule = of_kind(all_rendered["monitoring-values.yaml"], "PrometheusRule")[0]
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert set(alerts) == {"FleetConsumerLagGrowing", "FleetDeadLettersGrowing", "FleetDeliveriesFailing", "FleetDestinationArchived",
                           "FleetRestoreStuck", "FleetPodsRestarting", "FleetWorkerDown", "FleetAlertSLABreached"}
    runbook = (ROOT / "docs" / "operations.md").read_text()
    metrics = {"fleet_consumer_lag", "fleet_records_dead_lettered_total", "fleet_deliveries_total", "kube_pod_status_ready",
               "kube_pod_container_status_restarts_total", "up", "fleet_evaluator_sla_breaches_total"}
    for alert, r in alerts.items():
        expr = r["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), alert
        used = set(re.findall(r"\b([a-z_]+)\{", expr))
        assert used and used <= metrics, f"{alert} uses {used - metrics}"
        assert 'namespace="fleet"' in expr, f"{alert} must be scoped to the release's namespace"
        assert f"### {alert}" in runbook, f"docs/operations.md has no section for {alert}"
        assert r["labels"]["severity"] in ("critical", "warning", "info")
        assert r["annotations"]["runbook_url"].endswith("#" + alert.lower())
    for metric in metrics - {"up"}:
        assert metric in runbook, f"docs/operations.md does not document {metric}"


def test_the_sla_alert_watches_the_priorities_given():
    values = merge(REQUIRED, {"metrics": {"prometheusRule": {"enabled": True, "alerts": {"slaBreached": {
        "enabled": True, "for": "0m", "severity": "critical", "threshold": 2, "priorities": "P1"}}}}})
    rule = of_kind(manifests(values), "PrometheusRule")[0]
    alert = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}["FleetAlertSLABreached"]
    assert 'priority=~"P1"' in alert["expr"] and alert["expr"].rstrip().endswith("> 2")
    assert alert["labels"]["severity"] == "critical"


def test_disabled_alerts_are_left_out():
    values = merge(REQUIRED, {"metrics": {"prometheusRule": {"enabled": True, "alerts": {"workerDown": {"enabled": False, "for": "5m", "severity": "critical"}}}}})
    rule = of_kind(manifests(values), "PrometheusRule")[0]
    names = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert "FleetWorkerDown" not in names and "FleetConsumerLagGrowing" in names


# ---- the schema itself ----

def test_schema_refuses_unknown_keys_at_every_level():
    schema = json.loads((CHART / "values.schema.json").read_text())
    loose = []

    def walk(node, path):
        if isinstance(node, dict):
            if node.get("type") == "object":
                extra = node.get("additionalProperties", True)
                if "properties" in node and extra is not False:
                    loose.append(path)
                if "properties" not in node and not (isinstance(extra, dict) and extra.get("type") == "string"):
                    loose.append(path)  # a free-form map must at least hold only strings
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    walk(schema, "")
    # Kubernetes' own affinity objects go into the pod spec as they are; the API server validates
    # them against its schema, which this chart does not copy.
    passed_through = {f"/definitions/affinity/properties/{k}" for k in ("nodeAffinity", "podAffinity", "podAntiAffinity")}
    loose = [path for path in loose if path not in passed_through]
    assert not loose, f"objects that accept unknown keys: {loose}"


def test_every_default_value_is_described_by_the_schema():
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())

    def resolve(node):
        return schema["definitions"][node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node

    def walk(value, node, path):
        node = resolve(node)
        if isinstance(value, dict) and "properties" in node:
            for key, sub in value.items():
                assert key in node["properties"], f"{path}.{key} is in values.yaml but not in the schema"
                walk(sub, node["properties"][key], f"{path}.{key}")

    walk(defaults, schema, "")


def test_no_real_looking_webhook_url_in_the_chart_or_docs():
    pattern = re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+")
    files = list(CHART.rglob("*")) + [ROOT / "docs" / "operations.md", ROOT / "Dockerfile"]
    for path in files:
        if path.is_file():
            assert not pattern.search(path.read_text(errors="replace")), f"{path}: a real-looking Slack webhook URL"
