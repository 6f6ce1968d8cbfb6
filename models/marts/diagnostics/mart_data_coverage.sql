{#
    What the warehouse saw of each raw table, for the people reading the marts: whether
    the company has it, how many rows arrived, were staged and rejected, over which
    period, which mart areas it feeds, and what it means for them. A NULL in a mart
    column whose source is unobserved here is unknown, not zero.

    A table whose rejected share is above var cx_max_rejected_share (the threshold the
    data-quality gate warns at) is flagged with a warning: its rows never stop a build,
    and the figures built from the rows that remain hold, but they miss what was
    rejected. `cx-value summary` prints the warning; BI and CI read it here.
#}
{%- set max_share = var('cx_max_rejected_share', 0.05) | float -%}
{%- set threshold_text = ' rows, more than the ' ~ (max_share * 100) | round(2)
    ~ '% threshold (var cx_max_rejected_share): see stg_' -%}
with

observed as (
    select * from {{ ref('int_raw_tables_observed') }}
),

with_rejected_share as (
    select
        *,
        -- of the rows staging read (an erased customer's rows are not read);
        -- none read: no share, not 0 %
        case
            when raw_rows - erased_rows > 0
                then {{ cx_as_double('rejected_rows') }} / (raw_rows - erased_rows)
        end as rejected_share
    from observed
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
        cast(erased_rows as {{ dbt.type_bigint() }}) as erased_rows,
        {{ cx_as_double('rejected_share') }} as rejected_share,
        rejected_share > {{ max_share }} as is_rejected_share_high,
        case
            when rejected_share > {{ max_share }}
                then {{ dbt.concat([
                    "'staging rejected '",
                    dbt.cast('rejected_rows', dbt.type_string()),
                    "' of '",
                    dbt.cast('raw_rows - erased_rows', dbt.type_string()),
                    "'" ~ threshold_text ~ "'",
                    dbt.replace('source_table', "'.'", "'__'"),
                    "'_rejected'",
                ]) }}
        end as rejected_share_warning,
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
    from with_rejected_share
)

select * from final
