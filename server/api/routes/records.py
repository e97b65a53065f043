"""``/api/v1/clients`` and ``/api/v1/appointments``: a plain REST API for integrations.

For what is not a desktop app (an online booking form, a reporting script, another
system). Reads come straight from PostgreSQL; writes become mutations stamped with
the server's clock and take the push's path (validate, merge, change number,
``NOTIFY``), so every branch sees them live. One router per collection, made from
the protocol's declaration, so a new collection gets its resource for free.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from protocol.collections import COLLECTIONS, Collection, FieldKind
from protocol.collections import Field as FieldSpec
from protocol.errors import ErrorCode
from protocol.messages import Mutation, MutationResult
from protocol.validate import validate_fields, validate_value
from protocol.version import MAX_QUERY_NUMBER
from protocol.wire import records_path
from server.api.deps import CurrentDevice, RuntimeDep
from server.api.openapi import error_responses
from server.api.record_schemas import record_schemas
from server.api.runtime import Runtime
from server.errors import ApiError
from server.identity.authentication import AuthenticatedDevice
from server.store.record_reads import get_record, list_records
from server.sync.write_path import Author, RowExists, RowGone, RowRule, apply_mutations

__all__ = ["MAX_PAGE", "router"]

MAX_PAGE = 500

_ID = FieldSpec("id", FieldKind.UUID)


def _noun(collection: Collection) -> str:
    return collection.name.removesuffix("s")


def _not_found(collection: Collection, row_id: uuid.UUID) -> ApiError:
    return ApiError(404, ErrorCode.NOT_FOUND, f"no {_noun(collection)} with id {row_id}")


def _refused(code: ErrorCode | str, message: str, field: str | None) -> ApiError:
    return ApiError(422, ErrorCode(code), message, field=field)


async def _live(runtime: Runtime, collection: Collection, row_id: uuid.UUID) -> dict[str, Any]:
    """The row, unless it does not exist or is deleted (404)."""
    async with runtime.engine.connect() as conn:
        record = await get_record(conn, collection, row_id)
    if record is None or record["deleted"]:
        raise _not_found(collection, row_id)
    return record


async def _write(
    runtime: Runtime,
    device: AuthenticatedDevice,
    collection: Collection,
    row_id: uuid.UUID,
    op: str,
    fields: dict[str, Any],
    *,
    rows: RowRule,
) -> MutationResult:
    """One server-stamped mutation through the push's write path; 422 if refused.

    Raises:
        RowExists: ``rows`` is ``NOT_LIVE`` and the row is live.
        ApiError: 404 when ``rows`` is ``LIVE`` and the row is missing or deleted by the
            time the write holds its lock (a delete that committed first wins).
    """
    mutation = Mutation.model_validate(
        {
            "id": uuid.uuid4(),
            "collection": collection.name,
            "row_id": row_id,
            "op": op,
            "fields": fields,
            "hlc": "",
        }
    )
    try:
        [result] = await apply_mutations(
            runtime.writer,
            Author(device.id, device.branch_id),
            [mutation],
            stamp_with_server_clock=True,
            rows=rows,
        )
    except RowGone:
        raise _not_found(collection, row_id) from None
    if result.error is not None:
        raise _refused(result.error.code, result.error.message, result.error.field)
    return result


def _new_id(raw: Any) -> uuid.UUID:
    if raw is None:
        return uuid.uuid4()
    clean, error = validate_value(_ID, raw)
    if error is not None:
        raise _refused(error.code, error.message, error.field)
    if clean is None:  # blank text: validation reads it as "no value"
        raise _refused(ErrorCode.INVALID_UUID, "id is blank; leave it out and the server makes one", "id")
    return uuid.UUID(clean)


def _collection_router(collection: Collection) -> APIRouter:
    schemas = record_schemas(collection)
    noun = _noun(collection)
    router = APIRouter(
        prefix=records_path(collection.name), tags=[collection.name], responses=error_responses(401, 422, 429)
    )

    async def list_items(
        device: CurrentDevice,
        runtime: RuntimeDep,
        q: Annotated[str | None, Query(max_length=200, description="Words that must all appear.")] = None,
        updated_since: Annotated[
            int | None, Query(ge=0, le=MAX_QUERY_NUMBER, description="Only rows changed after this seq.")
        ] = None,
        include_deleted: Annotated[bool, Query(description="Also list deleted rows (for mirrors).")] = False,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_QUERY_NUMBER)] = 0,
    ) -> dict[str, Any]:
        """Rows in change-number order; with ``updated_since`` a mirror follows every change."""
        del device
        if q is not None and "\x00" in q:
            raise ApiError(422, ErrorCode.INVALID_BODY, "q must not contain NUL")
        async with runtime.engine.connect() as conn:
            items, total = await list_records(
                conn,
                collection,
                q=q,
                updated_since=updated_since,
                include_deleted=include_deleted,
                limit=limit,
                offset=offset,
            )
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    async def get_item(row_id: uuid.UUID, device: CurrentDevice, runtime: RuntimeDep) -> dict[str, Any]:
        """The row as stored now (404 when it does not exist or is deleted)."""
        del device
        return await _live(runtime, collection, row_id)

    async def create_item(body: BaseModel, device: CurrentDevice, runtime: RuntimeDep) -> dict[str, Any]:
        """Validated like a push from a branch, stamped with the server's clock, sent to
        every branch live. An ``id`` may be given (for idempotent retries: 409 if taken)."""
        fields = body.model_dump(exclude_unset=True)
        row_id = _new_id(fields.pop("id", None))
        _, errors = validate_fields(collection, fields, creating=True)
        if errors:
            raise _refused(errors[0].code, errors[0].message, errors[0].field)
        try:
            await _write(runtime, device, collection, row_id, "upsert", fields, rows=RowRule.NOT_LIVE)
        except RowExists:
            raise ApiError(
                409,
                ErrorCode.INVALID_MUTATION,
                f"a {noun} with id {row_id} already exists; PATCH it to change it",
                field="id",
            ) from None
        return await _live(runtime, collection, row_id)

    async def patch_item(
        row_id: uuid.UUID, body: BaseModel, device: CurrentDevice, runtime: RuntimeDep
    ) -> dict[str, Any]:
        """Only the given fields change (later than any branch's edit, so they win)."""
        fields = body.model_dump(exclude_unset=True)
        if not fields:
            return await _live(runtime, collection, row_id)
        await _write(runtime, device, collection, row_id, "upsert", fields, rows=RowRule.LIVE)
        return await _live(runtime, collection, row_id)

    async def delete_item(row_id: uuid.UUID, device: CurrentDevice, runtime: RuntimeDep) -> Response:
        """Deletes for every branch; a later edit from a branch would bring the row back."""
        await _write(runtime, device, collection, row_id, "delete", {}, rows=RowRule.LIVE)
        return Response(status_code=204)

    # The body models are built at run time from the collection, so their type can only
    # be given to FastAPI here, before the routes are made (FastAPI reads the annotation
    # to parse and document the body).
    create_item.__annotations__["body"] = schemas.create
    patch_item.__annotations__["body"] = schemas.patch
    routes: list[tuple[str, Any, str, type[BaseModel] | None, int, str, tuple[int, ...]]] = [
        ("", list_items, "GET", schemas.page, 200, f"List {collection.name}", ()),
        ("/{row_id}", get_item, "GET", schemas.out, 200, f"Get one {noun}", (404,)),
        ("", create_item, "POST", schemas.out, 201, f"Create a {noun}", (409,)),
        ("/{row_id}", patch_item, "PATCH", schemas.out, 200, f"Change some fields of a {noun}", (404,)),
        ("/{row_id}", delete_item, "DELETE", None, 204, f"Delete a {noun}", (404,)),
    ]
    for path, endpoint, method, model, status, summary, errors in routes:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            response_model=model,
            status_code=status,
            summary=summary,
            responses=error_responses(*errors),
        )
    return router


router = APIRouter()
for _collection in COLLECTIONS.values():
    router.include_router(_collection_router(_collection))
