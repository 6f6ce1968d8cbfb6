{#
    Closed-form CLV scores, the SQL twins of cx_value.clv.bgnbd.p_alive and
    cx_value.clv.gamma_gamma.conditional_expected_spend. Arguments are SQL
    expressions; time arguments in the unit the parameters were fitted in.
#}

{# P(alive | x, t_x, T) = 1 / (1 + [x > 0] · a/(b+x-1) · ((alpha+T)/(alpha+t_x))^(r+x)) #}
{% macro cx_bgnbd_p_alive(x, t_x, t_cal, r, alpha, a, b) -%}
    case
        when {{ x }} = 0 then 1.0
        else 1.0 / (
            1.0 + ({{ a }} / ({{ b }} + {{ x }} - 1))
            * power(({{ alpha }} + {{ t_cal }}) / ({{ alpha }} + {{ t_x }}), {{ r }} + {{ x }})
        )
    end
{%- endmacro %}

{#
    E[M | x, m_x] = (gamma + m_x·x)·p / (p·x + q - 1); the population mean p·gamma/(q-1)
    when x = 0. Finite only while p·x + q > 1 (q <= 1: infinite population mean): null
    otherwise, as gamma_gamma.conditional_expected_spend gives NaN.
#}
{% macro cx_gamma_gamma_expected_spend(x, m_x, p, q, gamma) -%}
    case
        when {{ p }} * {{ x }} + {{ q }} - 1 > 0
            then
                ({{ gamma }} + coalesce({{ m_x }}, 0) * {{ x }}) * {{ p }}
                / ({{ p }} * {{ x }} + {{ q }} - 1)
    end
{%- endmacro %}
