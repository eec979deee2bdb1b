"""The OpenAPI 3.1 description, built from the endpoints' own pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from server.api import Endpoint

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_STATUS_TEXT = {
    400: "Bad request",
    401: "Missing, expired or revoked token",
    403: "Role too low",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    422: "Invalid input",
    429: "Too many requests",
}
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


def build_openapi(endpoints: list[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    models = _models(endpoints)
    refs, defs = models_json_schema(
        [(model, "validation") for model in models],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        path = _PARAM.sub(r"{\1}", endpoint.path)
        paths.setdefault(path, {})[endpoint.method.lower()] = _operation(endpoint, refs)
    schemas = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _models(endpoints: list[Endpoint]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for endpoint in endpoints:
        for candidate in (endpoint.body, _inner_model(endpoint.response)):
            if candidate is not None:
                found[candidate.__name__] = candidate
    return list(found.values())


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _schema(annotation: Any, refs: dict[Any, Any]) -> dict[str, Any]:
    model = _inner_model(annotation)
    if model is None:
        return TypeAdapter(annotation).json_schema() if annotation is not None else {}
    ref = refs[(model, "validation")]
    return ref if model is annotation else {"type": "array", "items": ref}


def _operation(endpoint: Endpoint, refs: dict[Any, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": endpoint.handler.__name__,
        "tags": endpoint.tags,
    }
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if kind == "int" else "string"},
        }
        for name, kind in _PARAM.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        for name, prop in endpoint.query.model_json_schema().get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": False, "schema": prop})
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema(endpoint.body, refs)}},
        }
    success: dict[str, Any] = {"description": "OK"}
    if endpoint.response is not None:
        success["content"] = {"application/json": {"schema": _schema(endpoint.response, refs)}}
    responses: dict[str, Any] = {str(endpoint.status): success}
    errors = [422] if endpoint.body or endpoint.query else []
    if endpoint.body:
        errors.append(413)
    if endpoint.auth:
        operation["security"] = [{"bearer": []}]
        errors += [401, 403]
    if "{" in endpoint.path:
        errors.append(404)
    for status in sorted(errors):
        responses[str(status)] = {
            "description": _STATUS_TEXT[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    operation["responses"] = responses
    return operation
