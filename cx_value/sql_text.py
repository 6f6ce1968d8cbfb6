"""Values and names written into SQL text: quoted so that any content stays one token.

Every path, table or column name and value the package puts into a DuckDB statement it
cannot bind as a parameter (DDL, ATTACH, COPY, read_* file arguments) goes through these.
"""

from __future__ import annotations


def literal(value: object) -> str:
    """A string literal holding ``value``'s text (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted identifier naming ``name`` exactly (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'
