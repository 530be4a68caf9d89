"""Assemble the OpenAPI document Cog writes for a predictor, and write it to disk.

The shape and key order mirror Cog 0.23.1's `pkg/schema/openapi_spec.go`. Go writes a
plain map with its keys sorted and an ordered map (paths, component schemas, the
properties of Input and of object outputs) in insertion order; `Ordered` marks the
latter here and `_in_go_order` applies both rules. Go writes a float that holds a
whole number without a fraction (`1`, not `1.0`), and so does `_in_go_order`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ._inputs import InputField
from ._outputs import Ordered, title_case

FIXED_COMPONENTS = (
    "Input",
    "Output",
    "PredictionRequest",
    "PredictionResponse",
    "Status",
    "HTTPValidationError",
    "ValidationError",
)
_REF = "#/components/schemas/"
_JSON = "application/json"
_ENUM_TYPES = {"bool": "boolean", "float": "number", "int": "integer", "Any": "object"}


def build_document(
    fields: list[InputField], output: dict[str, Any], *, streaming: bool, version: str
) -> dict[str, Any]:
    """Return the whole OpenAPI 3.0.2 document for the prediction endpoints."""
    schemas = Ordered(Input=_input_component(fields), Output=output)
    for input_field in fields:
        if input_field.options.get("choices"):
            schemas[input_field.name] = _enum_component(input_field)
    schemas.update(_fixed_components())
    document = {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": version},
        "paths": _paths(streaming=streaming),
        "components": {"schemas": schemas},
    }
    ordered: dict[str, Any] = _in_go_order(document)
    return ordered


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


def _input_component(fields: list[InputField]) -> dict[str, Any]:
    """Build the Input component: one property per parameter, in parameter order."""
    properties = Ordered()
    required = []
    for order, input_field in enumerate(fields):
        prop, is_required = _input_property(input_field, order)
        properties[input_field.name] = prop
        if is_required:
            required.append(input_field.name)
    component: dict[str, Any] = {"title": "Input", "type": "object", "properties": properties}
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


def _fixed_components() -> dict[str, Any]:
    """Build the components every predictor has: request, response, status, errors."""
    timestamp = {"type": "string", "format": "date-time"}
    response_fields: dict[str, dict[str, Any]] = {
        "input": {"$ref": _REF + "Input"},
        "output": {"$ref": _REF + "Output"},
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
        "PredictionRequest": {
            "title": "PredictionRequest",
            "type": "object",
            "properties": {"id": _titled("Id", "string"), "input": {"$ref": _REF + "Input"}},
        },
        "PredictionResponse": {
            "title": "PredictionResponse",
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


def _paths(*, streaming: bool) -> dict[str, Any]:
    """Build the paths: root, health check, predictions and cancel, in Cog's order."""
    any_json = {"content": {_JSON: {"schema": {}}}, "description": "Successful Response"}
    invalid = _json_response("Validation Error", "HTTPValidationError")
    predict: dict[str, Any] = {
        "summary": "Predict",
        "description": "Run a single prediction on the model",
        "operationId": "predict_predictions_post",
        "requestBody": {"content": {_JSON: {"schema": {"$ref": _REF + "PredictionRequest"}}}},
        "responses": {
            "200": _json_response("Successful Response", "PredictionResponse"),
            "422": invalid,
        },
    }
    if streaming:
        predict["x-cog-streaming"] = True
    cancel_parameter = {
        "required": True,
        "schema": {"title": "Prediction Id", "type": "string"},
        "name": "prediction_id",
        "in": "path",
    }
    cancel = {
        "summary": "Cancel",
        "operationId": "cancel_predictions__prediction_id__cancel_post",
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
            "/predictions": {"post": predict},
            "/predictions/{prediction_id}/cancel": {"post": cancel},
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


def _json_key(key: Any) -> str:
    """Spell a mapping key as the string JSON will carry (a default may have int keys)."""
    return key if isinstance(key, str) else json.dumps(key)
