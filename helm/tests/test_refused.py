"""Values the chart must refuse, each with a message that says what is wrong and what to do."""

from __future__ import annotations

import pathlib

import pytest

from conftest import REQUIRED, load_values, merge, render, render_error

VALUES = pathlib.Path(__file__).parent / "values"


def test_a_typo_in_values_fails_naming_the_key():
    message = render_error(load_values(VALUES / "typo-values.yaml"))
    assert "/stages/evaluator" in message and "'replcas' not allowed" in message, message


@pytest.mark.parametrize("values", [
    {"kafka": {"brokers": "k:9092", "securityProtcol": "SASL_SSL"}},
    {"metrics": {"prometheusRule": {"alerts": {"lagGrowing": {"treshold": 5}}}}},
    {"stages": {"dispatcher": {"resources": {"requests": {"cpus": "1"}}}}},
    {"image": {"tags": "1.0"}},
], ids=["kafka", "alert", "resources", "image"])
def test_a_typo_at_any_level_fails(values):
    message = render_error(merge(REQUIRED, values))
    assert "not allowed" in message, message


def test_more_replicas_than_partitions_fails_clearly():
    message = render_error(load_values(VALUES / "too-many-replicas-values.yaml"))
    assert "stages.evaluator.replicas (13) is more than the partitions of its input topic health-scores" in message, message
    assert "topics.partitions.healthScores = 12" in message, message


def test_a_keda_maximum_above_partitions_fails_clearly():
    message = render_error(load_values(VALUES / "keda-above-partitions-values.yaml"))
    assert "stages.dispatcher.autoscaling.maxReplicas (8) is more than the partitions of its input topic alerts" in message, message


def test_the_same_maximum_renders_once_the_partitions_are_raised():
    values = merge(load_values(VALUES / "keda-above-partitions-values.yaml"), {"topics": {"partitions": {"alerts": 8}}})
    render(values)


def test_grace_period_not_above_the_stop_budget_fails():
    message = render_error(merge(REQUIRED, {"shutdown": {"timeoutMs": 25000, "terminationGracePeriodSeconds": 25}}))
    assert "terminationGracePeriodSeconds (25 s) must be above the stop budget shutdown.timeoutMs (25000 ms)" in message, message


def test_missing_brokers_fails_clearly():
    message = render_error({"webhooks": {"existingSecret": "w"}})
    assert "kafka.brokers is required" in message, message


def test_missing_webhook_secret_fails_clearly():
    message = render_error({"kafka": {"brokers": "k:9092"}})
    assert "webhooks.existingSecret is required" in message, message


def test_sasl_without_a_secret_fails_clearly():
    message = render_error(merge(REQUIRED, {"kafka": {"securityProtocol": "SASL_SSL"}}))
    assert "kafka.sasl.existingSecret is required with kafka.securityProtocol=SASL_SSL" in message, message


@pytest.mark.parametrize("group,name", [
    ("properties", "sasl.password"),
    ("properties", "ssl.key.pem"),
    ("consumerProperties", "sasl.oauthbearer.client.secret"),
    ("producerProperties", "sasl.jaas.config"),
])
def test_a_secret_librdkafka_property_is_refused(group, name):
    message = render_error(merge(REQUIRED, {"kafka": {group: {name: "s3cr3t-value"}}}))
    assert f"kafka.{group}.{name} looks like a secret" in message, message
    assert "s3cr3t-value" not in message


def test_a_secret_looking_extra_env_is_refused():
    message = render_error(merge(REQUIRED, {"stages": {"dispatcher": {"extraEnv": {"SLACK_WEBHOOK_X": "x"}}}}))
    assert "stages.dispatcher.extraEnv.SLACK_WEBHOOK_X looks like a secret" in message, message


def test_a_literal_webhook_url_in_the_destinations_file_is_refused():
    destinations = "destinations:\n  team:\n    type: slack\n    url: https://hooks.slack.invalid/services/T0/B0/x\n"
    message = render_error(merge(REQUIRED, {"config": {"destinations": destinations}}))
    assert "literal URL on line 4" in message, message
    assert "hooks.slack.invalid" not in message, "the message must not repeat the URL"


@pytest.mark.parametrize("token", ["fake-literal-token", "xoxb-not-a-real-token"])
def test_a_literal_bot_token_in_the_destinations_file_is_refused(token):
    destinations = f"destinations:\n  team:\n    type: slack_app\n    channel: C0123ABCD\n    token: {token}\n"
    message = render_error(merge(REQUIRED, {"config": {"destinations": destinations}}))
    assert "literal token on line 5" in message, message
    assert token not in message, "the message must not repeat the token"


def test_a_slack_app_destination_with_its_token_from_the_secret_renders():
    destinations = "destinations:\n  team:\n    type: slack_app\n    token: ${SLACK_BOT_TOKEN}\n    channel: C0123ABCD\n"
    render(merge(REQUIRED, {"config": {"destinations": destinations}}))


EMAIL = "destinations:\n  managers:\n    type: email\n    smtp_url: smtp://smtp.example.com:587\n    from: a@example.com\n    to: [b@example.com]\n    username: ${SMTP_USERNAME}\n"


def test_a_literal_smtp_password_in_the_destinations_file_is_refused():
    destinations = EMAIL + "    password: not-a-real-password\n"
    message = render_error(merge(REQUIRED, {"config": {"destinations": destinations}}))
    assert "literal password on line 8" in message, message
    assert "not-a-real-password" not in message, "the message must not repeat the password"


def test_an_email_destination_with_its_password_from_the_secret_renders():
    render(merge(REQUIRED, {"config": {"destinations": EMAIL + "    password: ${SMTP_PASSWORD}\n"}}))


def test_a_url_in_a_comment_of_the_destinations_file_is_fine():
    destinations = "# see https://api.slack.com/messaging/webhooks\ndestinations:\n  team:\n    url: ${SLACK_WEBHOOK_TEAM}\n"
    render(merge(REQUIRED, {"config": {"destinations": destinations}}))


def test_scaling_to_zero_is_refused():
    values = merge(REQUIRED, {"autoscaling": {"mode": "keda"},
                              "stages": {"evaluator": {"autoscaling": {"minReplicas": 0, "maxReplicas": 6, "targetCPUUtilizationPercentage": 70,
                                                                       "lagThreshold": 1, "activationLagThreshold": 0}}}})
    assert "minReplicas" in render_error(values)


def test_a_bad_feedback_lifetime_or_base_url_fails():
    for feedback in ({"linkTtl": "2 weeks"}, {"linkTtl": "0d"}, {"baseUrl": "fleet.example.com/feedback"},
                     {"baseUrl": "https://fleet.example.com/feedback?x=1"}):
        message = render_error(merge(REQUIRED, {"feedback": feedback}))
        assert "feedback" in message, message


def test_the_feedback_secret_is_refused_as_a_plain_value():
    message = render_error(merge(REQUIRED, {"stages": {"dispatcher": {"extraEnv": {"FEEDBACK_SECRET": "not-here"}}}}))
    assert "FEEDBACK_SECRET" in message, message
    assert "not-here" not in message


def test_network_policy_without_a_way_to_kafka_fails_clearly():
    message = render_error(merge(REQUIRED, {"networkPolicy": {"enabled": True}}))
    assert "networkPolicy.kafka.cidrs (or networkPolicy.kafka.namespaceSelector) is required" in message, message


def test_feedback_on_the_health_port_fails_clearly():
    message = render_error(merge(REQUIRED, {"feedback": {"port": 8080}}))
    assert "feedback.port (8080) must differ from httpPort" in message, message


@pytest.mark.parametrize("group,name,value", [
    ("properties", "acks", "1"),
    ("producerProperties", "enable.idempotence", "false"),
    ("consumerProperties", "enable.auto.offset.store", "true"),
    ("consumerProperties", "auto.offset.reset", "latest"),
])
def test_a_pinned_kafka_setting_fails_clearly(group, name, value):
    message = render_error(merge(REQUIRED, {"kafka": {group: {name: value}}}))
    assert f"kafka.{group}.{name} is pinned by the fleet" in message, message
