"""Connections to the stockroute database: a small pool, queries with bound parameters.

Every statement the console runs is a constant string with %s placeholders;
values travel as parameters (psycopg2 binds them), never inside SQL text.
"""
import contextlib
import logging

import psycopg2
import psycopg2.extensions
import psycopg2.extras
import psycopg2.pool

log = logging.getLogger("console.db")

APPLICATION_NAME = "stockroute-console"


class _Connection(psycopg2.extensions.connection):
    """A pooled connection that remembers whether its session was set up."""
    ready = False


class Database:
    """A thread-safe pool of connections to one database, as one role.

    dsn is a libpq connection string or URL; empty means the PG* environment
    variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, ...).
    """

    def __init__(self, dsn="", keep=4, maxconn=10, timezone="UTC"):
        """keep: connections opened now and kept between requests; maxconn: the most at once."""
        self.dsn = dsn or ""
        self.timezone = timezone
        self.pool = psycopg2.pool.ThreadedConnectionPool(
            keep, maxconn, self.dsn, application_name=APPLICATION_NAME, connection_factory=_Connection)

    def close(self):
        self.pool.closeall()

    @contextlib.contextmanager
    def connect(self):
        """A connection for one unit of work; rolled back (never committed) on the way out."""
        conn = self.pool.getconn()
        broken = False
        try:
            if conn.closed:
                self.pool.putconn(conn, close=True)
                conn = self.pool.getconn()
            if not conn.ready:
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_catalog.set_config('TimeZone', %s, false)", (self.timezone,))
                conn.commit()
                conn.ready = True
            yield conn
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            broken = True
            raise
        finally:
            if not broken and not conn.closed:
                try:
                    conn.rollback()
                except psycopg2.Error:
                    broken = True
            self.pool.putconn(conn, close=broken or bool(conn.closed))


def rows(conn, sql, params=()):
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def row(conn, sql, params=()):
    found = rows(conn, sql, params)
    return found[0] if found else None


def value(conn, sql, params=()):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        found = cur.fetchone()
        return found[0] if found else None


def describe_error(e):
    """'SQLSTATE: message' (and the hint) of a database error, as the database said it."""
    diag = getattr(e, "diag", None)
    if diag is not None and diag.message_primary:
        message = diag.message_primary
    else:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    text = f"{e.pgcode}: {message}" if getattr(e, "pgcode", None) else message
    if diag and diag.message_hint:
        text += f" ({diag.message_hint})"
    return text


def Json(value):
    return psycopg2.extras.Json(value)
