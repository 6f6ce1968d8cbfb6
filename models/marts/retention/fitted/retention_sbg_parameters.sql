{#
    On targets that cannot run the Python model retention_sbg_parameters (Spark), this
    model of the same name takes its place: the Python model's output from a DuckDB
    build of the same data, read unchanged (macro cx_fitted_table, var cx_fitted_dir).
#}
select * from {{ cx_fitted_table('retention_sbg_parameters') }}
