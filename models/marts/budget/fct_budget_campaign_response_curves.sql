{#- One response curve per paid campaign and response metric (int_budget__campaign_response_curves), with the
    campaign's channel and name (rpt_attribution_campaign): the parameters, fit quality, the daily spend observed,
    current spend and the marginal return there, or why there is no curve. Money is daily, in the reporting
    currency. Attributed, not incremental (value_basis). -#}

with

campaign_curves as (

    select * from {{ ref('int_budget__campaign_response_curves') }}

),

attribution_campaigns as (

    select * from {{ ref('rpt_attribution_campaign') }}

),

campaigns as (

    select
        platform,
        campaign_id,
        max(channel) as channel,
        max(campaign_name) as campaign_name
    from attribution_campaigns
    group by platform, campaign_id

),

keyed_curves as (

    select
        *,
        split_part(attribution_channel, ':', 1) as platform,
        substr(attribution_channel, length(split_part(attribution_channel, ':', 1)) + 2) as campaign_id
    from campaign_curves

),

final as (

    select
        -- ids
        {{ surrogate_key(['keyed_curves.platform', 'keyed_curves.campaign_id', 'keyed_curves.response_metric']) }}
            as budget_campaign_response_curve_sk,
        cast(keyed_curves.campaign_id as varchar) as campaign_id,

        -- strings
        cast('{{ var("budget_attribution_model") }}' as varchar) as attribution_model,
        cast(keyed_curves.platform as varchar) as platform,
        cast(campaigns.channel as varchar) as channel,
        cast(campaigns.channel || ':' || keyed_curves.platform as varchar) as attribution_channel,
        cast(campaigns.campaign_name as varchar) as campaign_name,
        cast(keyed_curves.response_metric as varchar) as response_metric,
        cast(keyed_curves.status as varchar) as status,
        cast(keyed_curves.reason as varchar) as reason,
        cast(keyed_curves.value_basis as varchar) as value_basis,
        cast(upper('{{ var("reporting_currency") }}') as varchar) as reporting_currency,

        -- numerics: the curve
        cast(keyed_curves.beta as double) as beta,
        cast(keyed_curves.half_saturation as double) as half_saturation_spend_reporting,
        cast(keyed_curves.shape as double) as shape,
        cast(keyed_curves.decay as double) as adstock_decay,
        cast(keyed_curves.r2 as double) as r2,

        -- numerics: daily spend in the reporting currency
        cast(keyed_curves.n_days as integer) as fit_days,
        cast(keyed_curves.spend_min as double) as observed_min_spend_reporting,
        cast(keyed_curves.spend_max as double) as observed_max_spend_reporting,
        cast(keyed_curves.spend_cv as double) as spend_coefficient_of_variation,
        cast(keyed_curves.current_spend as double) as current_spend_reporting,

        -- numerics: at current spend
        cast(keyed_curves.response_at_current as double) as response_at_current_spend,
        {{ budget_marginal_columns('keyed_curves') }},
        cast(keyed_curves.backtest_wape as double) as backtest_wape,

        -- booleans
        keyed_curves.status = 'fitted' as is_fitted,

        -- dates
        cast(keyed_curves.first_date as date) as first_fit_date,
        cast(keyed_curves.last_date as date) as last_fit_date

    from keyed_curves
    left join campaigns
        on
            keyed_curves.platform = campaigns.platform
            and keyed_curves.campaign_id = campaigns.campaign_id

)

select * from final
