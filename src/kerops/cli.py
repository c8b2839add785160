"""The ``kerops`` command: serve, worker, scheduler, mqtt, db upgrade|downgrade|current, demo,
create-admin, inventory verify."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import socket
import sys
from typing import Any

from kerops import __version__
from kerops.config import Settings, get_settings


def _print(msg: str) -> None:
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def _ready_server() -> type[Any]:
    import uvicorn

    class ReadyServer(uvicorn.Server):
        """Uvicorn's server, saying so once it listens (after the app's startup)."""

        def __init__(self, config: uvicorn.Config, *, ready_line: str) -> None:
            super().__init__(config)
            self.ready_line = ready_line

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and not self.should_exit:
                _print(self.ready_line)

    return ReadyServer


def cmd_serve(args: argparse.Namespace) -> int:
    """Apply pending migrations, optionally load the demo data, serve the API."""
    import uvicorn

    from kerops.core.mail import backend_notice
    from kerops.core.migrate import upgrade
    from kerops.demo import DEMO_LOGINS, DEMO_PASSWORD, run_demo
    from kerops.main import create_app

    settings = get_settings()
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    upgrade(settings)
    if args.demo:
        added = asyncio.run(run_demo(settings))
        _print("Demo data loaded." if added else "Demo data already present; nothing added.")
    base = f"http://{settings.host}:{settings.port}"
    _print(f"KER Ops {__version__} is starting at {base}")
    _print(f"  Home page:             {base}/")
    _print(f"  API docs (Swagger UI): {base}/docs")
    _print(f"  Health:                {base}/api/v1/health")
    if args.demo:
        _print(f"  Demo logins (password '{DEMO_PASSWORD}'):")
        for login in DEMO_LOGINS:
            _print(f"    {login.email:<26} {login.role}")
    notice = backend_notice(settings)
    if notice:
        _print(notice)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        # No "server: uvicorn" banner (the app itself sets no Server header either).
        server_header=False,
    )
    _ready_server()(config, ready_line=f"KER Ops is ready at {base} (API docs: {base}/docs)").run()
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """Migrate the database (upgrade, downgrade, current)."""
    from alembic import command

    from kerops.core.migrate import alembic_config, downgrade, upgrade

    settings = get_settings()
    if args.action == "upgrade":
        upgrade(settings, args.revision or "head")
    elif args.action == "downgrade":
        downgrade(settings, args.revision or "-1")
    else:
        command.current(alembic_config(settings), verbose=False)
    return 0


def cmd_demo(_args: argparse.Namespace) -> int:
    """Load the demo data (migrating first); a second run adds nothing."""
    from kerops.core.migrate import upgrade
    from kerops.demo import run_demo

    settings = get_settings()
    upgrade(settings)
    added = asyncio.run(run_demo(settings))
    _print("Demo data loaded." if added else "Demo data already present; nothing added.")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    """Create a platform staff (super admin) account."""
    from kerops.core.migrate import upgrade
    from kerops.users.admin import create_admin

    settings: Settings = get_settings()
    upgrade(settings)
    password = args.password or getpass.getpass("Password: ")
    try:
        asyncio.run(
            create_admin(settings, email=args.email, password=password, full_name=args.name)
        )
    except ValueError as exc:
        _print(f"error: {exc}")
        return 2
    _print(f"Platform admin {args.email} created.")
    return 0


async def _ledger_differences(settings: Settings) -> list[Any]:
    """Every stock row of the configured database whose ``on_hand`` is not its ledger's sum."""
    from kerops.core import row_scope
    from kerops.inventory import ledger
    from kerops.main import build_state

    state = build_state(settings)
    try:
        with row_scope.platform():
            async with state.db.sessions() as session:
                return await ledger.verify(session)
    finally:
        await state.db.dispose()


def cmd_inventory(args: argparse.Namespace) -> int:
    """Check the stock against the ledger: exit 1 and list the differences when any."""
    differences = asyncio.run(_ledger_differences(get_settings()))
    for d in differences:
        _print(
            f"warehouse {d.warehouse_id} product {d.product_id}: on hand {d.on_hand}, "
            f"ledger {d.ledger}"
        )
    if differences:
        _print(f"{len(differences)} stock rows differ from the ledger.")
        return 1
    _print("Stock matches the ledger.")
    return 0


def _external_broker(settings: Settings, command: str) -> bool:
    if settings.broker_url:
        return True
    _print(
        f"error: `kerops {command}` needs KEROPS_BROKER_URL (redis://… or amqp://…); "
        "without it, `kerops serve` runs the jobs and the scheduler itself."
    )
    return False


def cmd_worker(args: argparse.Namespace) -> int:
    """Consume jobs from the broker with N worker processes."""
    from taskiq.cli.worker.args import WorkerArgs
    from taskiq.cli.worker.run import run_worker

    from kerops.core.mail import backend_notice

    settings = get_settings()
    if not _external_broker(settings, "worker"):
        return 2
    notice = backend_notice(settings)
    if notice:
        _print(notice)
    worker_args = WorkerArgs(
        broker="kerops.worker:broker",
        modules=[],
        workers=args.workers,
        configure_logging=True,
        shutdown_timeout=args.shutdown_timeout,
    )
    return run_worker(worker_args) or 0


def cmd_scheduler(_args: argparse.Namespace) -> int:
    """Send the periodic jobs to the broker (run exactly one)."""
    from taskiq.cli.scheduler.args import SchedulerArgs
    from taskiq.cli.scheduler.run import run_scheduler

    if not _external_broker(get_settings(), "scheduler"):
        return 2
    asyncio.run(run_scheduler(SchedulerArgs(scheduler="kerops.worker:scheduler", modules=[])))
    return 0


def cmd_mqtt(_args: argparse.Namespace) -> int:
    """Take IoT readings from MQTT in one process with a persistent session (run one per id)."""
    from kerops.iot.mqtt import run_ingest
    from kerops.main import build_state

    settings = get_settings()
    if not _external_broker(settings, "mqtt"):
        return 2
    if not settings.mqtt_url or not settings.mqtt_client_id:
        _print(
            "error: `kerops mqtt` needs KEROPS_MQTT_URL and KEROPS_MQTT_CLIENT_ID (the fixed "
            "client id of its persistent session)."
        )
        return 2
    asyncio.run(run_ingest(build_state(settings)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``kerops`` command."""
    parser = argparse.ArgumentParser(prog="kerops", description="KER Ops backend")
    parser.add_argument("--version", action="version", version=f"kerops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate and serve the API")
    serve.add_argument("--demo", action="store_true", help="load demo data first (idempotent)")
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", default=None)
    db.set_defaults(func=cmd_db)

    worker = sub.add_parser("worker", help="run job workers (needs KEROPS_BROKER_URL)")
    worker.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    worker.add_argument("--shutdown-timeout", type=float, default=10.0)
    worker.set_defaults(func=cmd_worker)

    scheduler = sub.add_parser("scheduler", help="send periodic jobs (run one)")
    scheduler.set_defaults(func=cmd_scheduler)

    mqtt = sub.add_parser(
        "mqtt", help="take IoT readings from MQTT (persistent session; run one per client id)"
    )
    mqtt.set_defaults(func=cmd_mqtt)

    demo = sub.add_parser("demo", help="load demo data")
    demo.set_defaults(func=cmd_demo)

    inventory = sub.add_parser("inventory", help="stock checks")
    inventory.add_argument(
        "action", choices=["verify"], help="verify: recompute every stock row from the ledger"
    )
    inventory.set_defaults(func=cmd_inventory)

    admin = sub.add_parser("create-admin", help="create a platform admin")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Platform admin")
    admin.add_argument("--password", default=None, help="prompted for when omitted")
    admin.set_defaults(func=cmd_create_admin)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kerops`` console command."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
