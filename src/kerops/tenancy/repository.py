"""SQL of the area tree: ancestors and subtree height, each in one recursive query."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import trees
from kerops.tenancy.models import LocalArea

#: The deepest an area may sit (a top-level area is at depth 1).
MAX_AREA_DEPTH = 12


async def ancestor_ids(session: AsyncSession, area_id: uuid.UUID) -> list[uuid.UUID]:
    """The area and its ancestors, nearest first (the walk stops past ``MAX_AREA_DEPTH``)."""
    return await trees.ancestor_ids(session, LocalArea, area_id, max_depth=MAX_AREA_DEPTH)


async def subtree_height(session: AsyncSession, area_id: uuid.UUID) -> int:
    """How many levels hang below the area (0 for a leaf; the walk stops past the cap)."""
    return await trees.subtree_height(session, LocalArea, area_id, max_depth=MAX_AREA_DEPTH)
