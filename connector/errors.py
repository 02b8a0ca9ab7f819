"""Errors mapped once to RFC 9457 `application/problem+json`.

Services raise `GemelloError` subclasses; they never raise `HTTPException`. The handlers here turn
those, request-validation failures, unknown routes and any unexpected exception into problem
documents, so a client always gets a machine-readable body with a useful `detail`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # the web framework loads with the app, not with every CLI command
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Problem types are URNs: stable identifiers that do not pretend to be a web page.
PROBLEM_BASE = "urn:gemello:problem:"

log = logging.getLogger("gemello.errors")


class Problem(BaseModel):
    """An RFC 9457 problem document (extension members are allowed)."""

    model_config = {"extra": "allow"}

    type: str = Field(default="about:blank", description="URI identifying the problem type")
    title: str = Field(description="short, human-readable summary of the problem type")
    status: int = Field(ge=400, le=599)
    detail: str | None = Field(default=None, description="explanation of this occurrence")
    instance: str | None = Field(default=None, description="URI of this occurrence")


class GemelloError(Exception):
    """Base of every domain error; each subclass fixes its title, status and type slug."""

    title: ClassVar[str] = "Gemello error"
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def headers(self) -> Mapping[str, str] | None:
        """Extra response headers (e.g. WWW-Authenticate on 401)."""
        return None

    @property
    def type_uri(self) -> str:
        """The problem type URI for this error class."""
        return PROBLEM_BASE + self.slug


class NotFound(GemelloError):
    """Generic missing resource."""

    title, status, slug = "Not found", 404, "not-found"


class DatasetNotFound(NotFound):
    """A dataset id that this connector does not hold."""

    title, slug = "Dataset not found", "dataset-not-found"


class Conflict(GemelloError):
    """The request clashes with what exists (e.g. a name already taken)."""

    title, status, slug = "Conflict", 409, "conflict"


class Unauthenticated(GemelloError):
    """No credentials, or credentials that do not prove who the caller is.

    `reason` is a stable machine-readable code for the audit log; `detail` says it for people.
    """

    title, status, slug = "Authentication failed", 401, "unauthenticated"

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail, reason=reason)
        self.reason = reason

    def headers(self) -> Mapping[str, str]:
        """RFC 6750 challenge, so clients know a bearer token is expected."""
        if self.reason == "no_token":  # RFC 6750 §3.1: no error code when nothing was sent
            return {"WWW-Authenticate": 'Bearer realm="gemello"'}
        safe = self.detail.encode("ascii", "replace").decode().replace('"', "'")
        return {
            "WWW-Authenticate": f'Bearer realm="gemello", error="invalid_token", '
            f'error_description="{safe}"'
        }


class Forbidden(GemelloError):
    """The caller is known but may not do this."""

    title, status, slug = "Forbidden", 403, "forbidden"

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail, reason=reason)
        self.reason = reason


class BadRequest(GemelloError):
    """A request that is well-formed JSON but asks for something that makes no sense."""

    title, status, slug = "Bad request", 400, "bad-request"


class NotAcceptable(GemelloError):
    """No representation matches the Accept header."""

    title, status, slug = "Not acceptable", 406, "not-acceptable"


class MetadataInvalid(GemelloError):
    """A dataset description that cannot be read or lacks what the model needs."""

    title, status, slug = "Invalid dataset description", 422, "metadata-invalid"


class ShapeViolation(GemelloError):
    """A description that breaks SHACL shapes; `results` lists each violation in words."""

    title, status, slug = "Dataset description violates the shapes", 422, "shape-violation"


class PolicyRejected(GemelloError):
    """An ODRL policy outside Gemello's profile; `errors` lists every problem and where."""

    title, status, slug = "Policy rejected", 422, "policy-rejected"


class UsageDenied(GemelloError):
    """The policy decision point denied the request; `reasons` say why."""

    title, status, slug = "Usage denied", 403, "usage-denied"


class WrongState(GemelloError):
    """A message or act that the process's current state does not accept (the DSP state
    machine's `policy.negotiation.UnexpectedMessage`, or an agreement already revoked)."""

    title, status, slug = "Invalid state transition", 400, "invalid-transition"


class ServiceUnavailable(GemelloError):
    """A dependency (database, policy engine) is not ready."""

    title, status, slug = "Service unavailable", 503, "service-unavailable"


def problem_response(
    status: int,
    title: str,
    detail: str | None,
    type_uri: str = "about:blank",
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    from fastapi.responses import JSONResponse

    body = Problem(
        type=type_uri, title=title, status=status, detail=detail, instance=instance, **extensions
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


# Dataspace Protocol paths answer errors with the protocol's own error message. The body is
# both: an RFC 9457 problem and a DSP `CatalogError` (extension members are allowed in both).
DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
DSP_ERROR_TYPES = (
    ("/catalog/", "CatalogError"),
    ("/negotiations/", "ContractNegotiationError"),
    ("/callback/negotiations/", "ContractNegotiationError"),
    ("/transfers/", "TransferError"),
    ("/callback/transfers/", "TransferError"),
)


def _dsp_fields(path: str, status: int, detail: str | None) -> dict[str, Any]:
    for prefix, dsp_type in DSP_ERROR_TYPES:
        if path.startswith(prefix):
            return {
                "@context": [DSP_CONTEXT],
                "@type": dsp_type,
                "code": str(status),
                "reason": [detail] if detail else [],
            }
    return {}


def _problem_for(
    request: Request,
    status: int,
    title: str,
    detail: str | None,
    type_uri: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    path = str(request.url.path)
    dsp = _dsp_fields(path, status, detail)
    if dsp and dsp["@type"] != "CatalogError":
        # Negotiation and transfer errors must name both processes; "unknown" when the request
        # did not get far enough to know them (e.g. a malformed message).
        for key in ("providerPid", "consumerPid"):
            dsp[key] = str(extensions.get(key) or "unknown")
    extensions |= dsp
    response = problem_response(status, title, detail, type_uri, path, headers, **extensions)
    if _json_only(request.headers.get("accept", "")):
        response.headers["content-type"] = "application/json"
    return response


def _json_only(accept: str) -> bool:
    """Whether a client accepts JSON but not problem+json (or anything): it gets the same
    problem document as `application/json` (OGC clients ask so)."""
    kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return "application/json" in kinds and not kinds & {PROBLEM_MEDIA_TYPE, "*/*", "application/*"}


async def _gemello_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GemelloError)
    return _problem_for(
        request,
        exc.status,
        exc.title,
        exc.detail,
        exc.type_uri,
        headers=exc.headers(),
        **exc.extensions,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if exc.status_code == 404 and detail is None:
        detail = f"no endpoint at {request.method} {request.url.path}; see /docs"
    headers = exc.headers
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        detail = f"{request.method} is not allowed on {request.url.path}; use {', '.join(allowed)}"
        # Starlette names only the first matching route's methods; a path served by several
        # routers (GET for everyone, PUT for stewards) allows all of theirs.
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return _problem_for(request, exc.status_code, phrase, detail, headers=headers)


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves on this request's path (asked of the app's
    own router, so included routers and their prefixes count as they do for a request)."""
    from starlette.routing import Match

    routes = request.app.router.routes
    return [
        method
        for method in HTTP_METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


def _where(loc: tuple[Any, ...]) -> str:
    # ("body", "scenario", 0, "rain") -> "body.scenario[0].rain"
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    from fastapi.exceptions import RequestValidationError

    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": _where(tuple(err.get("loc", ()))), "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    summary = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
    return _problem_for(
        request,
        422,
        "Request validation failed",
        summary or "the request does not match the endpoint's schema",
        PROBLEM_BASE + "validation",
        errors=errors,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not bad input: log it with the traceback, answer without leaking internals.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _problem_for(
        request,
        500,
        "Internal Server Error",
        "the connector hit an unexpected error; it has been logged",
    )


INPUT_REFUSALS = {
    "400": "the request breaks a rule of the connector (problem+json says which)",
    "404": "something the request names does not exist here",
}


def problem_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI document whose error responses say what they are: every 4xx and 5xx is an
    RFC 9457 problem as `application/problem+json` (FastAPI declares `application/json`, and
    its own validation schema for 422, which our handler never sends)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            if operation.get("parameters") or operation.get("requestBody"):
                # What a request names may be refused by the domain (a rule the schema cannot
                # state: 400) or not exist (an id, a dataset, an agreement: 404).
                for status, text in INPUT_REFUSALS.items():
                    responses.setdefault(status, {"description": text})
            for status, response in responses.items():
                if not (status == "default" or (status[:1] in "45" and status.isdigit())):
                    continue
                content = response.setdefault("content", {})
                body = content.pop("application/json", None) or {}
                ref = body.get("schema", {}).get("$ref", "")
                if not ref or ref.endswith("/HTTPValidationError"):
                    body = {"schema": {"$ref": "#/components/schemas/Problem"}}
                content.setdefault(PROBLEM_MEDIA_TYPE, body)
    components.setdefault("Problem", Problem.model_json_schema())
    return schema


def install_problem_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on an app, and describe them in its OpenAPI."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_openapi(plain())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(GemelloError, _gemello_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
