"""The `nexus` command: `serve`, `migrate`, `user add`.

`serve` flags mirror the settings one for one (`--workspace-root` is
`NEXUS_WORKSPACE_ROOT`), so the two can never drift apart.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from pydantic import ValidationError

from server.config import Settings


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    for name, field in Settings.model_fields.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=None,
            metavar=name.upper(),
            help=f"{field.description} (NEXUS_{name.upper()})",
        )


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {
        name: value
        for name in Settings.model_fields
        if (value := getattr(args, name, None)) is not None
    }
    return Settings(**overrides)


def serve(settings: Settings) -> None:
    import uvicorn

    from server.app import create_app
    from server.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        ws="websockets-sansio",
        ws_per_message_deflate=settings.ws_compression,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )


async def _migrate(settings: Settings) -> None:
    from server.storage import create_engine, migrate

    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


async def _add_user(settings: Settings, username: str, admin: bool, password: str) -> None:
    from server.auth import hash_password
    from server.storage import UserStore, create_engine, migrate

    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate(engine)
        user = await UserStore(engine).create(
            username, await hash_password(password), is_admin=admin
        )
        print(f"created user {user.username} (id {user.id})")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nexus", description="NEXUS collaborative IDE server")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_setting_flags(commands.add_parser("serve", help="start the server"))
    _add_setting_flags(commands.add_parser("migrate", help="apply database migrations"))
    user = commands.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True
    )
    add = user.add_parser("add", help="create a user (password read from stdin or a prompt)")
    add.add_argument("username")
    add.add_argument("--admin", action="store_true")
    _add_setting_flags(add)
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
    except ValidationError as exc:
        parser.error(str(exc))
    if args.command == "serve":
        serve(settings)
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "user":
        password = getpass.getpass() if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        if len(password) < 8:
            parser.error("the password must have at least 8 characters")
        asyncio.run(_add_user(settings, args.username, args.admin, password))


if __name__ == "__main__":
    main()
