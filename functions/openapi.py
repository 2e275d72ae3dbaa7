"""The OpenAPI 3.1 document, built from the registry and the pydantic models handlers validate with.

Served at ``GET /api/v1/openapi.json``; built once per instance on first request.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel

from functions.http import Call, Contract, Reply, endpoint
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
    "409": "conflict: e.g. the same Idempotency-Key is still running",
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
SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    Auth.USER: [{"firebaseIdToken": []}],
    Auth.ADMIN: [{"firebaseIdToken": []}],
    Auth.SERVICE: [{"googleServiceIdToken": []}],
    Auth.WEBHOOK: [],
    Auth.NONE: [],
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    """Every error the service answers with."""

    error: ErrorDetail


def operation_id(function: HttpFunction, method: str) -> str:
    """The operationId of one method of ``function``: its name, suffixed when it has several."""
    return function.name if len(function.methods) == 1 else f"{function.name}_{method.lower()}"


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


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
    responses: dict[str, Any] = {
        success: {
            "description": "success",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "200" if success == "201" else "201": {
            "description": "success (replayed or already done)",
            "content": {"application/json": {"schema": {"type": "object"}}},
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
    operation: dict[str, Any] = {
        "operationId": operation_id(function, method),
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
            "content": {"application/json": {"schema": _schema(contract.body, components)}},
        }
    return operation


@cache
def build_document(version: str) -> dict[str, Any]:
    """Return the OpenAPI document for every registered HTTP function."""
    import main  # the entry points carry their contracts

    components: dict[str, Any] = {"DocumentId": DOCUMENT_ID_SCHEMA}
    _schema(ErrorBody, components)
    codes = error_codes()  # the one table of codes (README "Error codes" lists the same)
    components["ErrorDetail"]["properties"]["code"]["enum"] = sorted(codes)
    components["ErrorDetail"]["properties"]["code"]["description"] = ", ".join(
        f"{code} ({status})" for code, status in sorted(codes.items(), key=lambda c: (c[1], c[0]))
    )
    paths: dict[str, dict[str, Any]] = {}
    for function in HTTP_FUNCTIONS:
        contract: Contract = getattr(getattr(main, function.name), "contract", Contract())
        for path in function.paths:
            for method in function.methods:
                paths.setdefault(path, {})[method.lower()] = _operation(
                    function, method, path, contract, components
                )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "billing-service",
            "version": version,
            "description": "Prepaid credits and payments for Firebase apps. Amounts are "
            "integers in minor units; credits in credit units (100 = 1 credit). Every id that "
            f"names a document (path ids, order_id, user_id, event_id, hold_id) matches "
            f"{DOCUMENT_ID_PATTERN}; anything else is a 400 naming the field.",
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


@endpoint
def openapi(call: Call) -> Reply:
    return Reply(build_document(services().settings.version))
