"""The OpenAPI 3.1 document, built from the registry and each endpoint's contract: the pydantic
models its handler validates with and the TypedDict its answer is built as.

Served at ``GET /api/v1/openapi.json``; built once per instance on first request. Only this
function turns the answers' TypedDicts into JSON Schema, so no other function's cold start pays
for it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypedDict

from functions.http import MAX_BODY_BYTES, Call, Contract, ErrorBody, Reply, endpoint
from functions.registry import HTTP_FUNCTIONS, Auth, HttpFunction
from shared.bootstrap import services
from shared.errors import error_codes
from shared.ids import DOCUMENT_ID_PATTERN, ID_PROBLEM

ERROR_STATUSES = {
    "400": "invalid_request: details.fields names each bad field",
    "401": "unauthenticated",
    "402": "insufficient_credits, or a declined card",
    "403": "forbidden",
    "404": "not_found",
    "405": "method_not_allowed",
    "409": "conflict; details.retryable is true when the same Idempotency-Key is still running",
    "422": "idempotency_key_reused",
    "429": "rate_limited (see Retry-After)",
    "500": "internal error (no details)",
    "502": "provider_error",
    "503": "unavailable: retry later",
}
# Ids that name documents: one pattern, which production Firestore accepts (shared/ids.py).
DOCUMENT_ID_SCHEMA = {
    "type": "string",
    "pattern": DOCUMENT_ID_PATTERN,
    "description": "An id that names a Firestore document: " + ID_PROBLEM,
}
DOCUMENT_ID_REF = {"$ref": "#/components/schemas/DocumentId"}
REF_TEMPLATE = "#/components/schemas/{model}"
SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    Auth.USER: [{"firebaseIdToken": []}],
    Auth.ADMIN: [{"firebaseIdToken": []}],
    Auth.SERVICE: [{"googleServiceIdToken": []}],
    Auth.WEBHOOK: [],
    Auth.NONE: [],
}


class OpenApiDocument(TypedDict):
    """This document (OpenAPI 3.1)."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


def operation_id(function: HttpFunction, method: str) -> str:
    """The operationId of one method of ``function``: its name, suffixed when it has several."""
    return function.name if len(function.methods) == 1 else f"{function.name}_{method.lower()}"


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    return _component(
        model.__name__, model.model_json_schema(ref_template=REF_TEMPLATE), components
    )


def _answer_schema(answer: type, components: dict[str, Any]) -> dict[str, str]:
    """The JSON Schema of a TypedDict answer, as the client reads it (timestamps as text)."""
    schema = TypeAdapter(answer).json_schema(mode="serialization", ref_template=REF_TEMPLATE)
    return _component(answer.__name__, schema, components)


def _component(name: str, schema: dict[str, Any], components: dict[str, Any]) -> dict[str, str]:
    for nested, definition in schema.pop("$defs", {}).items():
        components[nested] = definition
    components[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _parameters(path: str, function: HttpFunction, contract: Contract) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": DOCUMENT_ID_REF}
        for name in re.findall(r"{(\w+)}", path)
    ]
    if contract.query is not None:
        schema = contract.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    return params


def _operation(
    function: HttpFunction, method: str, path: str, contract: Contract, components: dict[str, Any]
) -> dict[str, Any]:
    success = "201" if method == "POST" and function.auth is not Auth.WEBHOOK else "200"
    if contract.response is None:
        raise AssertionError(f"{function.name}: @endpoint names the answer's shape (response=)")
    answer = (
        # A document answered as itself (a PDF), not as JSON.
        {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
        if contract.response is bytes
        else {"application/json": {"schema": _answer_schema(contract.response, components)}}
    )
    responses: dict[str, Any] = {
        success: {"description": "success", "content": answer},
        "200" if success == "201" else "201": {
            "description": "success (replayed or already done)",
            "content": answer,
        },
    }
    for status, text in ERROR_STATUSES.items():
        responses[status] = {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
    parameters = _parameters(path, function, contract)
    if method != "GET" and function.auth in (Auth.USER, Auth.ADMIN, Auth.SERVICE):
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    # Each alias path is its own operation, and operationIds are unique in a document.
    alias = function.paths.index(path)
    operation: dict[str, Any] = {
        "operationId": operation_id(function, method) + (f"_alias{alias}" if alias else ""),
        "summary": function.summary,
        "tags": [function.module.rsplit(".", 1)[-1]],
        "security": SECURITY[function.auth],
        "parameters": parameters,
        "responses": responses,
    }
    if function.role is not None:
        allow_list = f"{function.role.value.upper()}_SERVICE_ACCOUNTS"
        operation["description"] = f"Callers: the service accounts on {allow_list}."
    if method in ("POST", "PATCH", "PUT") and contract.body is not None:
        operation["requestBody"] = {
            "required": True,
            "description": f"JSON, at most {MAX_BODY_BYTES} bytes (a larger body is a 400)",
            "content": {"application/json": {"schema": _schema(contract.body, components)}},
        }
    return operation


@cache
def build_document(version: str) -> OpenApiDocument:
    """Return the OpenAPI document for every registered HTTP function."""
    import main  # the entry points carry their contracts

    components: dict[str, Any] = {"DocumentId": DOCUMENT_ID_SCHEMA}
    _answer_schema(ErrorBody, components)
    paths: dict[str, dict[str, Any]] = {}
    for function in HTTP_FUNCTIONS:
        contract: Contract = getattr(getattr(main, function.name), "contract", Contract())
        for path in function.paths:
            for method in function.methods:
                paths.setdefault(path, {})[method.lower()] = _operation(
                    function, method, path, contract, components
                )
    # After the answers: a batch's failed events carry the same ErrorDetail.
    codes = error_codes()  # the one table of codes (docs/api.md "Error codes" lists the same)
    components["ErrorDetail"]["properties"]["code"]["enum"] = sorted(codes)
    components["ErrorDetail"]["properties"]["code"]["description"] = ", ".join(
        f"{code} ({status})" for code, status in sorted(codes.items(), key=lambda c: (c[1], c[0]))
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "billing-service",
            "version": version,
            "description": "Prepaid credits and payments for Firebase apps. Amounts are "
            "integers in minor units; credits in credit units (100 = 1 credit). Every id that "
            f"names a document (path ids, order_id, user_id, event_id, hold_id) matches "
            f"{DOCUMENT_ID_PATTERN}; anything else is a 400 naming the field. Request bodies "
            f"are JSON of at most {MAX_BODY_BYTES} bytes; lists take ?limit= (1-100, default "
            "20) and ?cursor=. Timestamps are RFC 3339 in UTC with a T.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "firebaseIdToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Firebase Auth ID token of the user",
                },
                "googleServiceIdToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Google-signed OIDC ID token of a service account on the "
                    "endpoint's allow-list (metering or scheduler)",
                },
            },
        },
    }


@endpoint(response=OpenApiDocument)
def openapi(call: Call) -> Reply:
    return Reply(build_document(services().settings.version))


if __name__ == "__main__":
    # `python -m functions.openapi`: the document this code serves, for the web SDK's generated
    # types (sdk/, `npm run generate`) and the test that keeps them equal.
    import json

    print(json.dumps(build_document(services().settings.version), indent=2, sort_keys=True))
