{#
    Churn risk of the contract terms whose label is still open: scored in SQL from
    churn_model_coefficients, the closed form of the fitted logistic pipeline:
    p = 1 / (1 + exp(-(intercept + sum(coefficient * (x - mean) / sd)))), a
    missing x contributing nothing (the pipeline imputes the training mean).
    Drivers are the features with the largest positive contributions. When the model is
    not fitted its coefficients are NULL, so probability, band and drivers are NULL; every
    row carries the model's status, identification flag and warning.
#}
{%- set features = [
    'is_detractor_in_term', 'latest_nps', 'csat_mean', 'ces_mean',
    'has_unresolved_complaint', 'ticket_count', 'fcr_share', 'web_sessions_drop',
    'discount_depth', 'term_number', 'monthly_fee',
] -%}

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
    where is_churned is null
),

feature_values as (
    {%- for feature in features %}
        select
            subscription_id,
            '{{ feature }}' as feature,
            {{ cx_as_double(feature) }} as feature_value
        from open_terms
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

contributions as (
    select
        feature_values.subscription_id,
        coefficients.feature,
        coefficients.feature_order,
        coefficients.coefficient
        * coalesce((feature_values.feature_value - coefficients.mean) / coefficients.sd, 0.0)
            as contribution
    from feature_values
    inner join coefficients
        on feature_values.feature = coefficients.feature
),

log_odds as (
    select
        subscription_id,
        sum(contribution) as feature_log_odds
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
    select
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
        {{ dbt.dateadd('day', 1, 'cast(open_terms.as_of_date as timestamp)') }} as scored_at,
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
