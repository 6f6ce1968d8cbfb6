"""The data-quality gate: Great Expectations suites on the raw data, staging and the
public marts, run as SQL inside DuckDB (see DECISIONLOG.md, "Data-quality gate")."""

from cx_value.quality.validate import Finding, ValidationReport, validate_database

__all__ = ["Finding", "ValidationReport", "validate_database"]
