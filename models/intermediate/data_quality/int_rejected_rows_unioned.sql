with

{% for raw in cx_raw_tables() %}
    rejected_{{ raw.table }} as (
        select * from {{ ref('stg_' ~ raw.source ~ '__' ~ raw.table ~ '_rejected') }}
    ),

{% endfor %}
unioned as (
    {%- for raw in cx_raw_tables() %}
        select
            rejected_row_id,
            source_table,
            raw_key,
            reject_reason,
            raw_values,
            loaded_at
        from rejected_{{ raw.table }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select * from unioned
)

select * from final
