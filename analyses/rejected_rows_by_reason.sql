-- Data-quality review: how many raw rows each table lost to each reject reason,
-- with one example key, as a share of the table's raw rows.
-- Compile with `dbt compile --select rejected_rows_by_reason` and run the SQL
-- in target/compiled/.

with

rejected as (
    select * from {{ ref('int_rejected_rows_unioned') }}
),

reconciled as (
    select * from {{ ref('int_raw_rows_reconciled') }}
),

by_reason as (
    select
        source_table,
        reject_reason,
        count(*) as rejected_rows,
        min(raw_key) as example_raw_key
    from rejected
    group by source_table, reject_reason
),

final as (
    select
        by_reason.source_table,
        by_reason.reject_reason,
        by_reason.rejected_rows,
        reconciled.raw_rows,
        by_reason.example_raw_key,
        round(100.0 * by_reason.rejected_rows / reconciled.raw_rows, 2) as rejected_pct
    from by_reason
    inner join reconciled
        on by_reason.source_table = reconciled.source_table
)

select * from final
order by source_table asc, rejected_rows desc
