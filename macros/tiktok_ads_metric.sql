{#- A TikTok report metric string typed: TikTok writes "-" where a metric is not available, which
    becomes NULL (the connector has already quarantined anything else that would not cast). -#}
{% macro tiktok_ads_metric(column, data_type) -%}
cast(nullif(trim(cast({{ column }} as varchar)), '-') as {{ data_type }})
{%- endmacro %}
