{# The SQL closed form of P(alive) (macro cx_bgnbd_p_alive) agrees with cx_value.clv.bgnbd.p_alive. #}
with

sql_scores as (
    select * from {{ ref('fct_customer_clv') }}
),

python_scores as (
    select * from {{ ref('clv_customer_predictions') }}
),

final as (
    select
        sql_scores.customer_id,
        sql_scores.p_alive as sql_p_alive,
        python_scores.p_alive as python_p_alive
    from sql_scores
    full outer join python_scores
        on sql_scores.customer_id = python_scores.customer_id
    where
        sql_scores.customer_id is null
        or python_scores.customer_id is null
        or abs(sql_scores.p_alive - python_scores.p_alive) > 1e-9
)

select * from final
