{#
    A negative experience at a touchpoint (DECISIONLOG "Customer journey marts"):
    an NPS detractor (0-6), a dissatisfied CSAT (1-2), a hard CES (1-3 on 1-7,
    7 = very easy) or an experience below the expectation (gap < 0). Any one is
    enough: a customer who found the service hard but still recommends it has
    met friction. Null when the touchpoint carries no score: no judgement is
    possible, and counting it as positive would dilute the negative share.
#}
{% macro cx_is_negative_experience(nps_score, csat_score, ces_score, expectation_gap) -%}
    case
        when
            {{ nps_score }} is null
            and {{ csat_score }} is null
            and {{ ces_score }} is null
            and {{ expectation_gap }} is null
            then null
        else
            coalesce({{ nps_score }} <= 6, false)
            or coalesce({{ csat_score }} <= 2, false)
            or coalesce({{ ces_score }} <= 3, false)
            or coalesce({{ expectation_gap }} < 0, false)
    end
{%- endmacro %}
