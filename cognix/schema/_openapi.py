"""Assemble the OpenAPI document Cog writes for a predictor or trainer, and write it to disk.

The shape and key order mirror Cog 0.23.1's `pkg/schema/openapi_spec.go`. Go writes a
plain map with its keys sorted and an ordered map (paths, component schemas, the
properties of Input and of object outputs) in insertion order; `Ordered` marks the
latter here and `_in_go_order` applies both rules. Go writes a float that holds a
whole number without a fraction (`1`, not `1.0`), and so does `_in_go_order`.

A project with both a predictor and a trainer gets one document, merged the way
`MergeSchemas` in `pkg/schema/generator.go` does: the prediction document wins, and the
training paths and components it lacks are added. Cog decodes both documents into plain
Go maps to merge them, so every key of the merged document comes out sorted.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ._inputs import InputField
from ._outputs import Ordered, title_case


@dataclass(frozen=True)
class Mode:
    """The names Cog gives the endpoint and components of predictions or of trainings."""

    endpoint: str
    item: str
    input: str
    output: str
    request: str
    response: str
    summary: str
    description: str
    operation: str


PREDICT = Mode(
    "/predictions",
    "prediction",
    "Input",
    "Output",
    "PredictionRequest",
    "PredictionResponse",
    "Predict",
    "Run a single prediction on the model",
    "predict_predictions_post",
)
TRAIN = Mode(
    "/trainings",
    "training",
    "TrainingInput",
    "TrainingOutput",
    "TrainingRequest",
    "TrainingResponse",
    "Train",
    "Run a single training on the model",
    "train_trainings_post",
)
_SHARED_COMPONENTS = ("Status", "HTTPValidationError", "ValidationError")
# An enum component takes its input's name, so no input with choices may take one of
# these: in either mode, since a merged document holds the components of both.
FIXED_COMPONENTS = (
    tuple(
        name
        for mode in (PREDICT, TRAIN)
        for name in (mode.input, mode.output, mode.request, mode.response)
    )
    + _SHARED_COMPONENTS
)
_REF = "#/components/schemas/"
_JSON = "application/json"
_ENUM_TYPES = {"bool": "boolean", "float": "number", "int": "integer", "Any": "object"}


def build_document(
    fields: list[InputField],
    output: dict[str, Any],
    *,
    streaming: bool,
    version: str,
    mode: Mode = PREDICT,
) -> dict[str, Any]:
    """Return the whole OpenAPI 3.0.2 document for the prediction or training endpoints."""
    schemas = Ordered({mode.input: _input_component(fields, mode.input), mode.output: output})
    for input_field in fields:
        if input_field.options.get("choices"):
            schemas[input_field.name] = _enum_component(input_field)
    schemas.update(_fixed_components(mode))
    document = {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": version},
        # Cog marks streaming on the prediction endpoint only.
        "paths": _paths(mode, streaming=streaming and mode == PREDICT),
        "components": {"schemas": schemas},
    }
    ordered: dict[str, Any] = _in_go_order(document)
    return ordered


def merge_documents(predict: dict[str, Any], train: dict[str, Any]) -> dict[str, Any]:
    """Merge a prediction and a training document into one, as Cog's MergeSchemas does.

    The prediction document's paths and components stay; the training document's are
    added where the name is free. Every key comes out sorted, and each number as Go
    prints it back after decoding it into a float64.
    """
    paths = dict(predict["paths"])
    schemas = dict(predict["components"]["schemas"])
    for path, item in train["paths"].items():
        paths.setdefault(path, item)
    for name, component in train["components"]["schemas"].items():
        schemas.setdefault(name, component)
    merged = {**predict, "paths": paths, "components": {"schemas": schemas}}
    result: dict[str, Any] = _decoded_by_go(merged)
    return result


def dumps(document: dict[str, Any]) -> str:
    """Serialize a document the way cognix writes it: 2-space indent, final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_schema(project_dir: Path, schema: dict[str, Any]) -> Path:
    """Write `schema` to `.cog/openapi_schema.json` in `project_dir`, atomically.

    The bytes depend only on `schema`, and the file is replaced in one step, so a reader
    never sees half a file. Returns the path written.
    """
    target = project_dir / ".cog" / "openapi_schema.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".openapi_schema.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(dumps(schema))
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _input_component(fields: list[InputField], title: str) -> dict[str, Any]:
    """Build the Input component: one property per parameter, in parameter order."""
    properties = Ordered()
    required = []
    for order, input_field in enumerate(fields):
        prop, is_required = _input_property(input_field, order)
        properties[input_field.name] = prop
        if is_required:
            required.append(input_field.name)
    component: dict[str, Any] = {"title": title, "type": "object", "properties": properties}
    if required:
        component["required"] = required
    return component


def _input_property(input_field: InputField, order: int) -> tuple[dict[str, Any], bool]:
    """Build one input's property, and tell whether the input is required."""
    name, kind, options = input_field.name, input_field.type, input_field.options
    prop: dict[str, Any] = {"x-order": order}
    if options.get("choices"):
        prop["allOf"] = [{"$ref": _REF + name}]
    else:
        prop["title"] = title_case(name)
        prop.update(kind.json_schema())
    # `default=None` on a type that is not Optional means "required, no default" to Cog,
    # except on a Secret, where it is the usual way to make a credential optional.
    nullable = kind.nullable
    if kind.primitive == "Secret" and input_field.has_default and input_field.default is None:
        nullable = True
    has_default = input_field.has_default and (input_field.default is not None or nullable)
    required = not has_default and (kind.kind == "union" or not kind.nullable)
    if has_default:
        prop["default"] = input_field.default
    if nullable:
        prop["nullable"] = True
    prop.update(_constraints(options))
    return prop, required


def _constraints(options: dict[str, Any]) -> dict[str, Any]:
    """Translate Input() options into their OpenAPI keywords."""
    keywords = {
        "description": "description",
        "ge": "minimum",
        "le": "maximum",
        "min_length": "minLength",
        "max_length": "maxLength",
        "regex": "pattern",
        "accept": "x-cog-accept",
    }
    result = {keywords[key]: value for key, value in options.items() if key in keywords}
    if options.get("deprecated"):
        result["deprecated"] = True
    return result


def _enum_component(input_field: InputField) -> dict[str, Any]:
    """Build the enum component that an input with choices refers to."""
    primitive = input_field.type.base_primitive()
    return {
        "title": input_field.name,
        "description": "An enumeration.",
        "enum": list(input_field.options["choices"]),
        "type": _ENUM_TYPES.get(primitive, "string"),
    }


def _fixed_components(mode: Mode) -> dict[str, Any]:
    """Build the components every document has: request, response, status, errors."""
    timestamp = {"type": "string", "format": "date-time"}
    response_fields: dict[str, dict[str, Any]] = {
        "input": {"$ref": _REF + mode.input},
        "output": {"$ref": _REF + mode.output},
        "id": _titled("Id", "string"),
        "version": _titled("Version", "string"),
        "created_at": {"title": "Created At", **timestamp},
        "started_at": {"title": "Started At", **timestamp},
        "completed_at": {"title": "Completed At", **timestamp},
        "status": _titled("Status", "string"),
        "error": _titled("Error", "string"),
        "logs": _titled("Logs", "string"),
        "metrics": _titled("Metrics", "object"),
    }
    location = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    return {
        mode.request: {
            "title": mode.request,
            "type": "object",
            "properties": {"id": _titled("Id", "string"), "input": {"$ref": _REF + mode.input}},
        },
        mode.response: {
            "title": mode.response,
            "type": "object",
            "properties": response_fields,
        },
        "Status": {
            "title": "Status",
            "description": "An enumeration.",
            "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
            "type": "string",
        },
        "HTTPValidationError": {
            "title": "HTTPValidationError",
            "type": "object",
            "properties": {
                "detail": {
                    "items": {"$ref": _REF + "ValidationError"},
                    **_titled("Detail", "array"),
                }
            },
        },
        "ValidationError": {
            "title": "ValidationError",
            "required": ["loc", "msg", "type"],
            "type": "object",
            "properties": {
                "loc": {"items": location, **_titled("Location", "array")},
                "msg": _titled("Message", "string"),
                "type": _titled("Error Type", "string"),
            },
        },
    }


def _titled(title: str, kind: str) -> dict[str, Any]:
    """Build the `{title, type}` pair most fixed properties are."""
    return {"title": title, "type": kind}


def _paths(mode: Mode, *, streaming: bool) -> dict[str, Any]:
    """Build the paths: root, health check, the endpoint and its cancel, in Cog's order."""
    any_json = {"content": {_JSON: {"schema": {}}}, "description": "Successful Response"}
    invalid = _json_response("Validation Error", "HTTPValidationError")
    run: dict[str, Any] = {
        "summary": mode.summary,
        "description": mode.description,
        "operationId": mode.operation,
        "requestBody": {"content": {_JSON: {"schema": {"$ref": _REF + mode.request}}}},
        "responses": {
            "200": _json_response("Successful Response", mode.response),
            "422": invalid,
        },
    }
    if streaming:
        run["x-cog-streaming"] = True
    item_id = f"{mode.item}_id"
    cancel_parameter = {
        "required": True,
        "schema": {"title": title_case(item_id), "type": "string"},
        "name": item_id,
        "in": "path",
    }
    cancel = {
        "summary": "Cancel",
        "operationId": f"cancel_{mode.item}s__{item_id}__cancel_post",
        "parameters": [cancel_parameter],
        "responses": {"200": any_json, "422": invalid},
    }
    root = {"summary": "Root", "operationId": "root__get", "responses": {"200": any_json}}
    health = {
        "summary": "Healthcheck",
        "operationId": "healthcheck_health_check_get",
        "responses": {"200": any_json},
    }
    return Ordered(
        {
            "/": {"get": root},
            "/health-check": {"get": health},
            mode.endpoint: {"post": run},
            f"{mode.endpoint}/{{{item_id}}}/cancel": {"post": cancel},
        }
    )


def _json_response(description: str, component: str) -> dict[str, Any]:
    """Build a response whose JSON body is the named component."""
    return {"description": description, "content": {_JSON: {"schema": {"$ref": _REF + component}}}}


def _in_go_order(value: Any) -> Any:
    """Copy `value` with Go's JSON key order and number formatting applied throughout."""
    if isinstance(value, Ordered):
        return {_json_key(key): _in_go_order(item) for key, item in value.items()}
    if isinstance(value, dict):
        items = {_json_key(key): item for key, item in value.items()}
        return {key: _in_go_order(items[key]) for key in sorted(items)}
    if isinstance(value, list):
        return [_in_go_order(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def _decoded_by_go(value: Any) -> Any:
    """Copy `value` as Go re-encodes JSON it decoded into `any`: keys sorted, float64s."""
    if isinstance(value, dict):
        return {key: _decoded_by_go(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_decoded_by_go(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        # float64 keeps about 16 digits; Go prints the shortest of them, then zeros.
        return int(Decimal(repr(float(value))))
    return value


def _json_key(key: Any) -> str:
    """Spell a mapping key as the string JSON will carry (a default may have int keys)."""
    return key if isinstance(key, str) else json.dumps(key)
