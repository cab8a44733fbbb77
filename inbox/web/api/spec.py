"""The API's operations as data, and the OpenAPI 3.1 document built from them and their schemas.

``operation`` (in ``inbox.web.api.core``) records each route here with its query, body and
response models; ``document()`` turns the records into OpenAPI, the models into
``components.schemas`` through pydantic's JSON Schema (2020-12, which OpenAPI 3.1 uses).
Nothing is written by hand but the summaries.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from inbox.web.api.schemas import ProblemDetails
from inbox.web.inputs import MAX_ID

REF = "#/components/schemas/{model}"
PROBLEM_STATUSES = {
    "400": "The request is malformed or a value makes no sense.",
    "401": "No valid API token.",
    "403": "The token's scope or role does not allow this.",
    "404": "No such thing, or not in the token's mailboxes.",
    "409": "Changed meanwhile, or the Idempotency-Key was used for another request.",
    "422": "The input does not fit the schema.",
    "429": "Too many requests; wait for Retry-After seconds.",
}


@dataclass(frozen=True)
class Operation:
    method: str  # "get", "post", "patch"
    path: str  # Flask rule, e.g. /api/v1/threads/<int:thread_id>
    name: str  # operationId
    summary: str
    tag: str
    scope: str  # "read" or "write"
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    idempotency: str | None = None  # "required" or "optional"
    binary: bool = False  # the response is a file, not JSON
    public: bool = False  # no token needed


OPERATIONS: list[Operation] = []


def openapi_path(rule: str) -> tuple[str, list[str]]:
    """``/threads/<int:thread_id>`` → ``/threads/{thread_id}`` and its parameter names."""
    names: list[str] = []
    parts = []
    for part in rule.split("/"):
        if part.startswith("<") and part.endswith(">"):
            name = part[1:-1].split(":")[-1]
            names.append(name)
            part = "{" + name + "}"
        parts.append(part)
    return "/".join(parts), names


def _schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], str]] = [(ProblemDetails, "serialization")]
    for op in OPERATIONS:
        models += [(m, "validation") for m in (op.query, op.body) if m is not None]
        if op.response is not None:
            models.append((op.response, "serialization"))
    _keys, top = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
    return top.get("$defs", {})


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    own = schemas[model.__name__]
    required = set(own.get("required", []))
    params = []
    for name, schema in own["properties"].items():
        schema = copy.deepcopy(schema)
        schema.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": schema}  # fmt: skip
        if schema.get("type") == "array":
            param.update(style="form", explode=True)
        params.append(param)
    return params


def _problem_responses() -> dict[str, Any]:
    content = {"application/problem+json": {"schema": {"$ref": REF.format(model="ProblemDetails")}}}
    found = {code: {"description": text, "content": content} for code, text in PROBLEM_STATUSES.items()}
    found["default"] = {"description": "Any other error, as problem details.", "content": content}
    return found


def _operation(op: Operation, params: list[str], schemas: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": [
            {"name": p, "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
            for p in params
        ],
    }
    if op.query is not None:
        doc["parameters"] += _query_parameters(op.query, schemas)
    if op.idempotency:
        doc["parameters"].append({
            "name": "Idempotency-Key", "in": "header", "required": op.idempotency == "required",
            "description": "Repeating a request with the same key returns the first response "
            "and does nothing again (keys are kept per token).",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
        })  # fmt: skip
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}},
        }
    if op.binary:
        ok = {"description": "The file.", "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}  # fmt: skip
    else:
        ok = {"description": op.summary, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=op.response.__name__)}}}}  # fmt: skip
    doc["responses"] = {str(op.status): ok, **_problem_responses()}
    if op.public:
        doc["security"] = []
        doc["responses"] = {str(op.status): ok}
    else:
        doc["description"] = f"Needs a token with the `{op.scope}` scope."
    return doc


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every recorded operation."""
    schemas = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path, params = openapi_path(op.path)
        paths.setdefault(path, {})[op.method] = _operation(op, params, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "inbox REST API",
            "version": "1",
            "description": "Threads, messages, replies and search of the mailboxes your token "
            "may see, with the same permissions as the web pages. Authenticate with "
            "`Authorization: Bearer <token>` (make a token under My settings → API tokens). "
            "Errors are RFC 9457 problem details.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
    }
