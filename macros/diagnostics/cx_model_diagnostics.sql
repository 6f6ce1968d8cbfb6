{#
    Model status and warnings carried from the fitted models to the marts that use their
    scores (DECISIONLOG "Fitted models: minimum samples and identification").
#}

{#
    The non-null ones of several warning texts, in the order given, joined with '. ';
    null when every one is null. Each warning is one sentence without a final full stop.
    Written as a coalesce over the subsets of the warnings, largest first, because
    engines disagree on whether concat skips nulls (dbt.concat propagates them).
#}
{% macro cx_join_warnings(warnings) -%}
    {%- set n = warnings | length -%}
    {%- set terms = [] -%}
    {%- for size in range(n, 0, -1) -%}
        {%- for mask in range(1, 2 ** n) -%}
            {%- set members = [] -%}
            {%- for i in range(n) -%}
                {%- if (mask // (2 ** i)) % 2 == 1 -%}
                    {%- do members.append(warnings[i]) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if members | length == size -%}
                {%- set parts = [] -%}
                {%- for member in members -%}
                    {%- if not loop.first -%}
                        {%- do parts.append("'. '") -%}
                    {%- endif -%}
                    {%- do parts.append(member) -%}
                {%- endfor -%}
                {%- do terms.append(dbt.concat(parts) if parts | length > 1 else parts[0]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    coalesce({{ terms | join(', ') }})
{%- endmacro %}

{#
    The combined status of models that a score needs together (e.g. BG/NBD and
    Gamma-Gamma for CLV): fitted when all are fitted, failed when any failed, else
    not_enough_data; null when a model's status is missing.
#}
{% macro cx_combined_status(statuses) -%}
    case
        when {% for status in statuses %}{{ status }} = 'fitted'{% if not loop.last %} and {% endif %}{% endfor %}
            then 'fitted'
        when {% for status in statuses %}{{ status }} = 'failed'{% if not loop.last %} or {% endif %}{% endfor %}
            then 'failed'
        when {% for status in statuses %}{{ status }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
            then 'not_enough_data'
    end
{%- endmacro %}
