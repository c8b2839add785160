"""a client's default language; a user's own language may be unset

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 19:30:00

``clients.language`` (es-CL by default) answers the people of a client who chose no language and
whose browser names neither Spanish nor English. ``users.language`` becomes nullable: null means
the person chose none (their browser's language, else their client's, is used). Existing users
keep the language they have. Downgrade: an unset language becomes es-CL again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite_foreign_keys(on: bool) -> None:
    """SQLite: foreign keys off while the users table is copied (dropping it would otherwise
    delete its children through ON DELETE CASCADE), and back on, checked (as in 0015)."""
    if context.is_offline_mode() or op.get_bind().dialect.name != "sqlite":
        return
    cursor = op.get_bind().connection.cursor()
    try:
        if on:
            cursor.execute("PRAGMA foreign_key_check")
            broken = cursor.fetchall()
            if broken:
                raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
        cursor.execute("COMMIT")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
        cursor.execute("BEGIN IMMEDIATE")
    finally:
        cursor.close()


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=16), server_default="es-CL", nullable=False)
        )
    _sqlite_foreign_keys(False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("language", existing_type=sa.String(length=16), nullable=True)
    _sqlite_foreign_keys(True)


def downgrade() -> None:
    op.execute("UPDATE users SET language = 'es-CL' WHERE language IS NULL")
    _sqlite_foreign_keys(False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("language", existing_type=sa.String(length=16), nullable=False)
    _sqlite_foreign_keys(True)
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("language")
