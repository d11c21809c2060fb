{#- LinkedIn writes times as epoch milliseconds (UTC): an exact UTC timestamptz (no float on the way). -#}
{% macro linkedin_ads_epoch_ms(expression) -%}
make_timestamptz(cast({{ expression }} as bigint) * 1000)
{%- endmacro %}
