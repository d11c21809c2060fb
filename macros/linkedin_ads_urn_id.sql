{#- LinkedIn names an entity by number in some places and by URN in others
    (`urn:li:sponsoredCreative:123`). This gives the bare id as a string either way; a value that
    is neither a bare id nor a URN of the expected type stays whole, so it shows instead of vanishing. -#}
{% macro linkedin_ads_urn_id(column, urn_type) -%}
regexp_replace(cast({{ column }} as varchar), '^urn:li:{{ urn_type }}:', '')
{%- endmacro %}
