{#
    One row per answered questionnaire: the answers of one customer to one survey
    at one touchpoint, submitted together, side by side. A questionnaire has no key
    in the export; its answers share (customer_id, survey_id, touchpoint,
    answered_at), so that is the grain, and the smallest response id names it.
#}
with

responses as (
    select * from {{ ref('stg_surveys__survey_responses') }}
),

final as (
    select
        customer_id,
        survey_id,
        touchpoint,
        answered_at,
        min(response_id) as questionnaire_id,
        -- one survey asks for one stage; max() keeps the grain if an export disagrees
        max(stage) as stage,  -- noqa: RF04
        min(sent_at) as sent_at,
        count(*) as answer_count,
        max(case when question_type = 'nps' then score end) as nps_score,
        max(case when question_type = 'csat' then score end) as csat_score,
        max(case when question_type = 'ces' then score end) as ces_score,
        max(case when question_type = 'expectation' then score end) as expectation_score
    from responses
    group by customer_id, survey_id, touchpoint, answered_at
)

select * from final
