{#
    Cleaning rules shared by every staging model. Raw columns may be typed or
    text; every rule starts from the column as trimmed text so that the same
    rule holds whatever the loader produced. A parse that fails gives null, and
    the model compares it with the raw text to tell "empty" from "invalid".
#}

{# Raw value as trimmed text, empty string as null. #}
{% macro cx_text(column) -%}
    nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{# Ids: trimmed, case-normalised (var cx_id_case), empty as null. #}
{% macro cx_id(column) -%}
    {%- set id_case = var('cx_id_case', 'lower') -%}
    {%- if id_case == 'lower' -%}
        lower({{ cx_text(column) }})
    {%- elif id_case == 'upper' -%}
        upper({{ cx_text(column) }})
    {%- else -%}
        {{ cx_text(column) }}
    {%- endif -%}
{%- endmacro %}

{# Lower-cased vocabulary value (stage, channel, status ...). #}
{% macro cx_code(column) -%}
    lower({{ cx_text(column) }})
{%- endmacro %}

{#
    Integers: null when empty or not a whole number. Only digits with an optional sign
    (and a decimal point followed by zeros only, as spreadsheets write whole numbers)
    are read: a cast alone would round '3.5' to 4 and read '1e1', '0x1' and '1_0' as 10,
    1 and 10, so a fractional score or count would be staged as another number.
#}
{% macro cx_integer(column) -%}
    case
        when {{ cx_regex_full_match(cx_text(column), '[+-]?[0-9]+([.]0*)?') }}
            then {{ adapter.dispatch('cx_try_cast', 'cx_value')(cx_text(column), dbt.type_bigint()) }}
    end
{%- endmacro %}

{# True when the whole text matches the (POSIX-style) pattern. #}
{% macro cx_regex_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('cx_regex_full_match', 'cx_value')(expression, pattern)) }}
{%- endmacro %}

{% macro default__cx_regex_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__cx_regex_full_match(expression, pattern) -%}
    ({{ expression }} rlike '^({{ pattern }})$')
{%- endmacro %}

{% macro cx_decimal(column, precision=18, scale=2) -%}
    {{ adapter.dispatch('cx_try_cast', 'cx_value')(
        cx_text(column), 'decimal(' ~ precision ~ ', ' ~ scale ~ ')') }}
{%- endmacro %}

{# Booleans: the usual spellings; anything else is null (and then invalid_value). #}
{% macro cx_boolean(column) -%}
    case
        when lower({{ cx_text(column) }}) in ('true', 't', 'yes', 'y', '1') then true
        when lower({{ cx_text(column) }}) in ('false', 'f', 'no', 'n', '0') then false
    end
{%- endmacro %}

{#
    Timestamps: parsed and converted to UTC; a naive value is taken as var
    cx_source_timezone (UTC). An offset or a zone name (Europe/Helsinki) is honoured; a
    zone abbreviation (EST, CEST) is rejected (invalid_timestamp).
#}
{% macro cx_timestamp(column) -%}
    {{ adapter.dispatch('cx_parse_timestamp_utc', 'cx_value')(cx_text(column)) }}
{%- endmacro %}

{% macro cx_date(column) -%}
    cast({{ adapter.dispatch('cx_try_cast', 'cx_value')(cx_text(column), 'date') }} as date)
{%- endmacro %}

{#
    True when a timestamp's raw text is present but is not a plausible time: it did not
    parse, or lies before the var cx_min_timestamp (placeholders such as 1900-01-01 and
    a zero epoch), or, for the export time loaded_at, after the build's own clock plus
    cx_future_tolerance_hours (an export cannot come from the future; year 9999 would
    otherwise become the observation date). Other timestamps are bounded by their row's
    loaded_at (cx_is_future).
#}
{% macro cx_invalid_time(column) -%}
    ({{ column }}_text is not null and (
        {{ column }} is null
        or {{ column }} < cast({{ cx_sql_string(var('cx_min_timestamp', '1980-01-01')) }}
            as {{ dbt.type_timestamp() }})
        {%- if column.endswith('loaded_at') %}
        or {{ column }} > {{ dbt.dateadd('hour', var('cx_future_tolerance_hours', 24), cx_utc_now()) }}
        {%- endif %}
    ))
{%- endmacro %}

{# The build's clock as a naive UTC timestamp, like every staged timestamp. #}
{% macro cx_utc_now() -%}
    {{ return(adapter.dispatch('cx_utc_now', 'cx_value')()) }}
{%- endmacro %}

{% macro default__cx_utc_now() -%}
    cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__cx_utc_now() -%}
    cast(timezone('UTC', now()) as timestamp)
{%- endmacro %}

{# ---------------------------------------------------------------- dispatched #}

{% macro default__cx_try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{#
    Integer text reaches this cast only as whole-number text (cx_integer), possibly with a
    zero decimal ('9.0'), which DuckDB casts to 9 and Spark's cast to NULL: on Spark the
    text is read as a decimal and rounded first, so both engines give the same number.
#}
{% macro spark__cx_try_cast(expression, data_type) -%}
    {%- if data_type | lower in ['bigint', 'int', 'integer', 'smallint', 'tinyint'] -%}
        try_cast(round(try_cast({{ expression }} as decimal(38, 9))) as {{ data_type }})
    {%- else -%}
        try_cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__cx_parse_timestamp_utc(expression) -%}
    {%- set source_tz = var('cx_source_timezone', 'UTC') -%}
    case
        -- an explicit offset or Z: honour it, then express the instant in UTC (an offset
        -- is at most 6 characters: matching the tail only is half the cost)
        when regexp_matches(right({{ expression }}, 6), '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$')
            then timezone('UTC', try_cast({{ expression }} as timestamptz))
        -- letters after the time: a zone. A plain cast would drop it, so a zone name
        -- (Europe/Helsinki, Etc/GMT+5, UTC, GMT) is converted by its rules; an
        -- abbreviation (EST, CEST, IST) or anything else gives NULL and the row is
        -- rejected: most abbreviations name several zones, EST is written in summer
        -- too, and DuckDB knows some (EST) but not others (CEST)
        when regexp_matches({{ expression }}, '[A-Za-z]{2}')
            then case
                when regexp_matches({{ expression }}, '{{ cx_zone_name_pattern() }}')
                    then timezone('UTC', try_cast({{ expression }} as timestamptz))
            end
        -- naive: wall-clock time in the source's time zone; in UTC it is already the
        -- instant, and the two zone conversions would double the cost of the cast
        {%- if source_tz | upper == 'UTC' %}
            else try_cast({{ expression }} as timestamp)
        {%- else %}
            else timezone('UTC', timezone('{{ source_tz }}', try_cast({{ expression }} as timestamp)))
        {%- endif %}
    end
{%- endmacro %}

{# A timestamp that ends in a zone name (Region/City, Etc/GMT+5) or UTC / GMT. #}
{% macro cx_zone_name_pattern() -%}
    [0-9] ?([A-Za-z_]+/[A-Za-z0-9_/+-]+|UTC|GMT)$
{%- endmacro %}

{% macro spark__cx_parse_timestamp_utc(expression) -%}
    {%- set source_tz = var('cx_source_timezone', 'UTC') -%}
    case
        -- a zone abbreviation (EST, CEST) is rejected, as on DuckDB
        when
            {{ expression }} rlike '[A-Za-z]{2}'
            and not {{ expression }} rlike '{{ cx_zone_name_pattern() }}'
            then null
        when {{ expression }} rlike '(Z|[+-][0-9]{2}(:?[0-9]{2})?|[^0-9])$'
            then to_utc_timestamp(try_cast({{ expression }} as timestamp), current_timezone())
        else to_utc_timestamp(try_cast({{ expression }} as timestamp), '{{ source_tz }}')
    end
{%- endmacro %}

{% macro default__cx_parse_timestamp_utc(expression) -%}
    cast({{ expression }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{# ------------------------------------------------------- pseudonymisation #}

{#
    Personal data is replaced by a salted hash in staging and never carried
    further. The salt comes from the CX_PII_SALT environment variable; the demo data
    may use the public demo salt, any other data must have a secret one of 16
    characters or more (cx_value.pii; the CLI checks it before dbt starts). On DuckDB
    the salt is a session variable the dbt plugin sets (cx_value.dbt_plugin) and the SQL
    reads it with getvariable: it appears in no compiled SQL, no log and no manifest
    (dbt records the values of the env_var calls it renders).
#}
{% macro cx_pseudonymise(expression) -%}
    {{ adapter.dispatch('cx_salted_hash', 'cx_value')(expression) }}
{%- endmacro %}

{# the salt, checked where the SQL runs: outside the demo data a demo or short salt fails #}
{% macro cx_duckdb_salt() -%}
    {%- set salt = "getvariable('cx_pii_salt')" -%}
    case
        when {{ salt }} is null
            then error('the personal-data salt is not set: profiles.yml must load the '
                || 'cx_value.dbt_plugin plugin')::varchar
        {%- if cx_raw_mode() != 'demo' %}
        when {{ salt }} = 'cx-value-demo-salt'
            then error('CX_PII_SALT is not set, or is the public demo salt: outside the demo '
                || 'data, set a secret salt of your own (16 characters or more)')::varchar
        when length({{ salt }}) < 16
            then error('CX_PII_SALT is shorter than 16 characters: set a longer secret salt')::varchar
        {%- endif %}
        else {{ salt }}
    end
{%- endmacro %}

{% macro duckdb__cx_salted_hash(expression) -%}
    case when {{ expression }} is not null
        then sha256({{ dbt.concat([cx_duckdb_salt(), "'|'", expression]) }})
    end
{%- endmacro %}

{#
    Engines without session variables read the salt when the SQL is compiled, so there
    it is in the compiled SQL (as a literal) and in dbt's partial-parse file.
#}
{% macro cx_compiled_salt() -%}
    {%- set salt = env_var('CX_PII_SALT', '') -%}
    {%- if execute and cx_raw_mode() != 'demo'
        and (salt == '' or salt == 'cx-value-demo-salt' or salt | length < 16) -%}
        {{ exceptions.raise_compiler_error(
            "CX_PII_SALT is not set, is the public demo salt or is shorter than 16 "
            ~ "characters: outside the demo data, set a secret salt of your own") }}
    {%- endif -%}
    {{ return(cx_sql_string(salt or 'cx-value-demo-salt')) }}
{%- endmacro %}

{% macro default__cx_salted_hash(expression) -%}
    case when {{ expression }} is not null
        then {{ dbt.hash(dbt.concat([cx_compiled_salt(), "'|'", expression])) }}
    end
{%- endmacro %}

{#
    Spark substitutes ${env:NAME} with the environment variable when it parses a
    statement (spark.sql.variable.substitute, on by default), so the compiled SQL
    holds the reference, never the salt, and the checks run where the SQL runs, as on
    DuckDB. An unset variable stays as the literal text ${env:CX_PII_SALT}, which the
    first branch recognises (spelt in two parts so that it is not substituted itself).
    The settings check refuses a salt with a quote or backslash, which would end the
    literal early.
#}
{% macro cx_spark_salt() -%}
    {%- set salt = "'${env:CX_PII_SALT}'" -%}
    {%- set unset = "concat('$', '{env:CX_PII_SALT}')" -%}
    case
        {%- if cx_raw_mode() == 'demo' %}
        when {{ salt }} = {{ unset }} or {{ salt }} = '' then 'cx-value-demo-salt'
        {%- else %}
        when {{ salt }} = {{ unset }} or {{ salt }} = '' or {{ salt }} = 'cx-value-demo-salt'
            then raise_error('CX_PII_SALT is not set, or is the public demo salt: outside the '
                || 'demo data, set a secret salt of your own (16 characters or more)')
        when length({{ salt }}) < 16
            then raise_error('CX_PII_SALT is shorter than 16 characters: set a longer secret salt')
        {%- endif %}
        else {{ salt }}
    end
{%- endmacro %}

{% macro spark__cx_salted_hash(expression) -%}
    case when {{ expression }} is not null
        then sha2({{ dbt.concat([cx_spark_salt(), "'|'", expression]) }}, 256)
    end
{%- endmacro %}

{# Phone numbers keep only digits and a leading +, so formatting does not change the key. #}
{% macro cx_phone_digits(expression) -%}
    {%- set state = namespace(cleaned=expression) -%}
    {%- for char in [' ', '-', '(', ')', '.', '/'] -%}
        {%- set state.cleaned = "replace(" ~ state.cleaned ~ ", '" ~ char ~ "', '')" -%}
    {%- endfor -%}
    {{ state.cleaned }}
{%- endmacro %}

{# The reporting currency (var cx_currency), upper-cased ISO 4217 code. #}
{% macro cx_currency() -%}
    {%- set code = var('cx_currency', 'EUR') | string | trim | upper -%}
    {%- if code | length != 3 -%}
        {{ exceptions.raise_compiler_error(
            "cx_currency must be a three-letter ISO 4217 code, not '" ~ code ~ "'") }}
    {%- endif -%}
    {{ return(code) }}
{%- endmacro %}

{# True for a three-letter upper-case code (or null: an empty currency is the reporting one). #}
{% macro cx_is_currency_code(expression) -%}
    {{ return(adapter.dispatch('cx_is_currency_code', 'cx_value')(expression)) }}
{%- endmacro %}

{% macro default__cx_is_currency_code(expression) -%}
    coalesce({{ expression }} rlike '^[A-Z]{3}$', true)
{%- endmacro %}

{% macro duckdb__cx_is_currency_code(expression) -%}
    coalesce(regexp_full_match({{ expression }}, '[A-Z]{3}'), true)
{%- endmacro %}
