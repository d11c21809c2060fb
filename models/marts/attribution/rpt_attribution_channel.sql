{#- Attributed conversions, value and spend per model, channel (with its platform when paid) and day.
    Conversions count on the UTC day they happened; spend is the platforms' spend of that report day
    (rpt_campaign_performance_daily, in the reporting currency), repeated for every model. Channels
    without spend (email, organic...) have none; a paid channel-day with spend but nothing attributed is
    kept with 0 conversions. CPA and ROAS are NULL when their divisor is 0. -#}

with

credits as (

    select * from {{ ref('fct_attribution_credits') }}

),

campaign_performance as (

    select * from {{ ref('rpt_campaign_performance_daily') }}

),

credited_days as (

    select
        attribution_model,
        channel,
        platform,
        conversion_date as date_day,
        max(attribution_channel) as attribution_channel,
        sum(credit) as attributed_conversions,
        sum(credited_value) as attributed_value
    from credits
    group by attribution_model, channel, platform, conversion_date

),

spend_days as (

    select
        campaign_performance.channel,
        campaign_performance.platform,
        campaign_performance.date_day,
        sum(campaign_performance.spend_reporting) as spend_reporting
    from campaign_performance
    group by campaign_performance.channel, campaign_performance.platform, campaign_performance.date_day

),

{{ attribution_spend_ctes(
    ['channel', 'platform', 'date_day'],
    {'attribution_channel': "model_spend_days.channel || ':' || model_spend_days.platform"}
) }},

final as (

    select
        -- ids
        {{ surrogate_key(['attribution_model', 'attribution_channel', 'date_day']) }} as attribution_channel_sk,

        -- strings
        cast(attribution_model as varchar) as attribution_model,
        cast(channel as varchar) as channel,
        cast(platform as varchar) as platform,
        cast(attribution_channel as varchar) as attribution_channel,
        cast(upper('{{ var("reporting_currency") }}') as varchar) as reporting_currency,

        -- numerics: money in the reporting currency
        cast(attributed_conversions as double) as attributed_conversions,
        cast(attributed_value as double) as attributed_value,
        {{ attribution_spend_ratios('attributed_conversions', 'attributed_value', 'spend_reporting') }},

        -- dates
        cast(date_day as date) as date_day

    from joined

)

select * from final
