{#
    Helpers of the incremental web sessions (fct_web_sessions).
#}

{# The visitor of an event: its anonymous id, or `user:<customer id>` without one. #}
{% macro cx_web_visitor_id(anonymous_id='anonymous_id', user_id='user_id') -%}
    coalesce({{ anonymous_id }}, {{ dbt.concat(["'user:'", user_id]) }})
{%- endmacro %}

{# The query of every visitor with a staged event (the sessions' post-hook). #}
{% macro cx_web_visitor_ids() -%}
    select distinct {{ cx_web_visitor_id() }} as visitor_id from {{ ref('stg_web__events') }}
{%- endmacro %}
