{#
    The HBR "value of customer experience" analysis on our own data: customers
    banded by the NPS class of their latest relationship-survey answer before a
    12-month outcome window, and what each band spent and renewed in it. One
    row per customer type and band; the best-vs-worst and revenue-at-stake
    columns belong to the customer type and repeat on its three rows, so a BI
    tool can chart the bands and read the headline from any row.
#}
with

customers_banded as (
    select * from {{ ref('int_customers_cx_banded') }}
),

band_sums as (
    select
        customer_type,
        cx_band,
        cx_band_number,
        min(window_start_date) as window_start_date,
        min(window_end_date) as window_end_date,
        count(*) as customers,
        sum(window_revenue) as spend_sum,
        sum(window_revenue * window_revenue) as spend_sum_of_squares,
        sum(terms_ending_in_window) as terms_ending_in_window,
        sum(terms_decided) as terms_decided,
        sum(terms_renewed) as terms_renewed,
        sum(annual_fee_ending) as annual_fee_ending
    from customers_banded
    where cx_band is not null
    group by customer_type, cx_band, cx_band_number
),

type_populations as (
    select
        customer_type,
        sum(case when cx_band is not null then 1 else 0 end) as banded_customers,
        sum(case when cx_band is null then 1 else 0 end) as unbanded_customers
    from customers_banded
    group by customer_type
),

band_statistics as (
    select
        customer_type,
        cx_band,
        cx_band_number,
        window_start_date,
        window_end_date,
        customers,
        spend_sum as total_spend,
        {{ cx_score_mean('spend_sum', 'customers') }} as mean_spend,
        sqrt({{ cx_sample_variance('customers', 'spend_sum', 'spend_sum_of_squares') }}) as spend_sd,
        {{ cx_mean_standard_error('customers', 'spend_sum', 'spend_sum_of_squares') }} as mean_spend_se,
        {{ cx_mean_lower('customers', 'spend_sum', 'spend_sum_of_squares') }} as mean_spend_lower,
        {{ cx_mean_upper('customers', 'spend_sum', 'spend_sum_of_squares') }} as mean_spend_upper,
        terms_ending_in_window,
        terms_decided,
        terms_renewed,
        {{ cx_share('terms_renewed', 'terms_decided') }} / 100 as renewal_rate,
        {{ cx_wilson_lower('terms_renewed', 'terms_decided') }} / 100 as renewal_rate_lower,
        {{ cx_wilson_upper('terms_renewed', 'terms_decided') }} / 100 as renewal_rate_upper,
        {{ cx_score_mean('annual_fee_ending', 'terms_ending_in_window') }} as mean_annual_fee
    from band_sums
),

type_bands as (
    -- the three bands of a type side by side, for the comparisons
    select
        customer_type,
        max(case when cx_band = 'worst' then customers end) as worst_customers,
        max(case when cx_band = 'worst' then mean_spend end) as worst_mean_spend,
        max(case when cx_band = 'worst' then mean_spend_se end) as worst_mean_spend_se,
        max(case when cx_band = 'worst' then renewal_rate end) as worst_renewal_rate,
        max(case when cx_band = 'worst' then terms_ending_in_window end) as worst_terms_ending,
        max(case when cx_band = 'worst' then mean_annual_fee end) as worst_mean_annual_fee,
        max(case when cx_band = 'middle' then mean_spend end) as middle_mean_spend,
        max(case when cx_band = 'middle' then renewal_rate end) as middle_renewal_rate,
        max(case when cx_band = 'best' then mean_spend end) as best_mean_spend,
        max(case when cx_band = 'best' then mean_spend_se end) as best_mean_spend_se,
        max(case when cx_band = 'best' then renewal_rate end) as best_renewal_rate
    from band_statistics
    group by customer_type
),

type_comparisons as (
    select
        customer_type,
        case
            when worst_mean_spend > 0
                then best_mean_spend / worst_mean_spend
        end as spend_ratio_best_worst,
        {{ cx_ratio_lower('best_mean_spend', 'best_mean_spend_se',
                          'worst_mean_spend', 'worst_mean_spend_se') }} as spend_ratio_lower,
        {{ cx_ratio_upper('best_mean_spend', 'best_mean_spend_se',
                          'worst_mean_spend', 'worst_mean_spend_se') }} as spend_ratio_upper,
        best_mean_spend - worst_mean_spend as spend_uplift_per_customer,
        (best_mean_spend - worst_mean_spend) * worst_customers as spend_uplift_total,
        best_renewal_rate - worst_renewal_rate as renewal_rate_difference_best_worst,
        -- a year's worth: the window is 12 months
        (middle_mean_spend - worst_mean_spend) * worst_customers as spend_at_stake,
        coalesce(
            (middle_renewal_rate - worst_renewal_rate) * worst_terms_ending * worst_mean_annual_fee,
            0
        ) as renewal_at_stake
    from type_bands
),

final as (
    select
        band_statistics.customer_type,
        band_statistics.cx_band,
        band_statistics.cx_band_number,
        band_statistics.window_start_date,
        band_statistics.window_end_date,
        cast(band_statistics.customers as {{ dbt.type_bigint() }}) as customers,
        cast(type_populations.banded_customers as {{ dbt.type_bigint() }}) as banded_customers,
        cast(type_populations.unbanded_customers as {{ dbt.type_bigint() }}) as unbanded_customers,
        {{ cx_share('band_statistics.customers', 'type_populations.banded_customers') }} as band_share,
        {{ cx_is_too_small('band_statistics.customers') }} as is_too_small,
        {{ cx_as_double('band_statistics.total_spend') }} as total_spend,
        band_statistics.mean_spend,
        band_statistics.spend_sd,
        band_statistics.mean_spend_lower,
        band_statistics.mean_spend_upper,
        cast(band_statistics.terms_ending_in_window as {{ dbt.type_bigint() }}) as terms_ending_in_window,
        cast(band_statistics.terms_decided as {{ dbt.type_bigint() }}) as terms_decided,
        cast(band_statistics.terms_renewed as {{ dbt.type_bigint() }}) as terms_renewed,
        band_statistics.renewal_rate,
        band_statistics.renewal_rate_lower,
        band_statistics.renewal_rate_upper,
        {{ cx_as_double('band_statistics.mean_annual_fee') }} as mean_annual_fee,
        type_comparisons.spend_ratio_best_worst,
        type_comparisons.spend_ratio_lower,
        type_comparisons.spend_ratio_upper,
        100 * (type_comparisons.spend_ratio_best_worst - 1) as spend_uplift_pct,
        100 * (type_comparisons.spend_ratio_lower - 1) as spend_uplift_lower_pct,
        100 * (type_comparisons.spend_ratio_upper - 1) as spend_uplift_upper_pct,
        {{ cx_as_double('type_comparisons.spend_uplift_per_customer') }} as spend_uplift_per_customer,
        {{ cx_as_double('type_comparisons.spend_uplift_total') }} as spend_uplift_total,
        type_comparisons.renewal_rate_difference_best_worst,
        {{ cx_as_double('type_comparisons.spend_at_stake') }} as spend_at_stake,
        {{ cx_as_double('type_comparisons.renewal_at_stake') }} as renewal_at_stake,
        {{ cx_as_double('coalesce(type_comparisons.spend_at_stake, 0) + type_comparisons.renewal_at_stake') }}
            as revenue_at_stake
    from band_statistics
    inner join type_populations
        on band_statistics.customer_type = type_populations.customer_type
    inner join type_comparisons
        on band_statistics.customer_type = type_comparisons.customer_type
)

select * from final
