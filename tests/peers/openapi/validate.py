"""Validates an OpenAPI 3.1 document with openapi-spec-validator (pinned, with its dependency
closure, in tests/peers/openapi-requirements.txt; installed by `scripts/setup --peers`).

    python3 tests/peers/openapi/validate.py DOCUMENT.json

Prints `valid: openapi-spec-validator <version>` and exits 0 when the document is a valid
OpenAPI 3.1 document (the 3.1 meta-schema, every `$ref` resolved, every schema a valid JSON Schema,
path parameters declared, operation ids unique); else prints every error on stderr and exits 1.
Exits 3 when the validator is not installed."""

import importlib.metadata
import json
import sys

try:
    from openapi_spec_validator import OpenAPIV31SpecValidator
except ImportError as error:
    print(f"openapi-spec-validator is not installed ({error}); run scripts/setup --peers", file=sys.stderr)
    sys.exit(3)

with open(sys.argv[1], encoding="utf-8") as file:
    document = json.load(file)
if not str(document.get("openapi", "")).startswith("3.1."):
    print(f"not an OpenAPI 3.1 document: openapi = {document.get('openapi')!r}", file=sys.stderr)
    sys.exit(1)
errors = list(OpenAPIV31SpecValidator(document).iter_errors())
for error in errors:
    print(f"- {error}", file=sys.stderr)
if errors:
    print(f"{len(errors)} error(s)", file=sys.stderr)
    sys.exit(1)
print(f"valid: openapi-spec-validator {importlib.metadata.version('openapi-spec-validator')}")
