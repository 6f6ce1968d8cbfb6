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

{#
    The body of a CTE with one row per stage of cx_journey_stages() (the staging
    vocabulary, in journey order): stage and stage_number (1 = awareness).
    Rendered as plain selects so that every engine reads it.
#}
{% macro cx_journey_stage_rows() -%}
    {%- for stage in cx_journey_stages() %}
    select
        '{{ stage }}' as stage,  -- noqa: RF04
        {{ loop.index }} as stage_number
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{# The position of a stage expression in the journey, 1 = awareness; null for an unknown stage. #}
{% macro cx_journey_stage_number(stage_expression) -%}
    case {{ stage_expression }}
        {%- for stage in cx_journey_stages() %}
        when '{{ stage }}' then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}

{#
    The score columns of a touchpoint that carries no questionnaire: typed nulls,
    so every branch of the touchpoint union has the same columns and types.
#}
{% macro cx_touchpoint_without_scores() -%}
    cast(null as {{ dbt.type_int() }}) as nps_score,
    cast(null as {{ dbt.type_int() }}) as csat_score,
    cast(null as {{ dbt.type_int() }}) as ces_score,
    cast(null as {{ dbt.type_int() }}) as expectation_score
{%- endmacro %}

{#
    The raw tables whose rows can put a customer in each journey stage (the branches
    of int_journey_touchpoints_unioned). A stage none of them observed cannot be
    measured: no conversion into or out of it is reported. Survey answers carry
    their own stage, so they back every stage.
#}
{% macro cx_journey_stage_sources() -%}
    {{ return({
        'awareness': ['events', 'survey_responses'],
        'consideration': ['deals', 'survey_responses'],
        'purchase': ['orders', 'subscriptions', 'survey_responses'],
        'onboarding': ['events', 'survey_responses'],
        'usage': ['events', 'survey_responses'],
        'service': ['tickets', 'survey_responses'],
        'renewal': ['subscriptions', 'survey_responses'],
    }) }}
{%- endmacro %}

{# One row per stage with stage_number and is_observable (a source of the stage was observed). #}
{% macro cx_journey_observable_stage_rows() -%}
    {%- set sources = cx_journey_stage_sources() -%}
    {%- for stage in cx_journey_stages() %}
    select
        '{{ stage }}' as stage,  -- noqa: RF04
        {{ loop.index }} as stage_number,
        {{ cx_any_observed(sources[stage]) }} as is_observable
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#
    Touchpoint types the built-in branches of int_journey_touchpoints_unioned make.
#}
{% macro cx_builtin_touchpoint_types() -%}
    {{ return([
        'web_session', 'deal_opened', 'deal_closed', 'order', 'return', 'term_started',
        'term_churned', 'ticket', 'complaint', 'survey',
    ]) }}
{%- endmacro %}

{#
    The analyst's own touchpoint models (var cx_touchpoint_models): a map of model name
    to the touchpoint types it makes, e.g. {int_referral_touchpoints: [referral_made]}.
    Each model has the columns touchpoint_id (unique across all touchpoints: prefix it
    with the type), customer_id, touchpoint_at, stage (a journey stage),
    touchpoint_type, touchpoint_name, channel and source_id. Validated at compile time
    so a typo fails with the model named instead of an empty union branch.
#}
{% macro cx_touchpoint_models() -%}
    {%- set declared = var('cx_touchpoint_models', {}) or {} -%}
    {%- if declared is not mapping -%}
        {{ exceptions.raise_compiler_error(
            "var cx_touchpoint_models must map a model name to its touchpoint types, e.g. "
            ~ "{int_referral_touchpoints: [referral_made]}; got " ~ declared) }}
    {%- endif -%}
    {%- for model_name, types in declared.items() -%}
        {%- if types is string or types is not iterable or (types | length) == 0 -%}
            {{ exceptions.raise_compiler_error(
                "var cx_touchpoint_models: model " ~ model_name
                ~ " must list the touchpoint types it makes, e.g. [referral_made]") }}
        {%- endif -%}
        {%- for type in types if type in cx_builtin_touchpoint_types() -%}
            {{ exceptions.raise_compiler_error(
                "var cx_touchpoint_models: model " ~ model_name ~ " declares the built-in "
                ~ "touchpoint type " ~ type ~ "; give its touchpoints a type of their own") }}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(declared) }}
{%- endmacro %}

{# Every touchpoint type a build can make: the built-in ones and the analyst's. #}
{% macro cx_touchpoint_types() -%}
    {#- a namespace: a plain set inside the loop would not outlive it -#}
    {%- set found = namespace(types=cx_builtin_touchpoint_types()) -%}
    {%- for model_types in cx_touchpoint_models().values() -%}
        {%- set found.types = found.types + (model_types | list) -%}
    {%- endfor -%}
    {{ return(found.types) }}
{%- endmacro %}
