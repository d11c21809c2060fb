{#- A project var as a SQL string literal, or a typed NULL when the var is unset (null or empty),
    so an unknown value stays unknown instead of becoming the text 'None'. -#}
{% macro string_var(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or value | string | trim == '' -%}
        cast(null as varchar)
    {%- else -%}
        '{{ value | string | trim | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}
