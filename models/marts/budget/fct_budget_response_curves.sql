{#- One response curve per paid attribution channel and response metric (int_budget__response_curves): its
    parameters, fit quality, the daily spend actually observed, current spend, the marginal return there and the
    backtest on the held-out last days. Money is daily, in the reporting currency. Attributed, not incremental
    (value_basis). -#}

with

response_curves as (

    select * from {{ ref('int_budget__response_curves') }}

),

final as (

    select
        -- ids
        {{ surrogate_key(['response_curves.attribution_channel', 'response_curves.response_metric']) }}
            as budget_response_curve_sk,

        -- strings
        cast('{{ var("budget_attribution_model") }}' as varchar) as attribution_model,
        cast(response_curves.attribution_channel as varchar) as attribution_channel,
        cast(split_part(response_curves.attribution_channel, ':', 1) as varchar) as channel,
        cast(nullif(split_part(response_curves.attribution_channel, ':', 2), '') as varchar) as platform,
        cast(response_curves.response_metric as varchar) as response_metric,
        cast(response_curves.status as varchar) as status,
        cast(response_curves.reason as varchar) as reason,
        cast(response_curves.backtest_status as varchar) as backtest_status,
        cast(response_curves.value_basis as varchar) as value_basis,
        cast(upper('{{ var("reporting_currency") }}') as varchar) as reporting_currency,

        -- numerics: the curve
        cast(response_curves.beta as double) as beta,
        cast(response_curves.half_saturation as double) as half_saturation_spend_reporting,
        cast(response_curves.shape as double) as shape,
        cast(response_curves.decay as double) as adstock_decay,
        cast(response_curves.r2 as double) as r2,
        cast(response_curves.residual_sd as double) as residual_sd,

        -- numerics: daily spend in the reporting currency
        cast(response_curves.n_days as integer) as fit_days,
        cast(response_curves.spend_min as double) as observed_min_spend_reporting,
        cast(response_curves.spend_max as double) as observed_max_spend_reporting,
        cast(response_curves.spend_mean as double) as observed_mean_spend_reporting,
        cast(response_curves.spend_cv as double) as spend_coefficient_of_variation,
        cast(response_curves.adstock_min as double) as observed_min_adstock_reporting,
        cast(response_curves.adstock_max as double) as observed_max_adstock_reporting,
        cast(response_curves.current_spend as double) as current_spend_reporting,

        -- numerics: at current spend
        cast(response_curves.response_at_current as double) as response_at_current_spend,
        cast(response_curves.marginal_return_at_current as double) as marginal_return_at_current_spend,
        {{ budget_marginal_columns('response_curves') }},

        -- numerics: backtest
        cast(response_curves.backtest_holdout_days as integer) as backtest_holdout_days,
        cast(response_curves.backtest_mape as double) as backtest_mape,
        cast(response_curves.backtest_wape as double) as backtest_wape,

        -- booleans
        response_curves.status = 'fitted' as is_fitted,

        -- dates
        cast(response_curves.first_date as date) as first_fit_date,
        cast(response_curves.last_date as date) as last_fit_date

    from response_curves

)

select * from final
