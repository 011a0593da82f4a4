"""The answers every API call may give besides its own, written into the OpenAPI schema
once (a drf-spectacular postprocessing hook) rather than on each view: without a valid
token 401, not allowed 403, too many calls 429, an unknown id or a page past the end
404, a bad filter or body 400, a body that is not JSON 415. An integrator reading the
schema then knows every status a call can answer, and schemathesis holds the API to it."""

from __future__ import annotations

from typing import Any

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Each field in error with its messages; a problem with the whole request under "
    "non_field_errors, or under detail when the body could not be read.",
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


def _answer(description: str, schema_name: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
    }


def document_error_answers(result: dict, generator: Any, request: Any, public: bool) -> dict:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorDetail", DETAIL)
    schemas.setdefault("FieldErrors", FIELD_ERRORS)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            parameters = operation.get("parameters", [])
            query = [parameter for parameter in parameters if parameter["in"] == "query"]
            answers = {
                "401": _answer("No token, or an expired or revoked one.", "ErrorDetail"),
                "403": _answer("The token's user may not do this.", "ErrorDetail"),
                "429": _answer("Too many calls; wait as Retry-After says.", "ErrorDetail"),
            }
            if any(parameter["in"] == "path" for parameter in parameters) or any(
                parameter["name"] == "page" for parameter in query
            ):
                answers["404"] = _answer("No such object visible to the token's user, or a page past the end.",
                                         "ErrorDetail")
            if query or "requestBody" in operation:
                answers["400"] = _answer("A filter or field is invalid; the answer names it.", "FieldErrors")
            if "requestBody" in operation:
                answers["415"] = _answer("The body is not JSON.", "ErrorDetail")
            for status, answer in answers.items():
                operation["responses"].setdefault(status, answer)
    return result
