{#
    The SQL closed form of the next-renewal probability (macro cx_sbg_renewal_probability)
    agrees with cx_value.clv.retention.sbg_renewal_probability for every active subscriber.
#}
with

sql_scores as (
    select * from {{ ref('fct_customer_retention') }}
),

python_scores as (
    select * from {{ ref('retention_customer_predictions') }}
),

final as (
    select
        sql_scores.customer_id,
        sql_scores.renewal_probability as sql_renewal_probability,
        python_scores.renewal_probability as python_renewal_probability
    from sql_scores
    full outer join python_scores
        on sql_scores.customer_id = python_scores.customer_id
    where
        sql_scores.customer_id is null
        or python_scores.customer_id is null
        or abs(sql_scores.renewal_probability - python_scores.renewal_probability) > 1e-9
)

select * from final
