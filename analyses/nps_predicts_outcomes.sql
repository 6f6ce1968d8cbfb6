{#
    Does NPS predict repurchase, recommendation and renewal? (DOMAIN §1, text 003)
    Promoters against detractors of each customer type, from mart_nps_outcomes:
    the difference of each rate with a two-proportion z (unpooled standard
    error; |z| > 1.96 is a difference at the 5 % level), next to the type's
    correlations of mean NPS with margin, repeat orders and revenue.
    Compile with `dbt compile --select nps_predicts_outcomes` and run the SQL.
#}
with

nps_outcomes as (
    select * from {{ ref('mart_nps_outcomes') }}
),

classes_side_by_side as (
    select
        customer_type,
        max(case when nps_class = 'promoter' then customers end) as promoters,
        max(case when nps_class = 'detractor' then customers end) as detractors,
        max(case when nps_class = 'promoter' then repurchase_rate end) as promoter_repurchase_rate,
        max(case when nps_class = 'detractor' then repurchase_rate end) as detractor_repurchase_rate,
        max(case when nps_class = 'promoter' then referral_rate end) as promoter_referral_rate,
        max(case when nps_class = 'detractor' then referral_rate end) as detractor_referral_rate,
        max(case when nps_class = 'promoter' then terms_decided end) as promoter_terms,
        max(case when nps_class = 'detractor' then terms_decided end) as detractor_terms,
        max(case when nps_class = 'promoter' then renewal_rate end) as promoter_renewal_rate,
        max(case when nps_class = 'detractor' then renewal_rate end) as detractor_renewal_rate,
        max(correlation_customers) as correlation_customers,
        max(nps_margin_correlation) as nps_margin_correlation,
        max(nps_orders_correlation) as nps_orders_correlation,
        max(nps_revenue_correlation) as nps_revenue_correlation
    from nps_outcomes
    group by customer_type
),

final as (
    select
        customer_type,
        promoters,
        detractors,
        correlation_customers,
        nps_margin_correlation,
        nps_orders_correlation,
        nps_revenue_correlation,
        promoter_repurchase_rate - detractor_repurchase_rate as repurchase_rate_difference,
        (promoter_repurchase_rate - detractor_repurchase_rate) / nullif(sqrt(
            promoter_repurchase_rate * (1 - promoter_repurchase_rate) / promoters
            + detractor_repurchase_rate * (1 - detractor_repurchase_rate) / detractors
        ), 0) as repurchase_z,
        promoter_referral_rate - detractor_referral_rate as referral_rate_difference,
        (promoter_referral_rate - detractor_referral_rate) / nullif(sqrt(
            promoter_referral_rate * (1 - promoter_referral_rate) / promoters
            + detractor_referral_rate * (1 - detractor_referral_rate) / detractors
        ), 0) as referral_z,
        promoter_renewal_rate - detractor_renewal_rate as renewal_rate_difference,
        (promoter_renewal_rate - detractor_renewal_rate) / nullif(sqrt(
            promoter_renewal_rate * (1 - promoter_renewal_rate) / nullif(promoter_terms, 0)
            + detractor_renewal_rate * (1 - detractor_renewal_rate) / nullif(detractor_terms, 0)
        ), 0) as renewal_z
    from classes_side_by_side
)

select * from final
