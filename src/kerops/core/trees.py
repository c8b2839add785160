"""Self-referencing trees (areas, assets): ancestors and subtree height, one recursive query each.

The model needs ``id`` and ``parent_id`` columns; ``max_depth`` bounds every walk, so a corrupt
cycle can never make a query run forever.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession


async def ancestor_ids(
    session: AsyncSession, model: Any, node_id: uuid.UUID, *, max_depth: int
) -> list[uuid.UUID]:
    """The node and its ancestors, nearest first (the walk stops past ``max_depth``)."""
    name = model.__tablename__
    start = (
        select(model.id, model.parent_id, literal(1).label("depth"))
        .where(model.id == node_id)
        .cte(f"{name}_ancestors", recursive=True)
    )
    step = (
        select(model.id, model.parent_id, (start.c.depth + 1).label("depth"))
        .join(start, model.id == start.c.parent_id)
        .where(start.c.depth <= max_depth)
    )
    tree = start.union_all(step)
    rows = await session.execute(select(tree.c.id).order_by(tree.c.depth))
    return list(rows.scalars().all())


async def subtree_height(
    session: AsyncSession, model: Any, node_id: uuid.UUID, *, max_depth: int
) -> int:
    """How many levels hang below the node (0 for a leaf; the walk stops past ``max_depth``)."""
    name = model.__tablename__
    start = (
        select(model.id, literal(0).label("level"))
        .where(model.id == node_id)
        .cte(f"{name}_descendants", recursive=True)
    )
    step = (
        select(model.id, (start.c.level + 1).label("level"))
        .join(start, model.parent_id == start.c.id)
        .where(start.c.level <= max_depth)
    )
    tree = start.union_all(step)
    height = (await session.execute(select(func.max(tree.c.level)))).scalar_one()
    return int(height or 0)
