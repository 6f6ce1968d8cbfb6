{#
    What the warehouse saw of each raw table, for the people reading the marts: whether
    the company has it, how many rows arrived, were staged and rejected, over which
    period, which mart areas it feeds, and what it means for them. A NULL in a mart
    column whose source is unobserved here is unknown, not zero.
#}
with

observed as (
    select * from {{ ref('int_raw_tables_observed') }}
),

final as (
    select
        source_table,
        table_name,
        observation_status,
        is_declared_absent,
        is_observed,
        cast(raw_rows as {{ dbt.type_bigint() }}) as raw_rows,
        cast(staged_rows as {{ dbt.type_bigint() }}) as staged_rows,
        cast(rejected_rows as {{ dbt.type_bigint() }}) as rejected_rows,
        first_activity_at,
        last_activity_at,
        case observation_status
            when 'observed' then null
            when 'declared_absent'
                then 'the company has no such data (declared absent): figures from it are null'
            when 'empty'
                then 'exported without rows: figures from it are null, not zero'
            when 'all_rows_rejected'
                then 'every row was rejected (see its rejected-rows table): figures from it are null'
        end as consequence
    from observed
)

select * from final
