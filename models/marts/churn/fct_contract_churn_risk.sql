{#
    Churn risk of every current contract term (int_subscription_terms_renewed.is_current:
    the customer's latest term, neither renewed nor churned), one row each, scored in SQL
    from churn_model_coefficients, the closed form of the fitted logistic pipeline:
    p = 1 / (1 + exp(-(intercept + sum(coefficient * (x - mean) / sd)))), a
    missing x contributing nothing (the pipeline imputes the training mean). A
    categorical feature has one coefficient per category: x is 1 for the term's
    category, 0 for another and NULL when the category is unknown, so a category the
    fit never saw scores as the reference category.
    Drivers are the columns with the largest positive contributions. When the model is
    not fitted its coefficients are NULL, so probability, band and drivers are NULL; every
    row carries the model's status, identification flag and warning.
#}
{%- set features = cx_churn_features() %}

with

term_features as (
    select * from {{ ref('int_contract_term_features') }}
),

coefficients as (
    select * from {{ ref('churn_model_coefficients') }}
),

open_terms as (
    select *
    from term_features
    where is_current
),

feature_values as (
    {%- for feature in features %}
        select
            subscription_id,
            '{{ feature.name }}' as source_feature,
            {%- if feature.type == 'numeric' %}
                {{ cx_as_double(feature.name) }} as numeric_value,
                cast(null as {{ dbt.type_string() }}) as category_value
            {%- else %}
                cast(null as {{ dbt.type_float() }}) as numeric_value,
                cast({{ feature.name }} as {{ dbt.type_string() }}) as category_value
            {%- endif %}
        from open_terms
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

used_coefficients as (
    select *
    from coefficients
    where is_used
),

contributions as (
    select
        feature_values.subscription_id,
        used_coefficients.feature,
        used_coefficients.feature_order,
        used_coefficients.coefficient
        * coalesce(
            (
                case
                    when used_coefficients.category is null then feature_values.numeric_value
                    when feature_values.category_value is null then null
                    when feature_values.category_value = used_coefficients.category then 1.0
                    else 0.0
                end
                - used_coefficients.mean
            ) / used_coefficients.sd,
            0.0
        ) as contribution
    from feature_values
    inner join used_coefficients
        on feature_values.source_feature = used_coefficients.source_feature
),

log_odds as (
    select
        subscription_id,
        -- the same bits on every run, whatever order the threads add the features in
        {{ cx_sum_exact('contribution', 15) }} as feature_log_odds
    from contributions
    group by subscription_id
),

intercept as (
    select max(intercept) as intercept
    from coefficients
),

model_status as (
    select
        max(status) as churn_model_status,
        -- identified only when every row says so
        coalesce(min(case when is_identified then 1 else 0 end), 0) = 1
            as is_churn_model_identified,
        max(warning) as churn_model_warning
    from coefficients
),

ranked_drivers as (
    select
        subscription_id,
        feature,
        row_number() over (
            partition by subscription_id
            order by contribution desc, feature_order asc
        ) as driver_rank
    from contributions
    where contribution > 0
),

top_drivers as (
    select
        subscription_id,
        max(case when driver_rank = 1 then feature end) as top_driver_1,
        max(case when driver_rank = 2 then feature end) as top_driver_2,
        max(case when driver_rank = 3 then feature end) as top_driver_3
    from ranked_drivers
    where driver_rank <= 3
    group by subscription_id
),

probabilities as (
    select
        open_terms.subscription_id,
        1.0 / (1.0 + exp(-(intercept.intercept + log_odds.feature_log_odds))) as churn_probability
    from open_terms
    cross join intercept
    left join log_odds
        on open_terms.subscription_id = log_odds.subscription_id
),

final as (
    -- columns in the order of the enforced contract, not by kind
    select  -- noqa: ST06
        open_terms.subscription_id,
        open_terms.customer_id,
        open_terms.end_date,
        open_terms.cutoff_at,
        probabilities.churn_probability,
        case
            when probabilities.churn_probability < 0.30 then 'low'
            when probabilities.churn_probability < 0.50 then 'medium'
            when probabilities.churn_probability is not null then 'high'
        end as risk_band,
        top_drivers.top_driver_1,
        top_drivers.top_driver_2,
        top_drivers.top_driver_3,
        cast(open_terms.as_of_date as date) as scored_at,
        model_status.churn_model_status,
        model_status.is_churn_model_identified,
        model_status.churn_model_warning
    from open_terms
    inner join probabilities
        on open_terms.subscription_id = probabilities.subscription_id
    left join top_drivers
        on open_terms.subscription_id = top_drivers.subscription_id
    cross join model_status
)

select * from final
