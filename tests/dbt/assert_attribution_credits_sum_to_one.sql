-- Efficiency: under every model, the credits of each attributed conversion sum to 1 and its credited values
-- to its value; every model of var `attribution_models` credits every attributed conversion.
{%- set models = var('attribution_models') if execute else ['last_touch'] %}

with

credits as (

    select * from {{ ref('fct_attribution_credits') }}

),

attribution_models as (

    select unnest(['{{ models | join("', '") }}']) as attribution_model

),

conversion_models as (

    select
        conversion_id,
        attribution_model,
        max(conversion_value) as conversion_value,
        sum(credit) as credit_total,
        sum(credited_value) as credited_value_total
    from credits
    group by conversion_id, attribution_model

),

expected as (

    select
        conversions.conversion_id,
        attribution_models.attribution_model
    from (select distinct credits.conversion_id from credits) as conversions
    cross join attribution_models

),

final as (

    select
        expected.conversion_id,
        expected.attribution_model,
        conversion_models.credit_total,
        conversion_models.credited_value_total,
        conversion_models.conversion_value
    from expected
    left join conversion_models
        on
            expected.conversion_id = conversion_models.conversion_id
            and expected.attribution_model = conversion_models.attribution_model
    where
        conversion_models.conversion_id is null
        or abs(conversion_models.credit_total - 1) > 1e-9
        or abs(conversion_models.credited_value_total - conversion_models.conversion_value)
        > 1e-6 * greatest(1, abs(conversion_models.conversion_value))

)

select * from final
