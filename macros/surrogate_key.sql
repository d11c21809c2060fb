{#- A deterministic key for a composite grain, shaped like dbt_utils.generate_surrogate_key
    (which cannot be installed offline). NULLs get a marker so (null, 'a') != ('', 'a'). -#}
{% macro surrogate_key(columns) -%}
    {{ return(adapter.dispatch('surrogate_key', 'adlake')(columns)) }}
{%- endmacro %}

{% macro default__surrogate_key(columns) -%}
    md5(concat_ws('-'
    {%- for column in columns -%}
        , coalesce(cast({{ column }} as {{ dbt.type_string() }}), '_adlake_null_')
    {%- endfor -%}
    ))
{%- endmacro %}
