"""Create or drop a PostgreSQL database for a CI run: pgdb.py ADMIN_URL create|drop NAME."""

import asyncio
import re
import sys

import asyncpg


async def main(admin_url: str, action: str, name: str) -> None:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit(f"bad database name {name!r}")
    conn = await asyncpg.connect(admin_url)
    try:
        if action == "create":
            await conn.execute(f'CREATE DATABASE "{name}"')
        else:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


asyncio.run(main(*sys.argv[1:4]))
