{#- A HubSpot timestamp as UTC timestamptz. HubSpot writes ISO 8601 with `Z` or epoch milliseconds,
    and dlt may land either as text or already as a timestamp: all of them are read here. -#}
{% macro crm_timestamp(column) -%}
    case
        when regexp_full_match(trim(cast({{ column }} as varchar)), '[0-9]+')
            then timezone('UTC', epoch_ms(cast(trim(cast({{ column }} as varchar)) as bigint)))
        else cast(cast({{ column }} as varchar) as timestamptz)
    end
{%- endmacro %}
