{#
    The term number (rank by start date per customer) is the position in the renewal
    chain: a first term has no previous term, and a renewal's previous term belongs
    to the same customer and has the number before it. This is the assumption that
    lets int_subscription_terms_renewed avoid a recursive walk of the chain.

    A previous term that staging rejected (it is in stg_crm__subscriptions_rejected,
    e.g. a fee of NaN) leaves a known gap: the renewal then points at a term the chain
    cannot hold, and is numbered after the terms that remain. Only such a gap passes;
    a previous term missing from the export, another customer's term or one numbered
    out of place still fails.
#}
with

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

raw_terms as (
    select * from {{ ref('base_crm__subscriptions') }}
),

rejected_terms as (
    -- keys of terms with a rejected row and no staged one
    select subscription_id
    from raw_terms
    where subscription_id is not null
    group by subscription_id
    having max(case when reject_reason is null then 1 else 0 end) = 0
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
    left join rejected_terms
        on terms.previous_subscription_id = rejected_terms.subscription_id
    where
        (terms.previous_subscription_id is null and terms.term_number != 1)
        or (
            terms.previous_subscription_id is not null
            and (
                (previous_terms.subscription_id is null and rejected_terms.subscription_id is null)
                or previous_terms.customer_id != terms.customer_id
                or previous_terms.term_number != terms.term_number - 1
            )
        )
)

select * from final
