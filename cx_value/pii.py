"""The salt of the personal-data pseudonyms (staging's salted SHA-256 of names, e-mail
addresses and phone numbers).

A pseudonym is only as private as its salt: with a known salt, hashing a list of
candidate addresses finds every address that is in it. The demo data may use the public
demo salt; any other data needs a secret salt of its own, which reaches the warehouse as
a DuckDB session variable (set by the dbt plugin, ``cx_value.dbt_plugin``), and on Spark
as a ``${env:CX_PII_SALT}`` reference that Spark substitutes when it parses the SQL, so it
is never written into compiled SQL, dbt's logs or the database.
"""

from __future__ import annotations

from collections.abc import Mapping

SALT_VARIABLE = "CX_PII_SALT"
# the DuckDB session variable the staging SQL reads the salt from
SALT_SQL_VARIABLE = "cx_pii_salt"
DEMO_SALT = "cx-value-demo-salt"
MIN_SALT_LENGTH = 16
UNSAFE_SALT_CHARACTERS = ("'", "\\")


def effective_salt(env: Mapping[str, str]) -> str:
    """The salt a build uses: CX_PII_SALT, else (demo data only) the demo salt."""
    return env.get(SALT_VARIABLE) or DEMO_SALT


def salt_problem(env: Mapping[str, str], raw_mode: str) -> str | None:
    """Why the salt in ``env`` may not pseudonymise data of ``raw_mode`` (None when it may).

    The message never repeats the salt.
    """
    salt = env.get(SALT_VARIABLE, "")
    if any(char in salt for char in UNSAFE_SALT_CHARACTERS):
        # Spark substitutes the salt into a string literal of the SQL text
        # (macros/staging/cx_clean.sql, cx_spark_salt), where these would end it
        return (f"{SALT_VARIABLE} holds a quote or a backslash: Spark substitutes the "
                f"salt into SQL text, where these would end it; choose a salt without them")
    if raw_mode == "demo":
        return None
    if not salt:
        return (f"{SALT_VARIABLE} is not set: outside the demo data, personal values are "
                f"pseudonymised with a secret salt of your own ({MIN_SALT_LENGTH} characters "
                f"or more); set {SALT_VARIABLE} and keep it the same from run to run")
    if salt == DEMO_SALT:
        return (f"{SALT_VARIABLE} is the public demo salt: anyone could re-identify the "
                f"pseudonyms by hashing a list of addresses; set a secret salt of your own")
    if len(salt) < MIN_SALT_LENGTH:
        return (f"{SALT_VARIABLE} is shorter than {MIN_SALT_LENGTH} characters: a short salt "
                f"can be guessed; set a longer secret salt")
    return None
