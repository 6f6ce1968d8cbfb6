{#
    The extension point for an export's own attributes: extra columns of `customers`
    and `subscriptions` that the contract does not know, declared by the var
    cx_extra_columns (docs/extra_columns.md):

        cx_extra_columns:
          customers:
            - {name: payment_method, type: categorical, churn_feature: true}
            - {name: data_usage_gb, type: numeric, churn_feature: true}

    Staging reads, types and validates them like contract columns (a numeric value
    that does not parse rejects the row as invalid_number); the churn features carry
    the ones flagged churn_feature. Everything is checked at compile time, so a
    mistake stops the build with a message instead of a silently dropped column.
#}

{# Tables whose extra columns can be carried: the two with one row per customer or term. #}
{% macro cx_extra_column_tables() -%}
    {{ return(['customers', 'subscriptions']) }}
{%- endmacro %}

{# Parts of a column name that mark personal data; any one refuses the column. #}
{% macro cx_personal_name_parts() -%}
    {{ return([
        'name', 'firstname', 'lastname', 'surname', 'fullname', 'username',
        'email', 'mail', 'phone', 'mobile', 'telephone', 'tel', 'fax',
        'address', 'street', 'postcode', 'postal', 'zip', 'zipcode',
        'birth', 'birthday', 'birthdate', 'dob', 'ssn', 'passport', 'iban',
        'ip', 'ipaddress', 'card', 'nationalid', 'taxid',
    ]) }}
{%- endmacro %}

{# Substrings that mark personal data even inside one word (emailaddress, homephone). #}
{% macro cx_personal_name_fragments() -%}
    {{ return(['email', 'phone', 'address', 'birth', 'passport', 'surname', 'name']) }}
{%- endmacro %}

{#
    Columns the staged models or the churn features already have: an extra column may
    not shadow one of them.
#}
{% macro cx_reserved_column_names() -%}
    {%- set reserved = [
        'account_name_hash', 'country_code', 'plan_name', 'currency_code',
        'raw_row_hash', 'raw_values', 'raw_key', 'reject_reason', 'is_removed_duplicate',
        'cutoff_at', 'as_of_date', 'is_churned', 'is_renewed', 'is_current',
    ] -%}
    {%- for spec in cx_raw_tables() if spec.table in cx_extra_column_tables() -%}
        {%- do reserved.extend(spec.columns) -%}
    {%- endfor -%}
    {%- for feature in cx_churn_builtin_features() -%}
        {%- do reserved.append(feature.name) -%}
    {%- endfor -%}
    {{ return(reserved) }}
{%- endmacro %}

{# Why a column name looks personal, or an empty string when it does not. #}
{% macro cx_personal_reason(column_name) -%}
    {%- if column_name in cx_pii_columns() -%}
        {{ return("it is a personal column of the raw-data contract") }}
    {%- endif -%}
    {%- for part in column_name.split('_') if part in cx_personal_name_parts() -%}
        {{ return("its name contains '" ~ part ~ "', which marks personal data") }}
    {%- endfor -%}
    {%- for fragment in cx_personal_name_fragments() if fragment in column_name -%}
        {{ return("its name contains '" ~ fragment ~ "', which marks personal data") }}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

{#
    Every declared extra column, validated: a list of {table, name, type,
    churn_feature}. `table_name` restricts it to one table.
#}
{% macro cx_extra_columns(table_name=none) -%}
    {%- set declared = var('cx_extra_columns', {}) or {} -%}
    {%- if declared is string -%}
        {%- set declared = fromyaml(declared) or {} -%}
    {%- endif -%}
    {%- if declared is not mapping -%}
        {{ exceptions.raise_compiler_error(
            "cx_extra_columns must map a table (customers, subscriptions) to a list of "
            ~ "{name, type, churn_feature} entries, not " ~ declared) }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- set seen = [] -%}
    {%- for table, entries in declared.items() -%}
        {%- if table not in cx_extra_column_tables() -%}
            {{ exceptions.raise_compiler_error(
                "cx_extra_columns names table '" ~ table ~ "': extra columns can be declared "
                ~ "for " ~ cx_extra_column_tables() | join(' and ') ~ " only") }}
        {%- endif -%}
        {%- for entry in (entries or []) -%}
            {%- if entry is not mapping or 'name' not in entry or 'type' not in entry -%}
                {{ exceptions.raise_compiler_error(
                    "cx_extra_columns." ~ table ~ ": every entry needs a name and a type "
                    ~ "(categorical or numeric), not " ~ entry) }}
            {%- endif -%}
            {%- set name = entry['name'] | string | trim | lower -%}
            {%- set kind = entry['type'] | string | trim | lower -%}
            {%- if not modules.re.fullmatch('[a-z][a-z0-9_]*', name) -%}
                {{ exceptions.raise_compiler_error(
                    "cx_extra_columns." ~ table ~ ": '" ~ entry['name'] ~ "' is not a plain "
                    ~ "column name (letters, digits and underscores, starting with a letter)") }}
            {%- endif -%}
            {%- if kind not in ['categorical', 'numeric'] -%}
                {{ exceptions.raise_compiler_error(
                    "cx_extra_columns." ~ table ~ "." ~ name ~ ": type must be categorical or "
                    ~ "numeric, not '" ~ entry['type'] ~ "'") }}
            {%- endif -%}
            {%- set personal = cx_personal_reason(name) -%}
            {%- if personal -%}
                {{ exceptions.raise_compiler_error(
                    "cx_extra_columns." ~ table ~ "." ~ name ~ " is refused: " ~ personal
                    ~ ". Personal data is never carried past staging; declare only "
                    ~ "non-personal attributes (rename the column in the export if it "
                    ~ "is not personal)") }}
            {%- endif -%}
            {%- if name in cx_reserved_column_names() -%}
                {{ exceptions.raise_compiler_error(
                    "cx_extra_columns." ~ table ~ "." ~ name ~ ": the warehouse already has "
                    ~ "a column of that name; extra columns must not shadow it") }}
            {%- endif -%}
            {%- if name in seen -%}
                {{ exceptions.raise_compiler_error(
                    "cx_extra_columns declares '" ~ name ~ "' twice: names must be unique "
                    ~ "across customers and subscriptions") }}
            {%- endif -%}
            {%- set is_feature = entry.get('churn_feature', false) -%}
            {%- if is_feature not in [true, false] -%}
                {{ exceptions.raise_compiler_error(
                    "cx_extra_columns." ~ table ~ "." ~ name ~ ": churn_feature must be true "
                    ~ "or false") }}
            {%- endif -%}
            {%- do seen.append(name) -%}
            {%- if table_name is none or table_name == table -%}
                {%- do columns.append({
                    'table': table, 'name': name, 'type': kind, 'churn_feature': is_feature,
                }) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{# The names of a table's extra columns. #}
{% macro cx_extra_column_names(table_name) -%}
    {{ return(cx_extra_columns(table_name) | map(attribute='name') | list) }}
{%- endmacro %}

{#
    The typed extra columns of a base model's `parsed` CTE: a numeric one as a double
    and its raw text (to tell empty from invalid), a categorical one lower-cased and
    trimmed like every vocabulary value (empty is NULL).
#}
{% macro cx_parse_extra_columns(table_name) -%}
    {%- for column in cx_extra_columns(table_name) -%}
        ,
        {%- if column.type == 'numeric' %}
        {{ adapter.dispatch('cx_try_cast', 'cx_value')(cx_text(column.name), dbt.type_float()) }}
            as {{ column.name }},
        {{ cx_text(column.name) }} as {{ column.name }}_text
        {%- else %}
        {{ cx_code(column.name) }} as {{ column.name }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{# A reject condition: some numeric extra column holds text that is not a number. #}
{% macro cx_invalid_extra_number(table_name, prefix='') -%}
    {%- set checks = [] -%}
    {%- for column in cx_extra_columns(table_name) if column.type == 'numeric' -%}
        {%- do checks.append(cx_invalid(prefix ~ column.name)) -%}
    {%- endfor -%}
    {%- if checks -%}
        ({{ checks | join(' or ') }})
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{# `, name_1, name_2` for the select list of a staged model. #}
{% macro cx_select_extra_columns(table_name, prefix='') -%}
    {%- for name in cx_extra_column_names(table_name) -%}
        , {{ prefix }}{{ name }}
    {%- endfor -%}
{%- endmacro %}
