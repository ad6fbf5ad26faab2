#!/usr/bin/env python3
"""Validates a CycloneDX 1.6 JSON document offline against the schema CycloneDX's authors publish.

Usage: validate_cyclonedx.py FILE             prints `valid`, or each error and exit 1
       validate_cyclonedx.py --spdx-ids       prints the schema's SPDX licence ids, one a line

The schema files are those shipped in PyPI's cyclonedx-python-lib (installed with --no-deps by
scripts/install-test-deps.sh; only its resource files are read): bom-1.6.SNAPSHOT.schema.json and
the spdx and jsf schemas it refers to, registered under the URIs its relative $refs resolve to, so
nothing is fetched. Validation is jsonschema's Draft7Validator with its format checker
(date-time needs rfc3339-validator).
"""
import importlib.resources
import json
import sys

from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

RESOURCES = importlib.resources.files("cyclonedx.schema") / "_res"
BASE = "http://cyclonedx.org/schema/"  # bom-1.6's $id is BASE + "bom-1.6.schema.json"
SUBSCHEMAS = ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json")


def load(name):
    return json.loads((RESOURCES / name).read_text(encoding="utf-8"))


def main(argv):
    if argv == ["--spdx-ids"]:
        print("\n".join(load("spdx.SNAPSHOT.schema.json")["enum"]))
        return 0
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        import rfc3339_validator  # noqa: F401  (without it, date-time goes unchecked)
    except ImportError:
        print("validate_cyclonedx: rfc3339-validator is missing (scripts/install-test-deps.sh)", file=sys.stderr)
        return 2
    registry = Registry().with_resources((BASE + n, DRAFT7.create_resource(load(n))) for n in SUBSCHEMAS)
    validator = Draft7Validator(
        load("bom-1.6.SNAPSHOT.schema.json"),
        registry=registry,
        format_checker=Draft7Validator.FORMAT_CHECKER,
    )
    with open(argv[0], encoding="utf-8") as f:
        document = json.load(f)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        where = "/".join(map(str, error.absolute_path)) or "(root)"
        print(f"invalid at {where}: {error.message[:300]}")
    if errors:
        return 1
    print("valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
