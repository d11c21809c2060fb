{#- The configured Meta attribution window, checked: a typo would silently give 0 conversions. -#}
{% macro meta_ads_conversion_window() -%}
    {%- set windows = ['default', '1d_click', '7d_click', '28d_click', '1d_view'] -%}
    {%- set window = var('meta_ads_conversion_window') -%}
    {%- if window not in windows -%}
        {{ exceptions.raise_compiler_error("var meta_ads_conversion_window must be one of "
            ~ windows | join(", ") ~ ", not " ~ window) }}
    {%- endif -%}
    {{- window -}}
{%- endmacro %}
