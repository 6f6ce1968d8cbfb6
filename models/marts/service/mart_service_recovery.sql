{#
    The service-recovery effect (DOMAIN text 003): do customers whose complaint was
    handled well answer and renew like customers who never complained, or better?
    Each customer is grouped by the outcome of their first complaint, and only what
    follows that complaint is counted, so the complaint cannot be explained by the
    answers and renewals it is compared with. Without ticket data there are no
    groups; without survey answers or contract terms their columns are null.
#}
with

customers as (
    select * from {{ ref('dim_customers') }}
),

tickets as (
    select * from {{ ref('int_tickets_measured') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__survey_responses') }}
),

terms as (
    select * from {{ ref('int_subscription_terms_renewed') }}
),

as_of as (
    select * from {{ ref('int_observation_date') }}
),

complaints_ranked as (
    select
        customer_id,
        opened_at,
        is_resolved,
        is_first_contact_resolution,
        row_number() over (
            partition by customer_id
            order by opened_at, ticket_id
        ) as complaint_number
    from tickets
    where is_complaint
),

customer_groups as (
    select
        customers.customer_id,
        complaints_ranked.opened_at as first_complaint_at,
        case
            when complaints_ranked.customer_id is null then 'no_complaint'
            when not complaints_ranked.is_resolved then 'complaint_unresolved'
            when complaints_ranked.is_first_contact_resolution then 'complaint_resolved_well'
            else 'complaint_resolved_poorly'
        end as recovery_group
    from customers
    left join complaints_ranked
        on
            customers.customer_id = complaints_ranked.customer_id
            and complaints_ranked.complaint_number = 1
    -- without ticket data nobody can be told to have complained or not: no groups
    where {{ cx_observed('tickets') }}
),

nps_answers as (
    select
        survey_responses.customer_id,
        survey_responses.score,
        survey_responses.answered_at
    from survey_responses
    cross join as_of
    where
        survey_responses.question_type = 'nps'
        and survey_responses.answered_at < as_of.as_of_end_at
),

later_nps as (
    select
        customer_groups.recovery_group,
        count(*) as nps_respondents,
        sum(case when nps_answers.score >= 9 then 1 else 0 end) as nps_promoters,
        sum(case when nps_answers.score <= 6 then 1 else 0 end) as nps_detractors
    from customer_groups
    inner join nps_answers
        on customer_groups.customer_id = nps_answers.customer_id
    where
        customer_groups.first_complaint_at is null
        or nps_answers.answered_at > customer_groups.first_complaint_at
    group by customer_groups.recovery_group
),

later_terms as (
    select
        customer_groups.recovery_group,
        count(*) as terms_decided,
        sum(case when terms.is_renewed then 1 else 0 end) as terms_renewed
    from customer_groups
    inner join terms
        on customer_groups.customer_id = terms.customer_id
    -- decided terms only: a censored term has no outcome yet
    where
        (terms.is_renewed or terms.is_churned)
        and (
            customer_groups.first_complaint_at is null
            or terms.end_date >= cast(customer_groups.first_complaint_at as date)
        )
    group by customer_groups.recovery_group
),

group_sizes as (
    select
        recovery_group,
        count(*) as customers
    from customer_groups
    group by recovery_group
),

groups_measured as (
    select
        group_sizes.recovery_group,
        group_sizes.customers,
        -- no answers is 0 answers only where survey answers were exported; likewise terms
        {{ cx_coalesce_observed('later_nps.nps_respondents', 'survey_responses') }}
            as nps_respondents,
        {{ cx_coalesce_observed('later_nps.nps_promoters', 'survey_responses') }}
            as nps_promoters,
        {{ cx_coalesce_observed('later_nps.nps_detractors', 'survey_responses') }}
            as nps_detractors,
        {{ cx_coalesce_observed('later_terms.terms_decided', 'subscriptions') }}
            as terms_decided,
        {{ cx_coalesce_observed('later_terms.terms_renewed', 'subscriptions') }}
            as terms_renewed
    from group_sizes
    left join later_nps
        on group_sizes.recovery_group = later_nps.recovery_group
    left join later_terms
        on group_sizes.recovery_group = later_terms.recovery_group
),

baseline as (
    select * from groups_measured
    where recovery_group = 'no_complaint'
),

final as (
    select
        groups_measured.recovery_group,
        case groups_measured.recovery_group
            when 'no_complaint' then 1
            when 'complaint_resolved_well' then 2
            when 'complaint_resolved_poorly' then 3
            else 4
        end as group_order,
        cast(groups_measured.customers as {{ dbt.type_bigint() }}) as customers,
        cast(groups_measured.nps_respondents as {{ dbt.type_bigint() }}) as nps_respondents,
        cast(groups_measured.nps_promoters as {{ dbt.type_bigint() }}) as nps_promoters,
        cast(groups_measured.nps_detractors as {{ dbt.type_bigint() }}) as nps_detractors,
        {{ cx_nps(
            'groups_measured.nps_promoters', 'groups_measured.nps_detractors',
            'groups_measured.nps_respondents'
        ) }} as nps,
        {{ cx_nps_lower(
            'groups_measured.nps_promoters', 'groups_measured.nps_detractors',
            'groups_measured.nps_respondents'
        ) }} as nps_lower,
        {{ cx_nps_upper(
            'groups_measured.nps_promoters', 'groups_measured.nps_detractors',
            'groups_measured.nps_respondents'
        ) }} as nps_upper,
        {{ cx_is_too_small('groups_measured.nps_respondents') }} as is_nps_too_small,
        {{ cx_nps('groups_measured.nps_promoters', 'groups_measured.nps_detractors',
            'groups_measured.nps_respondents') }}
        - {{ cx_nps('baseline.nps_promoters', 'baseline.nps_detractors',
            'baseline.nps_respondents') }} as nps_difference,
        {{ cx_nps_change_z(
            'groups_measured.nps_promoters', 'groups_measured.nps_detractors',
            'groups_measured.nps_respondents',
            'baseline.nps_promoters', 'baseline.nps_detractors', 'baseline.nps_respondents'
        ) }} as nps_difference_z,
        {{ cx_nps_change_is_significant(
            'groups_measured.nps_promoters', 'groups_measured.nps_detractors',
            'groups_measured.nps_respondents',
            'baseline.nps_promoters', 'baseline.nps_detractors', 'baseline.nps_respondents'
        ) }} as is_nps_difference_significant,
        cast(groups_measured.terms_decided as {{ dbt.type_bigint() }}) as terms_decided,
        cast(groups_measured.terms_renewed as {{ dbt.type_bigint() }}) as terms_renewed,
        {{ cx_share('groups_measured.terms_renewed', 'groups_measured.terms_decided') }}
            as renewal_share,
        {{ cx_wilson_lower('groups_measured.terms_renewed', 'groups_measured.terms_decided') }}
            as renewal_share_lower,
        {{ cx_wilson_upper('groups_measured.terms_renewed', 'groups_measured.terms_decided') }}
            as renewal_share_upper,
        {{ cx_share('groups_measured.terms_renewed', 'groups_measured.terms_decided') }}
        - {{ cx_share('baseline.terms_renewed', 'baseline.terms_decided') }}
            as renewal_share_difference
    from groups_measured
    -- a left join keeps the groups even if every customer has complained
    left join baseline
        on true
)

select * from final
