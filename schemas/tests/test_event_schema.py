"""The JSON Schema of account events agrees with the examples the parser is tested on.

Every example of schemas/examples/account-events.jsonl marked "accept" validates against
schemas/account-event.schema.json; every refused one does not (Tests/HealthModelTests/
EventContractTests.swift checks the same file against the parser, with each refusal's code).
"""
import json
import pathlib

import jsonschema
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas/account-event.schema.json").read_text())
EXAMPLES = [json.loads(line) for line in (ROOT / "schemas/examples/account-events.jsonl").read_text().splitlines() if line]


def test_the_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_example_agrees_with_the_schema(example):
    validator = jsonschema.Draft202012Validator(SCHEMA)
    if "raw" in example:
        try:
            document = json.loads(example["raw"])
        except json.JSONDecodeError:
            assert example["expect"] != "accept"
            return
    else:
        document = example["event"]
    errors = list(validator.iter_errors(document))
    if example["expect"] == "accept":
        assert not errors, f"{example['name']}: the schema refuses an accepted example: {errors[0].message}"
    else:
        assert errors, f"{example['name']}: the schema accepts an example the parser refuses ({example['expect']})"
