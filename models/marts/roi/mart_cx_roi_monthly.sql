{#
    The three ROI measures of DOMAIN text 002 on one monthly page per segment:
    promoters (with NPS, CSAT and CES beside them), the cost of discounts (price
    realisation) with revenue and margin, and churned customers in count and in the reporting currency.
    A complete month × segment grid from the first month with data to the
    observation month, so a chart shows a quiet month as zero, not as a gap.
#}
with

as_of as (
    select * from {{ ref('int_observation_date') }}
),

dates as (
    select * from {{ ref('dim_dates') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__survey_responses') }}
),

order_lines as (
    select * from {{ ref('int_order_lines_valued') }}
),

churned_terms as (
    select * from {{ ref('int_churned_terms_valued') }}
),

customer_mrr as (
    select * from {{ ref('int_customer_mrr_monthly') }}
),

answers as (
    select
        {{ cx_month('survey_responses.answered_at') }} as month_start_date,
        customers.segment,
        survey_responses.question_type,
        survey_responses.score
    from survey_responses
    inner join customers
        on survey_responses.customer_id = customers.customer_id
    cross join as_of
    where survey_responses.answered_at < as_of.as_of_end_at
),

survey_counts as (
    select
        month_start_date,
        segment,
        sum(case when question_type = 'nps' then 1 else 0 end) as nps_respondents,
        sum(case when question_type = 'nps' and score >= 9 then 1 else 0 end) as promoters,
        sum(case when question_type = 'nps' and score between 7 and 8 then 1 else 0 end)
            as passives,
        sum(case when question_type = 'nps' and score <= 6 then 1 else 0 end) as detractors,
        sum(case when question_type = 'csat' then 1 else 0 end) as csat_respondents,
        sum(case when question_type = 'csat' and score >= 4 then 1 else 0 end)
            as csat_satisfied,
        sum(case when question_type = 'csat' then score else 0 end) as csat_score_sum,
        sum(case when question_type = 'ces' then 1 else 0 end) as ces_respondents,
        sum(case when question_type = 'ces' and score >= 5 then 1 else 0 end) as ces_easy,
        sum(case when question_type = 'ces' then score else 0 end) as ces_score_sum
    from answers
    group by month_start_date, segment
),

order_values as (
    select
        order_month as month_start_date,
        segment,
        -- completed documents: what was actually earned, net of returns and credit notes
        sum(case when is_completed and not is_return then 1 else 0 end) as completed_order_lines,
        sum(case when is_completed and is_return then 1 else 0 end) as returned_order_lines,
        sum(case when is_completed then list_value else 0 end) as list_value,
        sum(case when is_completed then gross_revenue else 0 end) as gross_revenue,
        sum(case when is_completed then returned_revenue else 0 end) as returned_revenue,
        sum(case when is_completed then revenue else 0 end) as net_revenue,
        sum(case when is_completed and revenue_stream = 'contract' then revenue else 0 end)
            as contract_revenue,
        sum(case when is_completed then discount_cost else 0 end) as discount_cost,
        sum(case when is_completed and has_unit_cost then revenue else 0 end)
            as costed_revenue,
        sum(case when is_completed and has_unit_cost then cost else 0 end) as cost,
        sum(case when is_completed and not has_unit_cost then 1 else 0 end)
            as completed_lines_without_cost,
        -- every line, cancelled and returned orders too: the discount granted
        count(*) as order_lines,
        sum(list_value) as all_lines_list_value,
        sum(revenue) as all_lines_realised_value,
        sum(discount_cost) as all_lines_discount_cost
    from order_lines
    group by order_month, segment
),

churn_values as (
    select
        churn_month as month_start_date,
        segment,
        count(distinct customer_id) as churned_customers,
        sum(fee_revenue_12m) as churned_fee_revenue_12m,
        sum(revenue_12m) as churned_revenue_12m,
        sum(lost_mrr) as churned_lost_mrr,
        sum(lost_contract_value_12m) as churned_contract_value_12m
    from churned_terms
    group by churn_month, segment
),

mrr_values as (
    select
        customer_mrr.month_start_date,
        customers.segment,
        sum(customer_mrr.previous_mrr) as mrr_start,
        sum(customer_mrr.new_mrr) as mrr_new,
        sum(customer_mrr.reactivation_mrr) as mrr_reactivation,
        sum(customer_mrr.expansion_mrr) as mrr_expansion,
        sum(customer_mrr.contraction_mrr) as mrr_contraction,
        sum(customer_mrr.churned_mrr) as mrr_churned,
        sum(customer_mrr.mrr) as mrr_end
    from customer_mrr
    inner join customers
        on customer_mrr.customer_id = customers.customer_id
    group by customer_mrr.month_start_date, customers.segment
),

data_months as (
    select month_start_date from survey_counts
    union all
    select month_start_date from order_values
    union all
    select month_start_date from churn_values
    union all
    select month_start_date from mrr_values
),

month_bounds as (
    select
        min(data_months.month_start_date) as first_month,
        max({{ cx_month('as_of.as_of_date') }}) as last_month
    from data_months
    cross join as_of
),

months as (
    select distinct dates.month_start_date
    from dates
    cross join month_bounds
    where dates.month_start_date between month_bounds.first_month and month_bounds.last_month
),

segments as (
    select distinct segment
    from customers
),

grid as (
    select
        months.month_start_date,
        segments.segment
    from months
    cross join segments
),

joined as (
    select
        grid.month_start_date,
        grid.segment,
        -- a quiet month is 0 where the source was observed, unknown (null) where it was not
        {{ cx_coalesce_observed('survey_counts.nps_respondents', 'survey_responses') }} as nps_respondents,
        {{ cx_coalesce_observed('survey_counts.promoters', 'survey_responses') }} as promoters,
        {{ cx_coalesce_observed('survey_counts.passives', 'survey_responses') }} as passives,
        {{ cx_coalesce_observed('survey_counts.detractors', 'survey_responses') }} as detractors,
        {{ cx_coalesce_observed('survey_counts.csat_respondents', 'survey_responses') }} as csat_respondents,
        {{ cx_coalesce_observed('survey_counts.csat_satisfied', 'survey_responses') }} as csat_satisfied,
        {{ cx_coalesce_observed('survey_counts.csat_score_sum', 'survey_responses') }} as csat_score_sum,
        {{ cx_coalesce_observed('survey_counts.ces_respondents', 'survey_responses') }} as ces_respondents,
        {{ cx_coalesce_observed('survey_counts.ces_easy', 'survey_responses') }} as ces_easy,
        {{ cx_coalesce_observed('survey_counts.ces_score_sum', 'survey_responses') }} as ces_score_sum,
        {{ cx_coalesce_observed('order_values.completed_order_lines', ['orders', 'order_lines']) }}
            as completed_order_lines,
        {{ cx_coalesce_observed('order_values.returned_order_lines', ['orders', 'order_lines']) }}
            as returned_order_lines,
        {{ cx_coalesce_observed('order_values.list_value', ['orders', 'order_lines']) }}
            as list_value,
        {{ cx_coalesce_observed('order_values.gross_revenue', ['orders', 'order_lines']) }}
            as gross_revenue,
        {{ cx_coalesce_observed('order_values.returned_revenue', ['orders', 'order_lines']) }}
            as returned_revenue,
        {{ cx_coalesce_observed('order_values.net_revenue', ['orders', 'order_lines']) }}
            as net_revenue,
        {{ cx_coalesce_observed('order_values.contract_revenue', ['orders', 'order_lines']) }}
            as contract_revenue,
        {{ cx_coalesce_observed('order_values.discount_cost', ['orders', 'order_lines']) }}
            as discount_cost,
        {{ cx_coalesce_observed('order_values.costed_revenue', ['orders', 'order_lines']) }}
            as costed_revenue,
        {{ cx_coalesce_observed('order_values.cost', ['orders', 'order_lines']) }}
            as cost,
        {{ cx_coalesce_observed('order_values.completed_lines_without_cost', ['orders', 'order_lines']) }}
            as completed_lines_without_cost,
        {{ cx_coalesce_observed('order_values.order_lines', ['orders', 'order_lines']) }}
            as order_lines,
        {{ cx_coalesce_observed('order_values.all_lines_list_value', ['orders', 'order_lines']) }}
            as all_lines_list_value,
        {{ cx_coalesce_observed('order_values.all_lines_realised_value', ['orders', 'order_lines']) }}
            as all_lines_realised_value,
        {{ cx_coalesce_observed('order_values.all_lines_discount_cost', ['orders', 'order_lines']) }}
            as all_lines_discount_cost,
        {{ cx_coalesce_observed('churn_values.churned_customers', 'subscriptions') }}
            as churned_customers,
        {{ cx_coalesce_observed('churn_values.churned_fee_revenue_12m', 'subscriptions') }}
            as churned_fee_revenue_12m,
        {{ cx_coalesce_observed('churn_values.churned_revenue_12m', 'subscriptions') }}
            as churned_revenue_12m,
        {{ cx_coalesce_observed('churn_values.churned_lost_mrr', 'subscriptions') }}
            as churned_lost_mrr,
        {{ cx_coalesce_observed('churn_values.churned_contract_value_12m', 'subscriptions') }}
            as churned_contract_value_12m,
        {{ cx_coalesce_observed('mrr_values.mrr_start', 'subscriptions') }} as mrr_start,
        {{ cx_coalesce_observed('mrr_values.mrr_new', 'subscriptions') }} as mrr_new,
        {{ cx_coalesce_observed('mrr_values.mrr_reactivation', 'subscriptions') }} as mrr_reactivation,
        {{ cx_coalesce_observed('mrr_values.mrr_expansion', 'subscriptions') }} as mrr_expansion,
        {{ cx_coalesce_observed('mrr_values.mrr_contraction', 'subscriptions') }} as mrr_contraction,
        {{ cx_coalesce_observed('mrr_values.mrr_churned', 'subscriptions') }} as mrr_churned,
        {{ cx_coalesce_observed('mrr_values.mrr_end', 'subscriptions') }} as mrr_end
    from grid
    left join survey_counts
        on
            grid.month_start_date = survey_counts.month_start_date
            and grid.segment = survey_counts.segment
    left join order_values
        on
            grid.month_start_date = order_values.month_start_date
            and grid.segment = order_values.segment
    left join churn_values
        on
            grid.month_start_date = churn_values.month_start_date
            and grid.segment = churn_values.segment
    left join mrr_values
        on
            grid.month_start_date = mrr_values.month_start_date
            and grid.segment = mrr_values.segment
),

final as (
    select
        joined.month_start_date,
        joined.segment,
        joined.month_start_date = {{ cx_month('as_of.as_of_date') }} as is_partial_month,
        -- promoters (NPS)
        cast(joined.nps_respondents as {{ dbt.type_bigint() }}) as nps_respondents,
        cast(joined.promoters as {{ dbt.type_bigint() }}) as promoters,
        cast(joined.passives as {{ dbt.type_bigint() }}) as passives,
        cast(joined.detractors as {{ dbt.type_bigint() }}) as detractors,
        {{ cx_share('joined.promoters', 'joined.nps_respondents') }} as promoter_share,
        {{ cx_nps('joined.promoters', 'joined.detractors', 'joined.nps_respondents') }} as nps,
        {{ cx_nps_adjusted('joined.promoters', 'joined.detractors', 'joined.nps_respondents') }}
            as nps_adjusted,
        {{ cx_nps_lower('joined.promoters', 'joined.detractors', 'joined.nps_respondents') }}
            as nps_lower,
        {{ cx_nps_upper('joined.promoters', 'joined.detractors', 'joined.nps_respondents') }}
            as nps_upper,
        {{ cx_is_too_small('joined.nps_respondents') }} as is_nps_too_small,
        -- CSAT and CES beside the promoters
        cast(joined.csat_respondents as {{ dbt.type_bigint() }}) as csat_respondents,
        {{ cx_csat_share('joined.csat_satisfied', 'joined.csat_respondents') }} as csat_share,
        {{ cx_score_mean('joined.csat_score_sum', 'joined.csat_respondents') }} as csat_mean,
        cast(joined.ces_respondents as {{ dbt.type_bigint() }}) as ces_respondents,
        {{ cx_score_mean('joined.ces_score_sum', 'joined.ces_respondents') }} as ces_mean,
        {{ cx_ces_share('joined.ces_easy', 'joined.ces_respondents') }} as ces_easy_share,
        -- revenue net of returns, and the cost of discounts, on completed documents
        cast(joined.completed_order_lines as {{ dbt.type_bigint() }}) as completed_order_lines,
        cast(joined.returned_order_lines as {{ dbt.type_bigint() }}) as returned_order_lines,
        cast(joined.gross_revenue as decimal(38, 4)) as gross_revenue,
        cast(joined.returned_revenue as decimal(38, 4)) as returned_revenue,
        cast(joined.net_revenue as decimal(38, 4)) as net_revenue,
        cast(joined.contract_revenue as decimal(38, 4)) as contract_revenue,
        cast(joined.list_value as decimal(38, 4)) as list_value,
        cast(joined.discount_cost as decimal(38, 4)) as discount_cost,
        case
            when joined.list_value > 0
                then
                    {{ cx_as_double('joined.net_revenue') }}
                    / {{ cx_as_double('joined.list_value') }}
        end as price_realisation,
        cast(joined.cost as decimal(38, 4)) as cost,
        cast(joined.costed_revenue - joined.cost as decimal(38, 4)) as margin,
        case
            when joined.net_revenue > 0
                then
                    100 * {{ cx_as_double('joined.costed_revenue') }}
                    / {{ cx_as_double('joined.net_revenue') }}
        end as margin_coverage_share,
        cast(joined.completed_lines_without_cost as {{ dbt.type_bigint() }})
            as completed_lines_without_cost,
        -- every line, cancelled and returned orders included
        cast(joined.order_lines as {{ dbt.type_bigint() }}) as order_lines,
        cast(joined.all_lines_list_value as decimal(38, 4)) as all_lines_list_value,
        cast(joined.all_lines_realised_value as decimal(38, 4))
            as all_lines_realised_value,
        cast(joined.all_lines_discount_cost as decimal(38, 4))
            as all_lines_discount_cost,
        -- churned contract customers, count and money
        cast(joined.churned_customers as {{ dbt.type_bigint() }}) as churned_customers,
        cast(joined.churned_fee_revenue_12m as decimal(38, 4)) as churned_fee_revenue_12m,
        cast(joined.churned_revenue_12m as decimal(38, 4)) as churned_revenue_12m,
        cast(joined.churned_lost_mrr as decimal(38, 4)) as churned_lost_mrr,
        cast(joined.churned_contract_value_12m as decimal(38, 4))
            as churned_contract_value_12m,
        -- monthly recurring revenue and its movement (int_customer_mrr_monthly)
        cast(joined.mrr_start as decimal(38, 4)) as mrr_start,
        cast(joined.mrr_new as decimal(38, 4)) as mrr_new,
        cast(joined.mrr_reactivation as decimal(38, 4)) as mrr_reactivation,
        cast(joined.mrr_expansion as decimal(38, 4)) as mrr_expansion,
        cast(joined.mrr_contraction as decimal(38, 4)) as mrr_contraction,
        cast(joined.mrr_churned as decimal(38, 4)) as mrr_churned,
        cast(joined.mrr_end as decimal(38, 4)) as mrr_end,
        as_of.as_of_date
    from joined
    cross join as_of
)

select * from final
