{#-
    How many raw rows each table has and how many of them the erasure list removed:
    counts, never a row. Without a list nothing is erased and the base models read
    every raw row, so the raw count is theirs (null here, not a second read).
-#}
{%- set erasing = cx_erasure_active() -%}

with

{% for raw in cx_raw_tables() %}
    counts_{{ raw.table }} as (
        select
            '{{ raw.source }}.{{ raw.table }}' as source_table,
            {%- if erasing %}
                (
                    select count(*)
                    from {{ cx_source(raw.source, raw.table, rows='all') }} as every_row
                ) as raw_rows,
            {%- else %}
                cast(null as {{ dbt.type_bigint() }}) as raw_rows,
            {%- endif %}
            (
                select count(*)
                from {{ cx_source(raw.source, raw.table, rows='erased') }} as erased
            ) as erased_rows
    ),

{% endfor %}
final as (
    {%- for raw in cx_raw_tables() %}
        select * from counts_{{ raw.table }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from final
