with

{% for raw in cx_raw_tables() %}
    {%- set model_suffix = raw.source ~ '__' ~ raw.table %}
    counts_{{ raw.table }} as (
        select
            '{{ raw.source }}.{{ raw.table }}' as source_table,
            (select count(*) from {{ ref('base_' ~ model_suffix) }}) as raw_rows,
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
        source_table,
        raw_rows,
        staged_rows,
        rejected_rows,
        removed_duplicate_rows,
        raw_rows = staged_rows + rejected_rows + removed_duplicate_rows as is_reconciled
    from unioned
)

select * from final
