{#- Select a source table's declared columns, filling the ones that do not exist (yet) with typed
    NULLs: dlt creates a column only once a value arrives, and a source that never loaded has no
    table at all. The declared columns and types come from the source YAML (`data_type`). -#}
{% macro source_columns(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {#- In a unit test the relation is the test's fixture (which has every column) and the
            graph of sources is not available. -#}
        select * from {{ relation }}
    {%- else -%}
        {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
            | selectattr('name', 'equalto', table_name) | first -%}
        {%- set declared = node.columns.values() | list -%}
        {%- if declared | length == 0 -%}
            {{ exceptions.raise_compiler_error("source " ~ source_name ~ "." ~ table_name ~ " declares no columns") }}
        {%- endif -%}
        {%- set existing = adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
        {%- set present = [] -%}
        {%- if existing is not none -%}
            {%- for column in adapter.get_columns_in_relation(existing) -%}
                {%- do present.append(column.name | lower) -%}
            {%- endfor -%}
        {%- endif -%}
        select
        {%- for column in declared %}
            {% if column.name | lower in present -%}
                {{ adapter.quote(column.name) }}
            {%- else -%}
                cast(null as {{ column.data_type }}) as {{ adapter.quote(column.name) }}
            {%- endif -%}
            {{- "," if not loop.last }}
        {%- endfor %}
        {% if existing is not none -%}
            from {{ relation }}
        {%- else -%}
            where false
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
