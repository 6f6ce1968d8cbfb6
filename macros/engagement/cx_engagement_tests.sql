{#
    Generic tests of the engagement-value mart. They live with the engagement macros
    because they are about its reconciliation: the mart is a per-customer list that
    BI sums by segment and tier, so a customer missing or counted twice there is a
    wrong total on a dashboard.
#}

{#
    Customers per (segment, tier) add up to the customers of the reference model, and
    every customer of the reference model is in the model exactly once. Returns one
    row per failing check.
#}
{% test cx_customers_reconcile(model, to, group_by) %}

with

grouped as (
    select
        {{ group_by | join(', ') }},
        count(distinct customer_id) as customers
    from {{ model }}
    group by {{ group_by | join(', ') }}
),

grouped_total as (
    select coalesce(sum(customers), 0) as customers from grouped
),

reference_total as (
    select count(*) as customers from {{ to }}
),

missing as (
    select count(*) as customers
    from {{ to }} as reference
    where not exists (
        select 1 from {{ model }} as model_rows
        where model_rows.customer_id = reference.customer_id
    )
),

checks as (
    select
        'grouped customers differ from the reference' as failure,
        grouped_total.customers as observed,
        reference_total.customers as expected
    from grouped_total
    cross join reference_total
    where grouped_total.customers <> reference_total.customers
    union all
    select
        'rows differ from distinct customers' as failure,
        (select count(*) from {{ model }}) as observed,
        (select count(distinct customer_id) from {{ model }}) as expected
    where (select count(*) from {{ model }}) <> (select count(distinct customer_id) from {{ model }})
    union all
    select
        'reference customers missing' as failure,
        missing.customers as observed,
        0 as expected
    from missing
    where missing.customers > 0
)

select * from checks

{% endtest %}

{# A rank column runs 1..n over the rows: with `unique`, every rank is used once. #}
{% test cx_rank_is_dense(model, column_name) %}

select
    min({{ column_name }}) as min_rank,
    max({{ column_name }}) as max_rank,
    count(*) as row_count
from {{ model }}
having
    count(*) > 0
    and (min({{ column_name }}) <> 1 or max({{ column_name }}) <> count(*))

{% endtest %}

{# The strategic potential of a segment (var cx_cev_segment_potential); 0 for a segment not listed. #}
{% macro cx_segment_potential(segment_expression, potentials) -%}
    case {{ segment_expression }}
        {%- for segment_name, potential in potentials.items() %}
            when '{{ segment_name }}' then {{ potential }}
        {%- endfor %}
        else 0.0
    end
{%- endmacro %}
