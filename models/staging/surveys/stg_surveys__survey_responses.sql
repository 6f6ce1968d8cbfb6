with

base as (
    select * from {{ ref('base_surveys__survey_responses') }}
),

final as (
    select
        response_id,
        customer_id,
        contact_id,
        survey_id,
        stage,
        touchpoint,
        question_type,
        score,
        raw_score,
        scale_direction,
        comment_text,
        sent_at,
        answered_at,
        loaded_at
    from base
    where
        reject_reason is null
        and not is_removed_duplicate
)

select * from final
