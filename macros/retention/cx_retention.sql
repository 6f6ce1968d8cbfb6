{#
    Closed-form sBG scores, the SQL twin of cx_value.clv.retention.sbg_renewal_probability.
    Arguments are SQL expressions.
#}

{# P(next renewal | n renewals so far) = r_{n+1} = (beta + n) / (alpha + beta + n) #}
{% macro cx_sbg_renewal_probability(renewals, alpha, beta) -%}
    ({{ beta }} + {{ renewals }}) / ({{ alpha }} + {{ beta }} + {{ renewals }})
{%- endmacro %}

{#
    The columns of int_subscription_terms_renewed that, with the term length, define a
    retention group: var cx_retention_group_by, a list or a comma-separated string.
    term_months is always part of the group (one period length per group) and is not
    repeated here. A name that would clash with a column of the durations table is
    refused, so the Python models can read the group columns back as "every other
    column" (cx_value.clv.dag.retention_group_columns).
#}
{% macro cx_retention_group_by() -%}
    {%- set declared = var('cx_retention_group_by', []) -%}
    {%- if declared is string -%}
        {%- set declared = declared.split(',') -%}
    {%- endif -%}
    {%- set reserved = [
        'customer_id', 'retention_group', 'period_months', 'first_start_date', 'as_of_date',
        'terms_known', 'terms_renewed', 'lifetime_months', 'renewals', 'duration_periods',
        'is_churned', 'is_censored', 'latest_monthly_fee'
    ] -%}
    {%- set columns = [] -%}
    {%- for item in declared if (item | string | trim) != '' -%}
        {%- set name = item | string | trim | lower -%}
        {%- if name in reserved -%}
            {{ exceptions.raise_compiler_error(
                "cx_retention_group_by names '" ~ name ~ "', a column the retention "
                ~ "durations already have; group by columns of the contract terms such as "
                ~ "plan_name") }}
        {%- endif -%}
        {%- if name != 'term_months' and name not in columns -%}
            {%- do columns.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#
    The parts of a retention group key after 'term_months=<n>': ', <column>=<value>'
    per group column of `relation_alias`, 'null' for a missing value.
#}
{% macro cx_retention_group_key_parts(group_columns, relation_alias) -%}
    {%- set parts = [] -%}
    {%- for column in group_columns -%}
        {%- do parts.append("', " ~ column ~ "='") -%}
        {%- do parts.append(
            "coalesce(cast(" ~ relation_alias ~ "." ~ column ~ " as " ~ dbt.type_string()
            ~ "), 'null')") -%}
    {%- endfor -%}
    {{ return(parts) }}
{%- endmacro %}

{#
    S(n + j) / S(n): the probability that a customer who has passed n renewal decisions
    is still a customer after j more, the product of the next j renewal probabilities
    r_{n+1} … r_{n+j} (sBG). The SQL twin of
    cx_value.clv.retention.sbg_conditional_survival. SQL has no beta function, so the
    product is spelled out for j = 0 … max_decisions (NULL beyond); j = 0 gives 1.
#}
{% macro cx_sbg_conditional_survival(renewals, decisions, alpha, beta, max_decisions=12) -%}
    case {{ decisions }}
        when 0 then 1.0
        {%- for j in range(1, max_decisions + 1) %}
            when {{ j }} then
            {%- for i in range(j) %}
                {% if not loop.first %}* {% endif -%}
                {{ cx_sbg_renewal_probability('(' ~ renewals ~ ' + ' ~ i ~ ')', alpha, beta) }}
            {%- endfor %}
        {%- endfor %}
    end
{%- endmacro %}
