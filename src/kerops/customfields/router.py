"""Custom fields: the fields a client defines on its assets, tickets and locales."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import StringConstraints

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.customfields import service
from kerops.customfields.models import CustomFieldDefinition, FieldEntity
from kerops.customfields.schemas import DefinitionCreate, DefinitionRead, DefinitionUpdate

router = APIRouter(tags=["custom fields"])

DefinitionPage = Annotated[PageParams, sorted_by(service.DEFINITION_SORTS)]
DEFINITION_DOCUMENT = Document(CustomFieldDefinition, DefinitionRead)
FIELD = "/custom-fields/{field_id}"


@router.post("/custom-fields", response_model=DefinitionRead, status_code=status.HTTP_201_CREATED)
async def create_custom_field(
    body: DefinitionCreate, principal: PrincipalDep, session: SessionDep
) -> CustomFieldDefinition:
    """Define a custom field of assets, tickets or locales (the client's owner or admins)."""
    return await service.create_definition(session, principal=principal, data=body)


@router.get("/custom-fields", response_model=Page[DefinitionRead])
async def list_custom_fields(
    reader: ReaderDep,
    page: DefinitionPage,
    entity: FieldEntity | None = None,
    is_active: Annotated[bool | None, Query(description="false: archived fields only")] = None,
) -> Response:
    """The custom fields of the caller's client (sort: position, code, created_at)."""
    items, cursor = await service.list_definitions(
        reader, params=page, entity=entity, is_active=is_active
    )
    return await reader.respond_page(DEFINITION_DOCUMENT, items, cursor)


@router.get(FIELD, response_model=DefinitionRead)
async def get_custom_field(field_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One custom field."""
    return await reader.respond(DEFINITION_DOCUMENT, field_id)


@router.patch(FIELD, response_model=DefinitionRead)
async def update_custom_field(
    field_id: uuid.UUID, body: DefinitionUpdate, principal: PrincipalDep, session: SessionDep
) -> CustomFieldDefinition:
    """Change a custom field; archive it with ``is_active: false`` (its values are kept). Its
    type changes only while no object has a value for it (else 409 ``custom_field_in_use``)."""
    return await service.update_definition(
        session, principal=principal, definition_id=field_id, data=body
    )


@router.delete(FIELD, status_code=status.HTTP_204_NO_CONTENT)
async def delete_custom_field(
    field_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Delete a custom field no object has a value for (else 409 ``custom_field_in_use``:
    archive it instead)."""
    await service.delete_definition(session, principal=principal, definition_id=field_id)


#: The ``field`` filter of the lists of assets, tickets and locales (``kerops.customfields``).
FieldFilters = Annotated[
    list[Annotated[str, StringConstraints(pattern=service.FILTER_PATTERN, max_length=270)]] | None,
    Query(max_length=service.MAX_FILTERS, description=service.FILTER_DESCRIPTION),
]
