with

erased as (
    select * from {{ ref('stg_erasure__raw_rows_counted') }}
),

{% for raw in cx_raw_tables() %}
    {%- set model_suffix = raw.source ~ '__' ~ raw.table %}
    counts_{{ raw.table }} as (
        select
            '{{ raw.source }}.{{ raw.table }}' as source_table,
            (select count(*) from {{ ref('base_' ~ model_suffix) }}) as read_rows,
            (select count(*) from {{ ref('stg_' ~ model_suffix) }}) as staged_rows,
            (select count(*) from {{ ref('stg_' ~ model_suffix ~ '_rejected') }}) as rejected_rows,
            (
                select count(*) from {{ ref('base_' ~ model_suffix) }}
                where is_removed_duplicate
            ) as removed_duplicate_rows
    ),

{% endfor %}
unioned as (
    {%- for raw in cx_raw_tables() %}
        select * from counts_{{ raw.table }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        unioned.source_table,
        unioned.staged_rows,
        unioned.rejected_rows,
        unioned.removed_duplicate_rows,
        erased.erased_rows,
        -- erased rows were never read (cx_erasure.sql): the raw rows are then counted
        -- without the erasure filter; otherwise the base model read every raw row
        coalesce(erased.raw_rows, unioned.read_rows) as raw_rows,
        coalesce(erased.raw_rows, unioned.read_rows)
        = unioned.staged_rows + unioned.rejected_rows + unioned.removed_duplicate_rows
        + erased.erased_rows as is_reconciled
    from unioned
    inner join erased
        on unioned.source_table = erased.source_table
)

select * from final
