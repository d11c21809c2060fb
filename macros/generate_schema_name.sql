{#- Folder schemas are used as-is (`staging`, `marts`), not prefixed with the target schema,
    so the DuckDB file BI tools open has the same schema names as the Iceberg namespaces. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
