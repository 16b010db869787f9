"""The JSON Schema of alert actions agrees with the examples the record's checks are tested on.

Every example of schemas/examples/alert-actions.jsonl marked "accept" validates against
schemas/alert-action.schema.json; every refused one does not (Tests/ContractsTests/
AlertActionExamplesTests.swift checks the same file against AlertActionRecord's decoding and
`problem`).
"""
import json
import pathlib

import jsonschema
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas/alert-action.schema.json").read_text())
EXAMPLES = [json.loads(line) for line in (ROOT / "schemas/examples/alert-actions.jsonl").read_text().splitlines() if line]


def test_the_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_example_agrees_with_the_schema(example):
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(example["record"]))
    if example["expect"] == "accept":
        assert not errors, f"{example['name']}: the schema refuses an accepted example: {errors[0].message}"
    else:
        assert errors, f"{example['name']}: the schema accepts a refused example"
