"""The OpenAPI document covers every registered endpoint, its models, errors and auth."""

from __future__ import annotations

from bench.inprocess import invoke
from functions.openapi import build_document
from functions.registry import HTTP_FUNCTIONS, Auth


def test_every_endpoint_and_method_is_documented() -> None:
    document = build_document("test")
    assert document["openapi"] == "3.1.0"
    for function in HTTP_FUNCTIONS:
        for path in function.paths:
            for method in function.methods:
                operation = document["paths"][path][method.lower()]
                assert operation["summary"] == function.summary
                assert "400" in operation["responses"]
                if function.auth in (Auth.USER, Auth.ADMIN):
                    assert operation["security"] == [{"firebaseIdToken": []}]


def test_error_body_and_auth_schemes_are_components() -> None:
    components = build_document("test")["components"]
    assert components["schemas"]["ErrorBody"]["required"] == ["error"]
    assert set(components["securitySchemes"]) == {"firebaseIdToken", "googleServiceIdToken"}


def test_request_models_become_request_bodies() -> None:
    document = build_document("test")
    bodies = [
        op["requestBody"]
        for item in document["paths"].values()
        for op in item.values()
        if "requestBody" in op
    ]
    for body in bodies:
        ref = body["content"]["application/json"]["schema"]["$ref"]
        assert ref.split("/")[-1] in document["components"]["schemas"]


def test_the_document_is_served() -> None:
    response = invoke("openapi", "GET", path="/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["info"]["title"] == "billing-service"


def test_ids_that_name_documents_publish_one_pattern() -> None:
    from shared.ids import DOCUMENT_ID_PATTERN

    document = build_document("test")
    schemas = document["components"]["schemas"]
    assert schemas["DocumentId"]["pattern"] == DOCUMENT_ID_PATTERN
    assert DOCUMENT_ID_PATTERN in document["info"]["description"]
    path_params = [
        param
        for item in document["paths"].values()
        for op in item.values()
        for param in op["parameters"]
        if param["in"] == "path"
    ]
    assert path_params and all(
        p["schema"] == {"$ref": "#/components/schemas/DocumentId"} for p in path_params
    )
    status = document["paths"]["/api/v1/payments/status"]["get"]["parameters"]
    assert [p["schema"]["pattern"] for p in status if p["name"] == "order_id"] == [
        DOCUMENT_ID_PATTERN
    ]
    for model, field in [
        ("UsageBody", "user_id"),
        ("UsageBody", "event_id"),
        ("HoldBody", "user_id"),
    ]:
        assert schemas[model]["properties"][field]["pattern"] == DOCUMENT_ID_PATTERN


def test_every_success_answer_is_typed() -> None:
    document = build_document("test")
    schemas = document["components"]["schemas"]
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if "application/pdf" in response["content"]:  # a document answered as itself
                    assert response["content"]["application/pdf"]["schema"]["format"] == "binary"
                    continue
                schema = response["content"]["application/json"]["schema"]
                name = schema["$ref"].split("/")[-1]
                assert schemas[name]["type"] == "object", (operation["operationId"], status)
                if status.startswith("2"):
                    assert schemas[name]["properties"], operation["operationId"]


def test_enforced_limits_are_published() -> None:
    from functions.http import MAX_BODY_BYTES

    document = build_document("test")
    schemas = document["components"]["schemas"]
    orders = document["paths"]["/api/v1/credits/orders"]["get"]["parameters"]
    assert [p["schema"]["maximum"] for p in orders if p["name"] == "limit"] == [100]
    assert str(MAX_BODY_BYTES) in document["info"]["description"]
    purchase = document["paths"]["/api/v1/credits/purchase"]["post"]["requestBody"]
    assert str(MAX_BODY_BYTES) in purchase["description"]
    assert schemas["PaymentBody"]["properties"]["amount"]["maximum"] == 99_999_999
    assert schemas["PaymentBody"]["properties"]["metadata"]["maxProperties"] == 20
    assert schemas["UsageBody"]["properties"]["amount"]["exclusiveMinimum"] == 0
    assert schemas["UsageBatchBody"]["properties"]["events"]["maxItems"] == 100


def test_an_order_and_its_checkout_carry_the_order_terms_under_one_list_of_names() -> None:
    from functions.wire import OrderTerms
    from shared.purchases.orders import ORDER_TERMS

    assert tuple(OrderTerms.__annotations__) == ORDER_TERMS


def test_operation_ids_are_unique_aliases_included() -> None:
    # OpenAPI requires it, and client generators (the web SDK's types) refuse duplicates.
    document = build_document("test")
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_the_invoice_is_typed_and_its_pdf_is_a_pdf() -> None:
    document = build_document("test")
    schemas = document["components"]["schemas"]
    get = document["paths"]["/api/v1/invoices/{invoice_id}"]["get"]["responses"]["200"]
    assert get["content"]["application/json"]["schema"]["$ref"].endswith("/InvoiceJson")
    assert {"number", "cgst", "sgst", "igst", "place_of_supply"} <= set(
        schemas["InvoiceJson"]["properties"]
    )
    pdf = document["paths"]["/api/v1/invoices/{invoice_id}/pdf"]["get"]["responses"]["200"]
    assert list(pdf["content"]) == ["application/pdf"]
