{#
    The ticket KPIs of the service marts (DOMAIN §2), written once so that the
    monthly and the whole-history marts cannot drift apart. Aggregates over rows of
    int_tickets_measured; the caller groups. Medians and 90th percentiles cannot be
    re-aggregated from coarser rows, so every grain aggregates tickets directly.
#}
{% macro cx_service_ticket_kpis(prefix='') -%}
    cast(count(*) as {{ dbt.type_bigint() }}) as tickets,
    cast(sum(case when {{ prefix }}is_responded then 1 else 0 end) as {{ dbt.type_bigint() }}) as responded_tickets,
    {{ cx_as_double(cx_percentile(prefix ~ 'first_response_hours', 0.5)) }} as first_response_median_hours,
    {{ cx_as_double(cx_percentile(prefix ~ 'first_response_hours', 0.9)) }} as first_response_p90_hours,
    cast(sum(case when {{ prefix }}is_resolved then 1 else 0 end) as {{ dbt.type_bigint() }}) as resolved_tickets,
    {{ cx_as_double(cx_percentile(prefix ~ 'resolution_hours', 0.5)) }} as resolution_median_hours,
    {{ cx_as_double(cx_percentile(prefix ~ 'resolution_hours', 0.9)) }} as resolution_p90_hours,
    cast(sum(
        case when {{ prefix }}is_first_contact_resolution is not null then 1 else 0 end
    ) as {{ dbt.type_bigint() }}) as fcr_base_tickets,
    cast(sum(case when {{ prefix }}is_first_contact_resolution then 1 else 0 end) as {{ dbt.type_bigint() }}) as fcr_tickets,
    cast(sum(case when {{ prefix }}is_reopened then 1 else 0 end) as {{ dbt.type_bigint() }}) as reopened_tickets,
    cast(sum(case when {{ prefix }}is_open then 1 else 0 end) as {{ dbt.type_bigint() }}) as open_tickets,
    cast(sum(case when {{ prefix }}is_complaint then 1 else 0 end) as {{ dbt.type_bigint() }}) as complaints
{%- endmacro %}

{#
    Shares and rates from the counts of cx_service_ticket_kpis, in % like every
    share of the project (score macros: cx_share, cx_wilson_*).
#}
{% macro cx_service_ticket_rates(prefix='') -%}
    {{ cx_share(prefix ~ 'fcr_tickets', prefix ~ 'fcr_base_tickets') }} as fcr_share,
    {{ cx_wilson_lower(prefix ~ 'fcr_tickets', prefix ~ 'fcr_base_tickets') }} as fcr_share_lower,
    {{ cx_wilson_upper(prefix ~ 'fcr_tickets', prefix ~ 'fcr_base_tickets') }} as fcr_share_upper,
    {{ cx_share(prefix ~ 'reopened_tickets', prefix ~ 'tickets') }} as reopen_rate
{%- endmacro %}
