{#
    Survey scores from aggregated counts (DOMAIN §2, DECISIONLOG "Survey scores").
    Every macro takes column expressions of counts, so a model aggregates first
    and then writes e.g. {{ cx_nps('promoters', 'detractors', 'respondents') }}.
    Each has a Python twin in cx_value/scores.py; both are held to the
    hand-worked cases in seeds/fixtures/score_cases.csv.

    A score over no answers (n = 0 or null) is null. Arithmetic is done in
    double precision: integer division differs between engines, and a 4-byte
    float (dbt.type_float() on DuckDB) is too coarse for an interval.
#}

{# ------------------------------------------------------------ building blocks #}

{#
    Two-sided standard-normal critical value for a confidence level. Neither
    DuckDB nor Spark has an inverse normal, so the usual levels are a lookup
    (values of scipy.stats.norm.ppf(0.5 + confidence / 2)); any other level is
    a compile error rather than a silent approximation.
#}
{% macro cx_z_value(confidence=0.95) -%}
    {%- set z_values = {
        '0.8': 1.2815515655446004,
        '0.9': 1.6448536269514722,
        '0.95': 1.959963984540054,
        '0.99': 2.5758293035489004,
    } -%}
    {%- set key = (confidence | float) | string -%}
    {%- if key not in z_values -%}
        {{ exceptions.raise_compiler_error(
            "cx_z_value: confidence must be one of 0.8, 0.9, 0.95, 0.99; got " ~ confidence) }}
    {%- endif -%}
    {{ z_values[key] }}
{%- endmacro %}

{# A count expression as a double, so that division is never integer division. #}
{% macro cx_as_double(expression) -%}
    cast({{ expression }} as {{ adapter.dispatch('cx_type_double', 'cx_value')() }})
{%- endmacro %}

{% macro default__cx_type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__cx_type_double() -%}
    double
{%- endmacro %}

{% macro spark__cx_type_double() -%}
    double
{%- endmacro %}

{# Share of successes in %, 100 * s / n. #}
{% macro cx_share(successes, respondents) -%}
    case when {{ respondents }} > 0
        then 100 * {{ cx_as_double(successes) }} / {{ cx_as_double(respondents) }}
    end
{%- endmacro %}

{#
    Adjusted-Wald pieces (Rocks 2016) on the proportion scale:
    n' = n + 3, p' = (P + 3/4) / n', d' = (D + 3/4) / n', so p' - d' = (P - D) / n'.
#}
{% macro cx_nps_adjusted_difference(promoters, detractors, respondents) -%}
    ({{ cx_as_double(promoters) }} - {{ cx_as_double(detractors) }})
    / ({{ cx_as_double(respondents) }} + 3)
{%- endmacro %}

{# Var' = (p' + d' - (p' - d')^2) / n'. #}
{% macro cx_nps_adjusted_variance(promoters, detractors, respondents) -%}
    (
        ({{ cx_as_double(promoters) }} + {{ cx_as_double(detractors) }} + 1.5)
        / ({{ cx_as_double(respondents) }} + 3)
        - ({{ cx_nps_adjusted_difference(promoters, detractors, respondents) }})
        * ({{ cx_nps_adjusted_difference(promoters, detractors, respondents) }})
    ) / ({{ cx_as_double(respondents) }} + 3)
{%- endmacro %}

{# ------------------------------------------------------------------------ NPS #}

{# NPS = 100 * (P - D) / n, on -100..100. #}
{% macro cx_nps(promoters, detractors, respondents) -%}
    case when {{ respondents }} > 0
        then 100 * ({{ cx_as_double(promoters) }} - {{ cx_as_double(detractors) }})
            / {{ cx_as_double(respondents) }}
    end
{%- endmacro %}

{# Variance of p - d on the proportion scale: (p + d - (p - d)^2) / n. #}
{% macro cx_nps_variance(promoters, detractors, respondents) -%}
    case when {{ respondents }} > 0
        then (
            ({{ cx_as_double(promoters) }} + {{ cx_as_double(detractors) }})
            / {{ cx_as_double(respondents) }}
            - power(
                ({{ cx_as_double(promoters) }} - {{ cx_as_double(detractors) }})
                / {{ cx_as_double(respondents) }}, 2)
        ) / {{ cx_as_double(respondents) }}
    end
{%- endmacro %}

{# Adjusted-Wald centre NPS' = 100 * (p' - d'); never outside -100..100. #}
{% macro cx_nps_adjusted(promoters, detractors, respondents) -%}
    case when {{ respondents }} > 0
        then 100 * {{ cx_nps_adjusted_difference(promoters, detractors, respondents) }}
    end
{%- endmacro %}

{#
    Adjusted-Wald bounds NPS' -/+ z * 100 * sqrt(Var'), clipped to -100..100.
    The case sits outside greatest/least because both skip nulls.
#}
{% macro cx_nps_bound(promoters, detractors, respondents, confidence, sign) -%}
    case when {{ respondents }} > 0
        then greatest(-100, least(100,
            100 * (
                {{ cx_nps_adjusted_difference(promoters, detractors, respondents) }}
                {{ sign }} {{ cx_as_double(cx_z_value(confidence)) }}
                * sqrt({{ cx_nps_adjusted_variance(promoters, detractors, respondents) }})
            )
        ))
    end
{%- endmacro %}

{% macro cx_nps_lower(promoters, detractors, respondents, confidence=0.95) -%}
    {{ cx_nps_bound(promoters, detractors, respondents, confidence, '-') }}
{%- endmacro %}

{% macro cx_nps_upper(promoters, detractors, respondents, confidence=0.95) -%}
    {{ cx_nps_bound(promoters, detractors, respondents, confidence, '+') }}
{%- endmacro %}

{#
    Change between two independent periods or segments:
    z = (NPS'1 - NPS'2) / sqrt(Var'1 + Var'2), all on the proportion scale.
#}
{% macro cx_nps_change_z(
    promoters_1, detractors_1, respondents_1, promoters_2, detractors_2, respondents_2
) -%}
    case when {{ respondents_1 }} > 0 and {{ respondents_2 }} > 0
        then (
            {{ cx_nps_adjusted_difference(promoters_1, detractors_1, respondents_1) }}
            - {{ cx_nps_adjusted_difference(promoters_2, detractors_2, respondents_2) }}
        ) / sqrt(
            {{ cx_nps_adjusted_variance(promoters_1, detractors_1, respondents_1) }}
            + {{ cx_nps_adjusted_variance(promoters_2, detractors_2, respondents_2) }}
        )
    end
{%- endmacro %}

{# |z| > critical (1.96); false, not null, when z is null: no evidence of a change. #}
{% macro cx_nps_change_is_significant(
    promoters_1, detractors_1, respondents_1, promoters_2, detractors_2, respondents_2,
    critical=1.96
) -%}
    coalesce(abs({{ cx_nps_change_z(
        promoters_1, detractors_1, respondents_1, promoters_2, detractors_2, respondents_2
    ) }}) > {{ critical }}, false)
{%- endmacro %}

{# ----------------------------------------------------------------- CSAT, CES #}

{# CSAT share in %: answers 4-5 among the answers on 1-5. #}
{% macro cx_csat_share(satisfied, respondents) -%}
    {{ cx_share(satisfied, respondents) }}
{%- endmacro %}

{# CES share in %: answers 5-7 among the answers on 1-7 (7 = very easy). #}
{% macro cx_ces_share(easy, respondents) -%}
    {{ cx_share(easy, respondents) }}
{%- endmacro %}

{# Mean score from the sum of scores and the number of answers. #}
{% macro cx_score_mean(score_sum, respondents) -%}
    case when {{ respondents }} > 0
        then {{ cx_as_double(score_sum) }} / {{ cx_as_double(respondents) }}
    end
{%- endmacro %}

{#
    Wilson score interval of a share, in %:
    centre = (p + z^2 / 2n) / (1 + z^2 / n),
    half = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2).
#}
{% macro cx_wilson_bound(successes, respondents, confidence, sign) -%}
    {%- set z = cx_as_double(cx_z_value(confidence)) -%}
    {%- set n = cx_as_double(respondents) -%}
    {%- set p = '(' ~ cx_as_double(successes) ~ ' / ' ~ n ~ ')' -%}
    case when {{ respondents }} > 0
        then 100 * (
            ({{ p }} + {{ z }} * {{ z }} / (2 * {{ n }}))
            {{ sign }} {{ z }} * sqrt(
                {{ p }} * (1 - {{ p }}) / {{ n }}
                + {{ z }} * {{ z }} / (4 * {{ n }} * {{ n }})
            )
        ) / (1 + {{ z }} * {{ z }} / {{ n }})
    end
{%- endmacro %}

{#
    At a rate of 0 the lower bound is exactly 0, and at a rate of 1 the upper bound is
    exactly 100: the formula gets there by cancelling two equal terms, which floating
    point leaves 1e-17 off, so a lower bound came out above a rate of 0.
#}
{% macro cx_wilson_lower(successes, respondents, confidence=0.95) -%}
    case
        when {{ respondents }} > 0 and {{ successes }} = 0 then {{ cx_as_double('0') }}
        else {{ cx_wilson_bound(successes, respondents, confidence, '-') }}
    end
{%- endmacro %}

{% macro cx_wilson_upper(successes, respondents, confidence=0.95) -%}
    case
        when {{ respondents }} > 0 and {{ successes }} = {{ respondents }}
            then {{ cx_as_double('100') }}
        else {{ cx_wilson_bound(successes, respondents, confidence, '+') }}
    end
{%- endmacro %}

{# ---------------------------------------------------------------- sample size #}

{#
    True when n is below the minimum sample (var cx_min_sample_size, 30): the
    score is still shown, flagged as too small to read. Null when n is null.
#}
{% macro cx_is_too_small(respondents, minimum=none) -%}
    {%- set minimum = var('cx_min_sample_size', 30) if minimum is none else minimum -%}
    ({{ respondents }} < {{ minimum }})
{%- endmacro %}

{#
    A sum of doubles that is the same, to the bit, on every run. A parallel aggregate adds
    a group's rows in whatever order its threads meet them, and floating-point addition
    depends on the order, so a rerun of the same data could differ in the last digits.
    Each value is rounded to `scale` decimals and added as a decimal, which is exact, then
    read back as a double. The rounding is far below any figure's precision (1e-12 of a
    euro, 1e-15 of a log-odds); a value beyond decimal(38, scale) would fail the cast
    rather than be summed wrongly.
#}
{% macro cx_sum_exact(expression, scale=12) -%}
    {{ cx_as_double('sum(cast(' ~ expression ~ ' as decimal(38, ' ~ scale ~ ')))') }}
{%- endmacro %}
