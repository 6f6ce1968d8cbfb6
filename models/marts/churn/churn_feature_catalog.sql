{#
    The churn model's candidate features, one row each: the built-in ones and the
    extra columns declared as churn features (var cx_extra_columns), with the raw
    tables they are measured from and whether the warehouse observed them. A feature
    whose source was not observed is NULL on every term, and the fit drops it with
    the reason given here instead of reading an absent table as zeros.
#}
{%- set features = cx_churn_features() %}

with

catalog as (
    {%- for feature in features %}
        select
            '{{ feature.name }}' as feature,
            {{ loop.index }} as feature_order,
            '{{ feature.type }}' as feature_kind,
            '{{ feature.origin }}' as feature_origin,
            '{{ feature.sources | join(", ") }}' as source_tables,
            {{ cx_observed(feature.sources) }} as is_source_observed,
            '{{ feature.description | replace("'", "''") }}' as description
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        feature,
        cast(feature_order as {{ dbt.type_int() }}) as feature_order,
        feature_kind,
        feature_origin,
        source_tables,
        is_source_observed,
        case
            when not is_source_observed
                then {{ dbt.concat(["'source not observed: '", 'source_tables', "' held no staged row'"]) }}
        end as unavailable_reason,
        description
    from catalog
)

select * from final
