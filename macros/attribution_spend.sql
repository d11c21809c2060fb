{#- attribution_spend_ctes: the CTEs `attribution_models`, `model_spend_days` and `joined` of the attribution
    reports. Expects CTEs `credited_days` (attribution_model, the `keys`, the `carried` columns,
    attributed_conversions, attributed_value) and `spend_days` (the `keys`, spend_reporting and what the
    `carried` fallbacks read). Spend repeats for every model of the var `attribution_models`; a key with spend
    and nothing attributed keeps 0 conversions, a key with credits and no spend keeps NULL spend. `carried`
    maps a column to its fallback expression over `model_spend_days` when nothing was credited. -#}
{% macro attribution_spend_ctes(keys, carried) -%}
{#- (vars are read when dbt executes; the linter's templater gets the defaults) -#}
{%- set models = var('attribution_models') if execute else ['last_touch'] -%}
attribution_models as (

    select unnest(['{{ models | join("', '") }}']) as attribution_model

),

model_spend_days as (

    select
        attribution_models.attribution_model,
        spend_days.*
    from attribution_models
    cross join spend_days

),

joined as (

    select
        {%- for key in ['attribution_model'] + keys %}
        coalesce(credited_days.{{ key }}, model_spend_days.{{ key }}) as {{ key }},
        {%- endfor %}
        {%- for column, fallback in carried.items() %}
        coalesce(credited_days.{{ column }}, {{ fallback }}) as {{ column }},
        {%- endfor %}
        coalesce(credited_days.attributed_conversions, 0) as attributed_conversions,
        coalesce(credited_days.attributed_value, 0) as attributed_value,
        model_spend_days.spend_reporting
    from credited_days
    full outer join model_spend_days
        on
            credited_days.attribution_model = model_spend_days.attribution_model
            {%- for key in keys %}
            and credited_days.{{ key }} = model_spend_days.{{ key }}
            {%- endfor %}

)
{%- endmacro %}

{#- attribution_spend_ratios: spend, CPA and ROAS columns (reporting currency) of an attribution report;
    NULL when their divisor is 0. -#}
{% macro attribution_spend_ratios(conversions, value, spend) -%}
    cast({{ spend }} as decimal(18, 6)) as spend_reporting,
    cast({{ spend }} / nullif({{ conversions }}, 0) as double) as cost_per_acquisition,
    cast({{ value }} / nullif({{ spend }}, 0) as double) as return_on_ad_spend
{%- endmacro %}
