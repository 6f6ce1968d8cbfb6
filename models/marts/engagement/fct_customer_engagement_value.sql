{#
    Customer engagement value (Kumar et al. 2010; DOMAIN §2), one row per customer
    of dim_customers: CEV = CLV + CRV + CIV + CKV + visitor value, each in the reporting currency
    per 12 months, with the counts behind every non-monetary component and the
    money rate of each action a var (DECISIONLOG "Customer engagement value").
    Tiers by CEV; the priority rank weighs total benefit (text 001): value, social
    share of value, recommendation and strategic potential.

    CEV is a per-customer view: a referred customer's CLV is in their own CLV and
    in their referrer's CRV, so a sum of cev over customers counts it twice.
#}
{%- set eur_per_share = var('cx_cev_value_per_share', 2.0) -%}
{%- set eur_per_web_comment = var('cx_cev_value_per_comment', 1.0) -%}
{%- set eur_per_review = var('cx_cev_value_per_review', 5.0) -%}
{%- set eur_per_referral_click = var('cx_cev_value_per_referral_click', 2.0) -%}
{%- set eur_per_survey_answer = var('cx_cev_value_per_survey_answer', 3.0) -%}
{%- set eur_per_survey_comment = var('cx_cev_value_per_survey_comment', 2.0) -%}
{%- set eur_per_visit = var('cx_cev_value_per_visit', 0.5) -%}
{%- set eur_per_minute = var('cx_cev_value_per_minute_on_site', 0.05) -%}
{%- set recency_days = var('cx_cev_visitor_recency_days', 365) -%}
{%- set referral_share = var('cx_cev_referral_attribution_share', 1.0) -%}
{%- set tier_shares = var('cx_cev_tier_shares', {'platinum': 0.05, 'gold': 0.15, 'silver': 0.30}) -%}
{#- cumulative shares of customers, from the top of the CEV ranking -#}
{%- set platinum_cut = tier_shares['platinum'] -%}
{%- set gold_cut = platinum_cut + tier_shares['gold'] -%}
{%- set silver_cut = gold_cut + tier_shares['silver'] -%}
{%- set weights = var('cx_cev_priority_weights', {
    'value': 0.4, 'social': 0.2, 'recommendation': 0.2, 'strategic': 0.2,
}) -%}
{%- set segment_potential = var('cx_cev_segment_potential', {
    'enterprise': 1.0, 'smb': 0.5, 'consumer': 0.25,
}) -%}
{%- set nps_class_scores = var('cx_cev_nps_class_scores', {
    'promoter': 1.0, 'passive': 0.5, 'detractor': 0.0, 'none': 0.5,
}) -%}

with

customers as (
    select * from {{ ref('dim_customers') }}
),

projected_values as (
    select * from {{ ref('int_customer_values_projected') }}
),

actions as (
    select * from {{ ref('int_customer_engagement_actions_counted') }}
),

referrals as (
    select * from {{ ref('stg_crm__referrals') }}
),

-- one credit per (referrer, referred): a referral exported twice under two ids is one customer
referral_pairs as (
    select distinct
        referrer_customer_id,
        referred_customer_id
    from referrals
),

referral_values as (
    select
        referral_pairs.referrer_customer_id as customer_id,
        count(*) as referred_customers,
        sum(projected_values.clv_12m) as referred_clv_12m,
        -- the referred customers' values come from the same fitted models
        max(projected_values.clv_model_warning) as referred_clv_model_warning,
        max(projected_values.retention_model_warning) as referred_retention_model_warning,
        min(case when projected_values.are_models_identified then 1 else 0 end) = 1
            as are_referred_models_identified
    from referral_pairs
    inner join projected_values
        on referral_pairs.referred_customer_id = projected_values.customer_id
    group by referral_pairs.referrer_customer_id
),

components as (
    select
        customers.customer_id,
        actions.as_of_date,
        customers.customer_type,
        customers.segment,
        projected_values.one_off_clv_12m,
        projected_values.contract_clv_12m,
        projected_values.clv_12m as clv,
        -- no referrals is 0 referrals only where referrals were exported
        {{ cx_coalesce_observed('referral_values.referred_customers', 'referrals') }}
            as referred_customers,
        {{ referral_share }} * {{ cx_coalesce_observed('referral_values.referred_clv_12m', 'referrals') }}
            as crv,
        actions.shares_12m,
        actions.web_comments_12m,
        actions.reviews_12m,
        actions.referral_clicks_12m,
        actions.shares_12m * {{ eur_per_share }}
        + actions.web_comments_12m * {{ eur_per_web_comment }}
        + actions.reviews_12m * {{ eur_per_review }}
        + actions.referral_clicks_12m * {{ eur_per_referral_click }} as civ,
        actions.questionnaires_12m,
        actions.survey_comments_12m,
        actions.questionnaires_12m * {{ eur_per_survey_answer }}
        + actions.survey_comments_12m * {{ eur_per_survey_comment }} as ckv,
        actions.sessions_12m,
        actions.minutes_on_site_12m,
        actions.last_visit_date,
        actions.days_since_last_visit,
        -- a visitor who stopped coming is worth less as next year's flow: linear decay
        -- to 0 at the recency horizon; no visit in the window gives 0 anyway; no web
        -- data gives nothing (null)
        case
            when actions.sessions_12m is null then null
            when actions.sessions_12m > 0
                then greatest(
                    0.0,
                    1.0 - {{ cx_as_double('actions.days_since_last_visit') }} / {{ recency_days }}
                )
            else 0.0
        end as visitor_recency_weight,
        actions.latest_nps_score,
        case
            when actions.latest_nps_score >= 9 then 'promoter'
            when actions.latest_nps_score >= 7 then 'passive'
            when actions.latest_nps_score >= 0 then 'detractor'
            -- never answered, where survey answers were exported; unknown where not
            when {{ cx_observed('survey_responses') }} then 'none'
        end as latest_nps_class,
        actions.revenue_12m,
        actions.revenue_prior_12m,
        {{ cx_join_warnings([
            'coalesce(projected_values.clv_model_warning, referral_values.referred_clv_model_warning)',
            'coalesce(projected_values.retention_model_warning, '
            ~ 'referral_values.referred_retention_model_warning)',
        ]) }} as model_warnings,
        projected_values.are_models_identified
        and coalesce(referral_values.are_referred_models_identified, true) as are_models_identified
    from customers
    inner join projected_values
        on customers.customer_id = projected_values.customer_id
    inner join actions
        on customers.customer_id = actions.customer_id
    left join referral_values
        on customers.customer_id = referral_values.customer_id
),

valued as (
    select
        *,
        visitor_recency_weight * (
            sessions_12m * {{ eur_per_visit }}
            + minutes_on_site_12m * {{ eur_per_minute }}
        ) as visitor_value
    from components
),

totalled as (
    -- the components that exist: a component without a source in the export is left
    -- out (a retailer without web data has no visitor value to count), and the total
    -- is unknown only when no component is known
    select
        *,
        case
            when
                clv is not null or crv is not null or civ is not null or ckv is not null
                or visitor_value is not null
                then
                    coalesce(clv, 0) + coalesce(crv, 0) + coalesce(civ, 0) + coalesce(ckv, 0)
                    + coalesce(visitor_value, 0)
        end as cev,
        case
            when crv is not null or civ is not null or ckv is not null
                then coalesce(crv, 0) + coalesce(civ, 0) + coalesce(ckv, 0)
        end as social_value,
        {{ cx_join_texts([
            "case when clv is null then 'clv' end",
            "case when crv is null then 'crv' end",
            "case when civ is null then 'civ' end",
            "case when ckv is null then 'ckv' end",
            "case when visitor_value is null then 'visitor_value' end",
        ]) }} as unknown_components
    from valued
),

scored as (
    select
        *,
        case when cev > 0 then social_value / cev when cev is not null then 0.0 end
            as social_value_share,
        case latest_nps_class
            {%- for nps_class, score in nps_class_scores.items() %}
                when '{{ nps_class }}' then {{ score }}
            {%- endfor %}
        end as recommendation_score,
        -- segment potential and purchase growth, half each; growth is the last 12
        -- months' share of 24 months' order revenue, 0.5 (steady) without orders; when
        -- the order history does not cover both years the growth is unknown and the
        -- score is the segment potential alone (a short history is not growth). A year
        -- whose net revenue is negative (returns of older purchases) counts as 0, so
        -- the share stays within [0, 1]
        case
            when revenue_12m is not null and revenue_prior_12m is not null
                then
                    0.5 * {{ cx_segment_potential('segment', segment_potential) }}
                    + 0.5 * case
                        when greatest(revenue_12m, 0) + greatest(revenue_prior_12m, 0) > 0
                            then
                                greatest(revenue_12m, 0)
                                / (greatest(revenue_12m, 0) + greatest(revenue_prior_12m, 0))
                        else 0.5
                    end
            else {{ cx_segment_potential('segment', segment_potential) }}
        end as strategic_potential_score,
        -- ties in CEV broken by customer id so that a tier boundary never splits on chance
        row_number() over (order by cev desc nulls last, customer_id asc) as cev_position,
        count(cev) over () as valued_customers,
        case when cev is not null then percent_rank() over (order by cev) end as cev_percentile
    from totalled
),

prioritised as (
    select
        *,
        case
            when cev is null then 'unknown'
            when cev <= 0 then 'bronze'
            when cev_position <= {{ platinum_cut }} * valued_customers then 'platinum'
            when cev_position <= {{ gold_cut }} * valued_customers then 'gold'
            when cev_position <= {{ silver_cut }} * valued_customers then 'silver'
            else 'bronze'
        end as value_tier,
        -- the weighted mean of the benefits that are known, as in the health score;
        -- six decimals, so rescaled weights cannot leave it a rounding error above 1
        round((
            coalesce({{ weights['value'] }} * cev_percentile, 0)
            + coalesce({{ weights['social'] }} * social_value_share, 0)
            + coalesce({{ weights['recommendation'] }} * recommendation_score, 0)
            + {{ weights['strategic'] }} * strategic_potential_score
        ) / (
            case when cev_percentile is null then 0 else {{ weights['value'] }} end
            + case when social_value_share is null then 0 else {{ weights['social'] }} end
            + case when recommendation_score is null then 0 else {{ weights['recommendation'] }} end
            + {{ weights['strategic'] }}
        ), 6) as priority_score
    from scored
),

final as (
    select
        customer_id,
        as_of_date,
        customer_type,
        segment,
        {{ cx_as_double('clv') }} as clv,
        {{ cx_as_double('one_off_clv_12m') }} as one_off_clv_12m,
        {{ cx_as_double('contract_clv_12m') }} as contract_clv_12m,
        {{ cx_as_double('crv') }} as crv,
        cast(referred_customers as {{ dbt.type_bigint() }}) as referred_customers,
        {{ cx_as_double('civ') }} as civ,
        cast(shares_12m as {{ dbt.type_bigint() }}) as shares_12m,
        cast(web_comments_12m as {{ dbt.type_bigint() }}) as web_comments_12m,
        cast(reviews_12m as {{ dbt.type_bigint() }}) as reviews_12m,
        cast(referral_clicks_12m as {{ dbt.type_bigint() }}) as referral_clicks_12m,
        {{ cx_as_double('ckv') }} as ckv,
        cast(questionnaires_12m as {{ dbt.type_bigint() }}) as questionnaires_12m,
        cast(survey_comments_12m as {{ dbt.type_bigint() }}) as survey_comments_12m,
        {{ cx_as_double('visitor_value') }} as visitor_value,
        cast(sessions_12m as {{ dbt.type_bigint() }}) as sessions_12m,
        {{ cx_as_double('minutes_on_site_12m') }} as minutes_on_site_12m,
        cast(last_visit_date as date) as last_visit_date,
        cast(days_since_last_visit as {{ dbt.type_bigint() }}) as days_since_last_visit,
        {{ cx_as_double('visitor_recency_weight') }} as visitor_recency_weight,
        {{ cx_as_double('cev') }} as cev,
        {{ cx_as_double('social_value') }} as social_value,
        {{ cx_as_double('social_value_share') }} as social_value_share,
        cast(latest_nps_score as {{ dbt.type_int() }}) as latest_nps_score,
        latest_nps_class,
        {{ cx_as_double('revenue_12m') }} as revenue_12m,
        {{ cx_as_double('revenue_prior_12m') }} as revenue_prior_12m,
        {{ cx_as_double('strategic_potential_score') }} as strategic_potential_score,
        value_tier,
        {{ cx_as_double('priority_score') }} as priority_score,
        cast(
            row_number() over (order by priority_score desc, cev desc, customer_id asc)
            as {{ dbt.type_bigint() }}
        ) as priority_rank,
        unknown_components,
        model_warnings,
        are_models_identified
    from prioritised
)

select * from final
