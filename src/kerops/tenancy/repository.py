"""SQL of the area tree: ancestors and subtree height, each in one recursive query."""

from __future__ import annotations

import uuid

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.tenancy.models import LocalArea

#: The deepest an area may sit (a top-level area is at depth 1).
MAX_AREA_DEPTH = 12


async def ancestor_ids(session: AsyncSession, area_id: uuid.UUID) -> list[uuid.UUID]:
    """The area and its ancestors, nearest first (the walk stops past ``MAX_AREA_DEPTH``)."""
    start = (
        select(LocalArea.id, LocalArea.parent_id, literal(1).label("depth"))
        .where(LocalArea.id == area_id)
        .cte("area_ancestors", recursive=True)
    )
    step = (
        select(LocalArea.id, LocalArea.parent_id, (start.c.depth + 1).label("depth"))
        .join(start, LocalArea.id == start.c.parent_id)
        .where(start.c.depth <= MAX_AREA_DEPTH)
    )
    tree = start.union_all(step)
    rows = await session.execute(select(tree.c.id).order_by(tree.c.depth))
    return list(rows.scalars().all())


async def subtree_height(session: AsyncSession, area_id: uuid.UUID) -> int:
    """How many levels hang below the area (0 for a leaf; the walk stops past the cap)."""
    start = (
        select(LocalArea.id, literal(0).label("level"))
        .where(LocalArea.id == area_id)
        .cte("area_descendants", recursive=True)
    )
    step = (
        select(LocalArea.id, (start.c.level + 1).label("level"))
        .join(start, LocalArea.parent_id == start.c.id)
        .where(start.c.level <= MAX_AREA_DEPTH)
    )
    tree = start.union_all(step)
    height = (await session.execute(select(func.max(tree.c.level)))).scalar_one()
    return int(height or 0)
