{#
    The term number (rank by start date per customer) is the position in the renewal
    chain: a first term has no previous term, and a renewal's previous term belongs
    to the same customer and has the number before it. This is the assumption that
    lets int_subscription_terms_renewed avoid a recursive walk of the chain.
#}
with

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

final as (
    select
        terms.subscription_id,
        terms.customer_id,
        terms.term_number,
        terms.previous_subscription_id,
        previous_terms.customer_id as previous_customer_id,
        previous_terms.term_number as previous_term_number
    from terms
    left join terms as previous_terms
        on terms.previous_subscription_id = previous_terms.subscription_id
    where
        (terms.previous_subscription_id is null and terms.term_number != 1)
        or (
            terms.previous_subscription_id is not null
            and (
                previous_terms.subscription_id is null
                or previous_terms.customer_id != terms.customer_id
                or previous_terms.term_number != terms.term_number - 1
            )
        )
)

select * from final
