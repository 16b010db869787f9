"""The chart's access table (files/access.yaml): its topics are the catalog's, every catalog topic
is written by a stage and read by one (dead letters: by fleet-admin), and docs/operations.md lists
the same table for platforms without Strimzi."""
import pathlib
import re

import yaml

CHART = pathlib.Path(__file__).resolve().parent.parent / "account-health-fleet"
ROOT = CHART.parent.parent


def access():
    return yaml.safe_load((CHART / "files" / "access.yaml").read_text())["stages"]


def catalog():
    return [t["name"] for t in yaml.safe_load((CHART / "files" / "topics.yaml").read_text())["topics"]]


def test_every_topic_of_the_access_table_is_in_the_catalog():
    names = set(catalog())
    for stage, grants in access().items():
        for verb in ("read", "write"):
            unknown = set(grants.get(verb, [])) - names
            assert not unknown, f"{stage} {verb}: {sorted(unknown)} not in files/topics.yaml"


def test_every_catalog_topic_is_written_by_a_stage_and_read_by_one_or_by_fleet_admin():
    read = {t for g in access().values() for t in g.get("read", [])}
    write = {t for g in access().values() for t in g.get("write", [])}
    for name in catalog():
        assert name in write, f"{name}: no stage may write it"
        assert name in read or name.endswith("-dlt"), f"{name}: no stage may read it"


def test_the_operations_guide_lists_the_same_table():
    text = (ROOT / "docs" / "operations.md").read_text()
    found = re.search(r"<!-- access table: generated from files/access.yaml -->\n(.*?)\n<!-- end", text, re.S)
    assert found, "docs/operations.md has no access table"
    rows = [line for line in found.group(1).splitlines() if line.startswith("| `")]
    documented = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        documented[cells[0].strip("`")] = (
            re.findall(r"`([^`]+)`", cells[1]),
            re.findall(r"`([^`]+)`", cells[2]),
            bool(cells[3]),
        )
    expected = {s: (g.get("read", []), g.get("write", []), bool(g.get("group"))) for s, g in access().items()}
    assert documented == expected, "docs/operations.md's access table differs from files/access.yaml"
