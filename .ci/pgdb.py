"""PostgreSQL for a CI run: pgdb.py ADMIN_URL ACTION ARGS...

- ``create NAME [OWNER]``: create database NAME (owned by role OWNER);
- ``drop NAME``: drop database NAME;
- ``roles OWNER SERVICE PASSWORD``: create the owner role (runs the migrations, owns the tables)
  and the service role (the app's: owns nothing, no superuser), if missing;
- ``check-service URL``: the service role of URL is no superuser, owns no table, reads the tables
  and, with no scope set, sees no client's rows (row-level security).
"""

import asyncio
import re
import sys

import asyncpg


def _name(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", value):
        raise SystemExit(f"bad name {value!r}")
    return value


async def _check_service(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        role = await conn.fetchrow(
            "SELECT rolsuper, rolbypassrls, (SELECT count(*) FROM pg_tables "
            "WHERE tableowner = current_user) AS owned FROM pg_roles WHERE rolname = current_user"
        )
        assert role is not None and not role["rolsuper"] and not role["rolbypassrls"], role
        assert role["owned"] == 0, role
        await conn.fetchval("SELECT count(*) FROM service_tickets")
        await conn.execute("SET kerops.platform = 'on'")
        owners = await conn.fetchval("SELECT count(*) FROM users WHERE client_id IS NOT NULL")
        await conn.execute("RESET kerops.platform")
        seen = await conn.fetchval("SELECT count(*) FROM users WHERE client_id IS NOT NULL")
        assert seen == 0, f"without a scope the service role sees {seen} of {owners} users"
    finally:
        await conn.close()


async def main(admin_url: str, action: str, *args: str) -> None:
    if action == "check-service":
        await _check_service(args[0])
        return
    conn = await asyncpg.connect(admin_url)
    try:
        if action == "create":
            owner = f" OWNER {_name(args[1])}" if len(args) > 1 else ""
            await conn.execute(f'CREATE DATABASE "{_name(args[0])}"{owner}')
        elif action == "drop":
            await conn.execute(f'DROP DATABASE IF EXISTS "{_name(args[0])}" WITH (FORCE)')
        elif action == "roles":
            owner, service, password = _name(args[0]), _name(args[1]), args[2]
            for role in (owner, service):
                await conn.execute(
                    "DO $$ BEGIN "
                    f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS "
                    f"PASSWORD '{password.replace(chr(39), '')}'; "
                    "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
                )
        else:
            raise SystemExit(f"unknown action {action!r}")
    finally:
        await conn.close()


asyncio.run(main(*sys.argv[1:]))
