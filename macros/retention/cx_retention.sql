{#
    Closed-form sBG scores, the SQL twin of cx_value.clv.retention.sbg_renewal_probability.
    Arguments are SQL expressions.
#}

{# P(next renewal | n renewals so far) = r_{n+1} = (beta + n) / (alpha + beta + n) #}
{% macro cx_sbg_renewal_probability(renewals, alpha, beta) -%}
    ({{ beta }} + {{ renewals }}) / ({{ alpha }} + {{ beta }} + {{ renewals }})
{%- endmacro %}
