"""What the CLI tells an operator when a command fails: one line naming the problem and the fix, and an exit code.

The exit codes are defined here once; `ses-guard --help` and the README list them from ExitCode.
Messages never quote a statement (it may hold thousands of addresses) nor the database URL (it may hold a password).
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Optional

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, NoSuchModuleError

from ses_guard import migrate, schema
from ses_guard.settings import ConfigurationError, UsersTable


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the command ran and found or met failures: rejected records, failed doctor checks
    USAGE = 2  # bad arguments or settings (environment variables)
    DATABASE = 3  # the database cannot be reached or used: driver, host, port, credentials, database name
    SCHEMA = 4  # tables or columns are not as the guard needs them
    AWS = 5  # no region or credentials, or AWS refused a call
    REFUSED = 6  # a safety check stopped the command before it changed anything
    INTERNAL = 70  # a bug: rerun with --debug and report the traceback


EXIT_CODE_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "the command ran and found failures (rejected records, failed checks)",
    ExitCode.USAGE: "bad arguments or environment variables",
    ExitCode.DATABASE: "the database cannot be reached or used (driver, host, port, credentials, name)",
    ExitCode.SCHEMA: "tables or columns are not as the guard needs (db upgrade, USERS_* variables)",
    ExitCode.AWS: "no AWS region or credentials, or AWS refused a call",
    ExitCode.REFUSED: "a safety check refused to change data",
    ExitCode.INTERNAL: "unexpected error (a bug): rerun with --debug",
}


class CliError(Exception):
    """A failure explained for the operator: the message is the whole line they will read."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code


_TABLE_IN_MESSAGE = re.compile(r"(?:Table '(?:[^'.]+\.)?([^'.]+)' doesn't exist|no such table: (\S+))")
_COLUMN_IN_MESSAGE = re.compile(r"(?:Unknown column '([^']+)'|no such column: (\S+))")
_CANNOT_CONNECT = (
    "cannot connect to MySQL/MariaDB at {where}: check the host and port in DATABASE_URL "
    "and that the server is running and reachable"
)
# MySQL error code -> the line for it ({where}: host:port, {user}, {name}: the database, from the URL).
_MYSQL_CONNECTION_PROBLEMS = {
    1045: "{where} refused user {user!r} (access denied): fix the user or password in DATABASE_URL "
    "(percent-encode special characters, e.g. '@' as %40)",
    1049: "database {name!r} does not exist on {where}: create it (CREATE DATABASE `{name}`) "
    "or fix the database name in DATABASE_URL",
    1046: "DATABASE_URL names no database: end it with /DATABASE_NAME",
    **{code: _CANNOT_CONNECT for code in (2003, 2005, 2006, 2013)},
}


def _where(url: Optional[URL]) -> str:
    if url is None or not url.host:
        return "the database server"
    return f"{url.host}:{url.port or 3306}"


def missing_table(table: str) -> CliError:
    if table in schema.metadata.tables:
        return CliError(ExitCode.SCHEMA, f"table {table} does not exist: run `ses-guard db upgrade`")
    return CliError(
        ExitCode.SCHEMA,
        f"the users table {table!r} does not exist: set USERS_TABLE to the application's users table "
        "(or run `ses-guard db init-demo` for a demo one)",
    )


def missing_column(column: str, users: UsersTable) -> CliError:
    name = column.rpartition(".")[2]
    variables = [variable for field, variable in migrate.USERS_VARIABLES.items() if field != "name"]
    named = [variable for field, variable in migrate.USERS_VARIABLES.items() if getattr(users, field) == name]
    hint = named[0] if named else " / ".join(variables)
    return CliError(
        ExitCode.SCHEMA,
        f"column {column!r} does not exist: set {hint} to the column of {users.name!r} that holds it",
    )


def explain(error: BaseException, users: UsersTable, url: Optional[URL] = None) -> Optional[CliError]:
    """The operator's line for a known kind of failure; None for an unexpected one (a bug)."""
    if isinstance(error, CliError):
        return error
    if isinstance(error, ConfigurationError):
        return CliError(ExitCode.USAGE, str(error))
    if isinstance(error, migrate.SchemaProblem):
        return CliError(ExitCode.SCHEMA, str(error))
    if isinstance(error, migrate.DemoRefused):
        return CliError(ExitCode.REFUSED, str(error))
    if isinstance(error, NoSuchModuleError):
        driver = url.drivername if url is not None else "the URL's"
        return CliError(
            ExitCode.DATABASE,
            f"DATABASE_URL names dialect/driver {driver!r}, which SQLAlchemy does not know: "
            "write mysql+pymysql://USER:PASSWORD@HOST:3306/DATABASE or sqlite:///PATH",
        )
    if isinstance(error, DBAPIError):
        return _database_error(error, users, url)
    return _aws_error(error)


def driver_missing(url: URL, module: str) -> CliError:
    return CliError(
        ExitCode.DATABASE,
        f"DATABASE_URL's {url.drivername}:// needs the Python module {module}, which is not installed: "
        "write mysql+pymysql:// (PyMySQL comes with ses-guard) or install the driver",
    )


def _database_error(error: DBAPIError, users: UsersTable, url: Optional[URL]) -> CliError:
    original = error.orig
    arguments = getattr(original, "args", ())
    code = arguments[0] if arguments and isinstance(arguments[0], int) else None
    text = str(arguments[1] if code is not None and len(arguments) > 1 else original)
    table = _TABLE_IN_MESSAGE.search(text)
    if table:
        return missing_table(table.group(1) or table.group(2))
    column = _COLUMN_IN_MESSAGE.search(text)
    if column:
        return missing_column(column.group(1) or column.group(2), users)
    if code in _MYSQL_CONNECTION_PROBLEMS:
        user, name = (url.username, url.database) if url is not None else ("?", "?")
        return CliError(
            ExitCode.DATABASE, _MYSQL_CONNECTION_PROBLEMS[code].format(where=_where(url), user=user, name=name)
        )
    if "unable to open database file" in text:
        return CliError(
            ExitCode.DATABASE, "cannot open the SQLite file named by DATABASE_URL: check that its directory exists"
        )
    # The driver's own message, first line and bounded: never the statement SQLAlchemy appends.
    summary = text.splitlines()[0][:200] if text else type(original).__name__
    label = f"{type(original).__name__} {code}" if code is not None else type(original).__name__
    return CliError(ExitCode.DATABASE, f"the database failed ({label}: {summary}): rerun with --debug for details")


def _aws_error(error: BaseException) -> Optional[CliError]:
    try:
        from botocore import exceptions as aws
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return None
    if isinstance(error, aws.NoRegionError):
        return CliError(
            ExitCode.AWS, "no AWS region: set AWS_DEFAULT_REGION (or AWS_PROFILE naming a profile with a region)"
        )
    if isinstance(error, (aws.NoCredentialsError, aws.PartialCredentialsError)):
        return CliError(
            ExitCode.AWS,
            "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
            "or run `aws configure`",
        )
    if isinstance(error, aws.EndpointConnectionError):
        return CliError(ExitCode.AWS, f"cannot reach AWS ({error}): check the network, AWS_DEFAULT_REGION and proxies")
    if isinstance(error, aws.ClientError):
        details = error.response.get("Error", {})
        return CliError(
            ExitCode.AWS,
            f"AWS refused {error.operation_name} ({details.get('Code')}: {details.get('Message')}): "
            "check the credentials' permissions and the region",
        )
    if isinstance(error, aws.BotoCoreError):
        return CliError(ExitCode.AWS, f"AWS call failed ({error}): check AWS_DEFAULT_REGION and the credentials")
    return None
