{#
    Helpers for the base -> staged / rejected split that every staging model uses.
#}

{# Null-safe text of a raw column for hashing and display; <null> marks a null. #}
{% macro cx_raw_text(column) -%}
    coalesce(cast({{ column }} as {{ dbt.type_string() }}), '<null>')
{%- endmacro %}

{# A hash of the whole raw row: identical raw rows get the same hash. #}
{% macro cx_row_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append(cx_raw_text(column)) -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#
    The raw row as one readable `column=value` string for the rejected-rows
    tables. Personal columns are shown pseudonymised, never in clear.
#}
{% macro cx_raw_values(columns, pii_columns=[], prefix='') -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("'" ~ column ~ "='") -%}
        {%- if column in pii_columns -%}
            {%- do parts.append("coalesce(" ~ cx_pseudonymise(cx_text(prefix ~ column)) ~ ", '<null>')") -%}
        {%- else -%}
            {%- do parts.append(cx_raw_text(prefix ~ column)) -%}
        {%- endif -%}
        {%- if not loop.last %}{% do parts.append("' | '") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#
    The raw columns carried, renamed raw__<column>, from the parse to the verdicts
    (cx_base_verdicts), which need them only for the few rows that are rejected or share
    their key.
#}
{% macro cx_raw_passthrough(columns) -%}
    {%- for column in columns %}
        {{ column }} as raw__{{ column }}{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#
    The last steps of a base model: from `relation` (parsed, validated rows that still
    carry the raw__ columns) to every raw row with its verdict. Of the valid rows of one
    key, the one exported last (on a tie, the one with the smaller row hash, so reruns
    pick the same) is staged. Another valid copy is a removed duplicate when it is
    identical to the staged one or was exported earlier; a copy exported at the same
    loaded_at with other content is rejected (conflicting_duplicate): the export does not
    say which is right, so the choice is kept but shown. Ranking, hashing and showing the
    raw row cost most of a base model, so they are done only where they matter: only
    keys with several valid rows are ranked, and the hash and the raw row as text are
    kept only for rejected rows (the rejected-rows models show them) and for rows of
    such keys (the hash breaks ties). The reject reason is the last column.
    Emits the CTEs duplicate_keys ... final; the model ends with `select * from final`.
#}
{% macro cx_base_verdicts(relation, key_column, raw_columns, pii_columns=[]) -%}
    {%- set passthrough = [] -%}
    {%- set content = [] -%}
    {%- for column in raw_columns -%}
        {%- do passthrough.append('raw__' ~ column) -%}
        {#- the content of a copy: every raw column but its export time -#}
        {%- if column != 'loaded_at' %}{% do content.append('raw__' ~ column) %}{% endif -%}
    {%- endfor -%}
    {%- set ranking = "partition by " ~ key_column ~ " order by loaded_at desc, raw_row_hash" -%}
duplicate_keys as (
    select {{ key_column }} as duplicate_key
    from {{ relation }}
    where reject_reason is null
    group by {{ key_column }}
    having count(*) > 1
),

single_rows as (
    select
        {{ cx_star_except(relation, passthrough + ['reject_reason']) }},
        case
            when {{ relation }}.reject_reason is not null then {{ cx_row_hash(passthrough) }}
        end as raw_row_hash,
        case
            when {{ relation }}.reject_reason is not null
                then {{ cx_raw_values(raw_columns, pii_columns=pii_columns, prefix='raw__') }}
        end as raw_values,
        false as is_removed_duplicate,
        {{ relation }}.reject_reason
    from {{ relation }}
    left join duplicate_keys
        on {{ relation }}.{{ key_column }} = duplicate_keys.duplicate_key
    where
        {{ relation }}.reject_reason is not null
        or duplicate_keys.duplicate_key is null
),

duplicate_candidates as (
    select
        {{ relation }}.*,
        {{ cx_row_hash(passthrough) }} as raw_row_hash,
        {{ cx_row_hash(content) }} as raw_content_hash
    from {{ relation }}
    inner join duplicate_keys
        on {{ relation }}.{{ key_column }} = duplicate_keys.duplicate_key
    where {{ relation }}.reject_reason is null
),

duplicate_ranked as (
    select
        *,
        row_number() over ({{ ranking }}) as key_occurrence,
        first_value(loaded_at) over ({{ ranking }}) as staged_loaded_at,
        first_value(raw_content_hash) over ({{ ranking }}) as staged_content_hash
    from duplicate_candidates
),

duplicate_judged as (
    select
        *,
        key_occurrence > 1
        and loaded_at = staged_loaded_at
        and raw_content_hash != staged_content_hash as is_conflicting
    from duplicate_ranked
),

duplicate_rows as (
    select
        {{ cx_star_except('duplicate_judged', passthrough + [
            'reject_reason', 'raw_content_hash', 'key_occurrence', 'staged_loaded_at',
            'staged_content_hash', 'is_conflicting']) }},
        case
            when is_conflicting
                then {{ cx_raw_values(raw_columns, pii_columns=pii_columns, prefix='raw__') }}
        end as raw_values,
        key_occurrence > 1 and not is_conflicting as is_removed_duplicate,
        case when is_conflicting then 'conflicting_duplicate' end as reject_reason
    from duplicate_judged
),

final as (
    select * from single_rows
    union all
    select * from duplicate_rows
)
{%- endmacro %}

{#
    Every column of a relation but the named ones: `* exclude (...)` on DuckDB,
    `* except (...)` on Spark (3.4 and later) and the warehouses that spell it so.
#}
{% macro cx_star_except(relation, columns) -%}
    {{ return(adapter.dispatch('cx_star_except', 'cx_value')(relation, columns)) }}
{%- endmacro %}

{% macro default__cx_star_except(relation, columns) -%}
    {{ relation }}.* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__cx_star_except(relation, columns) -%}
    {{ relation }}.* except ({{ columns | join(', ') }})
{%- endmacro %}

{# True when a timestamp lies after the row's own export time (beyond the tolerance). #}
{% macro cx_is_future(timestamp_column, loaded_at_column='loaded_at') -%}
    ({{ timestamp_column }} > {{ dbt.dateadd('hour', var('cx_future_tolerance_hours', 24), loaded_at_column) }})
{%- endmacro %}

{# A typed column is invalid when its raw text is present but did not parse. #}
{% macro cx_invalid(column) -%}
    ({{ column }}_text is not null and {{ column }} is null)
{%- endmacro %}

{#
    The rejected-rows model of one raw table: every row of the base model that
    carries a reject reason, with the raw row shown as text (personal columns
    pseudonymised). All rejected-rows models share these columns, so they can
    be stacked for a data-quality report.
#}
{% macro cx_rejected_rows(base_model, source_table) -%}
with

base as (
    select * from {{ ref(base_model) }}
),

rejected as (
    select
        raw_row_hash,
        raw_key,
        reject_reason,
        raw_values,
        loaded_at,
        row_number() over (partition by raw_row_hash order by raw_row_hash) as raw_row_occurrence
    from base
    where reject_reason is not null
),

final as (
    select
        {{ dbt.hash(dbt.concat(["raw_row_hash", "'-'", dbt.cast("raw_row_occurrence", dbt.type_string())])) }}
            as rejected_row_id,
        '{{ source_table }}' as source_table,
        raw_key,
        reject_reason,
        raw_values,
        loaded_at
    from rejected
)

select * from final
{%- endmacro %}

{#
    Every key of a parent table's raw rows, and whether it was staged (any valid copy).
    A child row whose parent is missing from the export is `unknown_<parent>`; one whose
    parent's own row was rejected is `rejected_<parent>`, so the reason points at the
    defect to fix. One row per key.
#}
{% macro cx_known_parents(base_model, key_column) -%}
    select
        {{ key_column }},
        max(case when reject_reason is null then 1 else 0 end) = 1 as is_staged
    from {{ ref(base_model) }}
    where {{ key_column }} is not null
    group by {{ key_column }}
{%- endmacro %}

{% macro cx_known_customers() -%}
    {{ cx_known_parents('base_crm__customers', 'customer_id') }}
{%- endmacro %}

{% macro cx_known_orders() -%}
    {{ cx_known_parents('base_crm__orders', 'order_id') }}
{%- endmacro %}
