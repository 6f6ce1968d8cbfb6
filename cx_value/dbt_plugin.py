"""dbt-duckdb plugin that imports the modelling helpers before dbt runs any model.

dbt runs Python models on several threads. Two models importing different parts
of ``cx_value.clv`` at the same moment can deadlock on Python's per-module import
locks (the package ``__init__`` imports its submodules while another thread is
inside one of them). The plugin is created once, when dbt opens the DuckDB
environment, so importing everything here makes the later imports plain lookups.
Enabled in ``profiles.yml`` under ``plugins``.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

import cx_value.churn
import cx_value.clv

PRELOADED = (cx_value.churn, cx_value.clv)


class Plugin(BasePlugin):
    """Nothing to configure: importing this module is the whole job."""
