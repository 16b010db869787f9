"""Rendering helpers for the chart tests: Helm's own engine (helm-python-sdk), offline."""

from __future__ import annotations

import copy
import functools
import pathlib
import re

import helm_python as helm
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "account-health-fleet"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
RELEASE = "fleet"
NAMESPACE = "fleet"

# The smallest values that render (the two settings without a default).
REQUIRED = {"kafka": {"brokers": "kafka-bootstrap.kafka.svc:9092"}, "webhooks": {"existingSecret": "fleet-webhooks"}}

# Names of settings that hold secrets (the chart's own pattern, fleet.secretPattern, is the same idea).
SECRET_NAME = re.compile(r"(?i)(passw|secret|token|jaas|credential|private|(^|[._])key($|[._])|apikey|api_key|webhook)")


@functools.lru_cache(maxsize=1)
def chart() -> helm.Chart:
    return helm.Chart.load(str(CHART))


def merge(base: dict, override: dict) -> dict:
    """Helm's coalescing of values files: maps merge, everything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_values(path: pathlib.Path) -> dict:
    return helm.values_from_yaml(path.read_text())


def render(values: dict) -> dict[str, str]:
    """Renders the chart as `helm template` would (the schema is enforced): template path -> text."""
    return chart().render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def manifests(values: dict) -> list[dict]:
    """The rendered Kubernetes objects (NOTES.txt left out)."""
    docs = []
    for path, text in sorted(render(values).items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc.setdefault("__template__", path)
                docs.append(doc)
    return docs


def strip_meta(doc: dict) -> dict:
    doc = dict(doc)
    doc.pop("__template__", None)
    return doc


def render_error(values: dict) -> str:
    """The message Helm fails with for these values; the test fails if they render."""
    try:
        render(values)
    except helm.HelmError as error:
        return str(error)
    pytest.fail("the chart rendered values it should refuse")


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def pod_specs(docs: list[dict]) -> list[tuple[str, dict]]:
    """(object name, pod spec) of every Deployment and Job."""
    return [(f'{d["kind"]}/{d["metadata"]["name"]}', d["spec"]["template"]["spec"])
            for d in docs if d["kind"] in ("Deployment", "Job")]


def containers(spec: dict) -> list[dict]:
    return list(spec.get("initContainers", [])) + list(spec["containers"])


@pytest.fixture(scope="session", params=CI_VALUES, ids=lambda p: p.name)
def scenario(request) -> tuple[str, dict, list[dict]]:
    """Each ci/*.yaml values file: (name, values, rendered objects)."""
    values = load_values(request.param)
    return request.param.name, values, manifests(values)


@pytest.fixture(scope="session")
def all_rendered() -> dict[str, list[dict]]:
    return {path.name: manifests(load_values(path)) for path in CI_VALUES}
