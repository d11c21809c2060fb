{#- Attributed value and conversions per fitted channel for each of the next days, at the current and at the
    recommended daily spend (int_budget__forecast), with a 90 % band from the fit's residuals per day and on the
    running total (the first 7 and 28 rows of a channel, metric and scenario are the 7- and 28-day forecasts).
    The band covers the daily noise around the curve, not the curve's own uncertainty. -#}

with

forecast as (

    select * from {{ ref('int_budget__forecast') }}

),

final as (

    select
        -- ids
        {{ surrogate_key([
            'forecast.attribution_channel', 'forecast.response_metric', 'forecast.scenario', 'forecast.horizon_day'
        ]) }} as budget_forecast_sk,

        -- strings
        cast('{{ var("budget_attribution_model") }}' as varchar) as attribution_model,
        cast(forecast.attribution_channel as varchar) as attribution_channel,
        cast(forecast.response_metric as varchar) as response_metric,
        cast(forecast.scenario as varchar) as scenario,
        cast('{{ var("budget_mode") }}' as varchar) as budget_mode,
        cast(upper('{{ var("reporting_currency") }}') as varchar) as reporting_currency,

        -- numerics
        cast(forecast.horizon_day as integer) as horizon_day,
        cast(forecast.spend as double) as spend_reporting,
        cast(forecast.predicted as double) as predicted,
        cast(forecast.predicted_low as double) as predicted_low,
        cast(forecast.predicted_high as double) as predicted_high,
        cast(forecast.cumulative_spend as double) as cumulative_spend_reporting,
        cast(forecast.cumulative_predicted as double) as cumulative_predicted,
        cast(forecast.cumulative_low as double) as cumulative_low,
        cast(forecast.cumulative_high as double) as cumulative_high,

        -- dates
        cast(forecast.forecast_date as date) as forecast_date

    from forecast

)

select * from final
