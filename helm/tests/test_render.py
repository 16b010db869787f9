"""The chart renders with every ci/*.yaml through Helm's engine, and every object validates:
core kinds with kubernetes-validate --strict, the CRD kinds against the cloudcoil models."""

from __future__ import annotations

import functools

import helm_python as helm
import kubernetes_validate.utils as kv
import pytest
from cloudcoil.models.keda import v1alpha1 as keda
from cloudcoil.models.prometheus_operator import v1 as monitoring

from conftest import CHART, CI_VALUES, chart, load_values, strip_meta

KUBERNETES_VERSION = "1.37.0"

# kubernetes-validate reads its JSON schemas from disk on every call; they do not change.
kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)

CRD_MODELS = {
    ("keda.sh/v1alpha1", "ScaledObject"): keda.ScaledObject,
    ("keda.sh/v1alpha1", "TriggerAuthentication"): keda.TriggerAuthentication,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): monitoring.ServiceMonitor,
    ("monitoring.coreos.com/v1", "PrometheusRule"): monitoring.PrometheusRule,
}


def unknown_keys(given, kept, path="") -> list[str]:
    """Keys of `given` that the model dropped (pydantic ignores fields it does not know)."""
    out = []
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            if key not in kept:
                out.append(f"{path}.{key}")
            else:
                out += unknown_keys(value, kept[key], f"{path}.{key}")
    elif isinstance(given, list) and isinstance(kept, list):
        for i, (a, b) in enumerate(zip(given, kept)):
            out += unknown_keys(a, b, f"{path}[{i}]")
    return out


def validate_crd(doc: dict) -> None:
    model = CRD_MODELS[(doc["apiVersion"], doc["kind"])]
    parsed = model.model_validate(doc, strict=True)  # raises on a wrong type or a missing field
    kept = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    unknown = unknown_keys(doc, kept)
    assert not unknown, f'{doc["kind"]}/{doc["metadata"]["name"]}: fields unknown to the CRD schema: {unknown}'


def test_every_ci_values_file_meets_the_schema():
    assert len(CI_VALUES) >= 4, "expected the ci/ values files: defaults, KEDA, SASL_SSL, monitoring"
    for path in CI_VALUES:
        chart().validate_schema(load_values(path))


def test_lint_finds_no_error():
    for path in CI_VALUES:
        report = helm.lint(str(CHART), load_values(path), strict=False)
        errors = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
        assert not errors, f"{path.name}: {errors}"


def test_every_object_validates_strictly(scenario):
    name, _, docs = scenario
    checked = 0
    for doc in docs:
        doc = strip_meta(doc)
        if (doc["apiVersion"], doc["kind"]) in CRD_MODELS:
            validate_crd(doc)
        else:
            try:
                kv.validate(doc, KUBERNETES_VERSION, strict=True)
            except kv.ValidationError as error:
                pytest.fail(f'{name}: {doc["kind"]}/{doc["metadata"]["name"]} at {list(error.path)}: {error.message}')
            except kv.SchemaNotFoundError as error:
                pytest.fail(f"{name}: {error.message}")
        checked += 1
    assert checked >= 15


def test_strict_validation_would_catch_an_unknown_field():
    # The checks above are only worth something if they refuse a bad object.
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
               "spec": {"ports": [{"port": 80, "targetPrt": "http"}]}}
    with pytest.raises(kv.ValidationError):
        kv.validate(service, KUBERNETES_VERSION, strict=True)
    scaled = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "x"},
              "spec": {"scaleTargetRef": {"name": "d"}, "maxReplicaCont": 3, "triggers": [{"type": "kafka", "metadata": {}}]}}
    with pytest.raises(AssertionError, match="maxReplicaCont"):
        validate_crd(scaled)
    scaled["spec"].pop("maxReplicaCont")
    scaled["spec"]["maxReplicaCount"] = "3"
    with pytest.raises(Exception, match="maxReplicaCount"):
        validate_crd(scaled)


def test_the_crd_kinds_are_rendered_and_checked(all_rendered):
    kinds = {d["kind"] for docs in all_rendered.values() for d in docs}
    for _, kind in CRD_MODELS:
        assert kind in kinds, f"no ci values file renders a {kind}"
    assert "HorizontalPodAutoscaler" in kinds and "Ingress" in kinds
