"""Parses SCIM discovery documents the way a strict client does (scim2-models, its default policy).

Usage: validate.py MANIFEST

MANIFEST is a JSON array of {"name", "kind", "file"} entries; "file" holds one document as the
server sent it, "kind" says what it must parse as:

  ServiceProviderConfig, Schema, ResourceType,
  ListResponse[Schema], ListResponse[ResourceType]: the models of scim2-models;
  Resource: a resource of the schema in the entry's "schemaFile" (a /Schemas/:id document),
            read through Resource.from_schema, so an attribute the schema does not declare fails;
  Provider: the service the entry's "schemasFile", "resourceTypesFile" and "configFile" (/Schemas,
            /ResourceTypes, /ServiceProviderConfig) describe together, built as scim2-client's
            discover() builds it (ScimProvider.from_discovery): every schema must become a model.

Every document is validated in the query-response context (RFC 7644 §3.4.1) under the strict
ScimPolicy (unknown attributes and schema URNs are refused). Prints one JSON object on stdout,
{"scim2Models": version, "checked": [names], "failures": [{"name", "kind", "error"}]}, and a line
per failure on stderr; exits 1 when a document fails, 2 when the manifest cannot be read.
"""

import json
import sys
from importlib.metadata import version

from pydantic import ValidationError
from scim2_models import Context
from scim2_models import ListResponse
from scim2_models import Resource
from scim2_models import ResourceType
from scim2_models import Schema
from scim2_models import ScimPolicy
from scim2_models import ScimProvider
from scim2_models import ServiceProviderConfig

STRICT = ScimPolicy(unknown=ScimPolicy.Unknown.forbid)
CONTEXT = Context.RESOURCE_QUERY_RESPONSE

MODELS = {
    "ServiceProviderConfig": ServiceProviderConfig,
    "Schema": Schema,
    "ResourceType": ResourceType,
    "ListResponse[Schema]": ListResponse[Schema],
    "ListResponse[ResourceType]": ListResponse[ResourceType],
}


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def model_for(entry):
    kind = entry["kind"]
    if kind == "Resource":
        return Resource.from_schema(parse(Schema, entry["schemaFile"]))
    if kind not in MODELS:
        raise ValueError(f'unknown kind "{kind}" (one of {", ".join([*MODELS, "Resource", "Provider"])})')
    return MODELS[kind]


def parse(model, path):
    return model.model_validate(read_json(path), scim_ctx=CONTEXT, scim_policy=STRICT)


def check_provider(entry):
    schemas = parse(ListResponse[Schema], entry["schemasFile"]).resources or []
    resource_types = parse(ListResponse[ResourceType], entry["resourceTypesFile"]).resources or []
    config = parse(ServiceProviderConfig, entry["configFile"])
    ScimProvider.from_discovery(schemas, resource_types, config, STRICT)


def check(entry):
    """The reason the entry's document fails to parse strictly, or None."""
    try:
        if entry["kind"] == "Provider":
            check_provider(entry)
            return None
        model = model_for(entry)
        parse(model, entry["file"])
    except ValidationError as err:
        return "; ".join(f'{".".join(str(p) for p in e["loc"]) or "(document)"}: {e["msg"]}' for e in err.errors())
    except Exception as err:  # a model that cannot be built from the schema fails the document too
        return f"{type(err).__name__}: {err}"
    return None


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        manifest = read_json(argv[1])
    except (OSError, ValueError) as err:
        print(f"cannot read the manifest {argv[1]}: {err}", file=sys.stderr)
        return 2
    failures = []
    for entry in manifest:
        error = check(entry)
        if error is not None:
            failures.append({"name": entry["name"], "kind": entry["kind"], "error": error})
            print(f'{entry["name"]} ({entry["kind"]}): {error}', file=sys.stderr)
    print(json.dumps({"scim2Models": version("scim2-models"), "checked": [e["name"] for e in manifest], "failures": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
