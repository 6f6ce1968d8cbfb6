{#
    Nothing is lost in staging: for one raw table, the raw rows (counted on the
    raw data itself, erased customers' rows included) equal the staged rows plus the
    rejected rows plus the removed duplicates plus the rows of the erasure list's
    customers (macros/raw/cx_erasure.sql; none without a list). Fails with the five
    counts when they do not add up.
#}
{% test cx_reconciles_with_raw(model, source_name, table_name) %}
{%- set suffix = source_name ~ '__' ~ table_name -%}

with

raw_rows as (
    select count(*) as row_count from {{ cx_source(source_name, table_name, rows='all') }}
),

erased_rows as (
    select count(*) as row_count from {{ cx_source(source_name, table_name, rows='erased') }}
),

staged_rows as (
    select count(*) as row_count from {{ model }}
),

rejected_rows as (
    select count(*) as row_count from {{ ref('stg_' ~ suffix ~ '_rejected') }}
),

removed_duplicates as (
    select count(*) as row_count from {{ ref('base_' ~ suffix) }}
    where is_removed_duplicate
),

final as (
    select
        raw_rows.row_count as raw_row_count,
        staged_rows.row_count as staged_row_count,
        rejected_rows.row_count as rejected_row_count,
        removed_duplicates.row_count as removed_duplicate_count,
        erased_rows.row_count as erased_row_count
    from raw_rows
    cross join staged_rows
    cross join rejected_rows
    cross join removed_duplicates
    cross join erased_rows
)

select * from final
where raw_row_count
    != staged_row_count + rejected_row_count + removed_duplicate_count + erased_row_count

{% endtest %}
