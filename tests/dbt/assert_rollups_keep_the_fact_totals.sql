-- Integrity: the campaign and channel rollups hold the fact's totals for every day (spend in the
-- account currency per platform; spend in the reporting currency per channel).
with

fact_platform_days as (

    select
        date_day,
        platform,
        currency,
        sum(spend) as spend
    from {{ ref('fct_ad_performance_daily') }}
    group by date_day, platform, currency

),

campaign_platform_days as (

    select
        date_day,
        platform,
        currency,
        sum(spend) as spend
    from {{ ref('rpt_campaign_performance_daily') }}
    group by date_day, platform, currency

),

fact_channel_days as (

    select
        date_day,
        channel,
        sum(spend_reporting) as spend_reporting
    from {{ ref('fct_ad_performance_daily') }}
    group by date_day, channel

),

channel_days as (

    select
        date_day,
        channel,
        spend_reporting
    from {{ ref('rpt_channel_performance_daily') }}

),

campaign_mismatches as (

    select
        'rpt_campaign_performance_daily' as rollup_model,
        coalesce(fact_platform_days.date_day, campaign_platform_days.date_day) as date_day,
        coalesce(fact_platform_days.platform, campaign_platform_days.platform) as grouping_value,
        fact_platform_days.spend as fact_amount,
        campaign_platform_days.spend as rollup_amount
    from fact_platform_days
    full outer join campaign_platform_days
        on
            fact_platform_days.date_day = campaign_platform_days.date_day
            and fact_platform_days.platform = campaign_platform_days.platform
            and fact_platform_days.currency = campaign_platform_days.currency
    where fact_platform_days.spend is distinct from campaign_platform_days.spend

),

channel_mismatches as (

    select
        'rpt_channel_performance_daily' as rollup_model,
        coalesce(fact_channel_days.date_day, channel_days.date_day) as date_day,
        coalesce(fact_channel_days.channel, channel_days.channel) as grouping_value,
        fact_channel_days.spend_reporting as fact_amount,
        channel_days.spend_reporting as rollup_amount
    from fact_channel_days
    full outer join channel_days
        on
            fact_channel_days.date_day = channel_days.date_day
            and fact_channel_days.channel = channel_days.channel
    where fact_channel_days.spend_reporting is distinct from channel_days.spend_reporting

),

final as (

    select * from campaign_mismatches
    union all
    select * from channel_mismatches

)

select * from final
