{#
    Statistics of the CX-value marts (DECISIONLOG "Value of customer experience").
    Every macro works on aggregated sums (n, sum x, sum x^2, ...), so a model
    aggregates once with plain sum() and count(), which every engine has, and
    the arithmetic stays portable: no stddev_samp(), corr() or inverse normal.
    Results are null where the statistic is undefined (too few rows, zero
    variance), never 0.
#}

{# NPS class of a 0-10 answer: promoter 9-10, passive 7-8, detractor 0-6. #}
{% macro cx_nps_class(score) -%}
    case
        when {{ score }} >= 9 then 'promoter'
        when {{ score }} >= 7 then 'passive'
        when {{ score }} >= 0 then 'detractor'
    end
{%- endmacro %}

{# The CX band the NPS class stands for: detractor = worst, passive = middle, promoter = best. #}
{% macro cx_band_of_nps(score) -%}
    case
        when {{ score }} >= 9 then 'best'
        when {{ score }} >= 7 then 'middle'
        when {{ score }} >= 0 then 'worst'
    end
{%- endmacro %}

{# Sample variance from n, sum and sum of squares; clipped at 0 against rounding. #}
{% macro cx_sample_variance(n, total, sum_of_squares) -%}
    case when {{ n }} > 1
        then greatest(0,
            ({{ cx_as_double(sum_of_squares) }}
                - {{ cx_as_double(total) }} * {{ cx_as_double(total) }} / {{ cx_as_double(n) }})
            / ({{ cx_as_double(n) }} - 1)
        )
    end
{%- endmacro %}

{# Standard error of the mean, sd / sqrt(n). #}
{% macro cx_mean_standard_error(n, total, sum_of_squares) -%}
    sqrt({{ cx_sample_variance(n, total, sum_of_squares) }} / {{ cx_as_double(n) }})
{%- endmacro %}

{#
    Normal-approximation interval of a mean: mean -/+ z * sd / sqrt(n). Skewed
    spend (most customers buy nothing in a year) needs n in the hundreds for
    the approximation to hold; the marts flag small n with cx_is_too_small.
#}
{% macro cx_mean_bound(n, total, sum_of_squares, confidence, sign) -%}
    case when {{ n }} > 1
        then {{ cx_as_double(total) }} / {{ cx_as_double(n) }}
            {{ sign }} {{ cx_as_double(cx_z_value(confidence)) }}
            * {{ cx_mean_standard_error(n, total, sum_of_squares) }}
    end
{%- endmacro %}

{% macro cx_mean_lower(n, total, sum_of_squares, confidence=0.95) -%}
    {{ cx_mean_bound(n, total, sum_of_squares, confidence, '-') }}
{%- endmacro %}

{% macro cx_mean_upper(n, total, sum_of_squares, confidence=0.95) -%}
    {{ cx_mean_bound(n, total, sum_of_squares, confidence, '+') }}
{%- endmacro %}

{#
    Interval of a ratio of two independent means m1 / m2, by the delta method
    on the log scale: Var(ln R) = (se1 / m1)^2 + (se2 / m2)^2, bounds
    R * exp(-/+ z * sqrt(Var)). On the log scale the interval stays positive and
    is asymmetric like the ratio's own distribution; the linear delta method can
    give a negative lower bound for a ratio of noisy means. Null when either
    mean is not positive (the log is undefined).
#}
{% macro cx_ratio_bound(mean_1, se_1, mean_2, se_2, confidence, sign) -%}
    case when {{ mean_1 }} > 0 and {{ mean_2 }} > 0
        then {{ mean_1 }} / {{ mean_2 }} * exp(
            {{ sign }} {{ cx_as_double(cx_z_value(confidence)) }}
            * sqrt(
                ({{ se_1 }} / {{ mean_1 }}) * ({{ se_1 }} / {{ mean_1 }})
                + ({{ se_2 }} / {{ mean_2 }}) * ({{ se_2 }} / {{ mean_2 }})
            )
        )
    end
{%- endmacro %}

{% macro cx_ratio_lower(mean_1, se_1, mean_2, se_2, confidence=0.95) -%}
    {{ cx_ratio_bound(mean_1, se_1, mean_2, se_2, confidence, '-') }}
{%- endmacro %}

{% macro cx_ratio_upper(mean_1, se_1, mean_2, se_2, confidence=0.95) -%}
    {{ cx_ratio_bound(mean_1, se_1, mean_2, se_2, confidence, '+') }}
{%- endmacro %}

{#
    Pearson correlation from sums:
    r = (n Sxy - Sx Sy) / sqrt((n Sxx - Sx^2) (n Syy - Sy^2)).
    Null below 3 pairs or when either side has no variance. Sums of doubles:
    fine for scores and money at warehouse sizes (no catastrophic cancellation
    at these magnitudes; a two-pass formula would need a second scan).
#}
{% macro cx_pearson(n, sum_x, sum_y, sum_xx, sum_yy, sum_xy) -%}
    {%- set n_ = cx_as_double(n) -%}
    {%- set cov = '(' ~ n_ ~ ' * ' ~ cx_as_double(sum_xy) ~ ' - ' ~ cx_as_double(sum_x) ~ ' * ' ~ cx_as_double(sum_y) ~ ')' -%}
    {%- set var_x = '(' ~ n_ ~ ' * ' ~ cx_as_double(sum_xx) ~ ' - ' ~ cx_as_double(sum_x) ~ ' * ' ~ cx_as_double(sum_x) ~ ')' -%}
    {%- set var_y = '(' ~ n_ ~ ' * ' ~ cx_as_double(sum_yy) ~ ' - ' ~ cx_as_double(sum_y) ~ ' * ' ~ cx_as_double(sum_y) ~ ')' -%}
    case when {{ n }} >= 3 and {{ var_x }} > 0 and {{ var_y }} > 0
        then greatest(-1, least(1, {{ cov }} / sqrt({{ var_x }} * {{ var_y }})))
    end
{%- endmacro %}
