{#- rpt_attribution_channel by campaign: attributed conversions and value of the touches that know their
    campaign (int_attribution__paths.campaign_id: the touch's utm_id, else its ad's campaign), next to the
    campaign's spend of the day (rpt_campaign_performance_daily, summed over the platform's accounts) for
    every model. Credits of touches without a campaign are not here (rpt_attribution_channel has them). -#}

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
        platform,
        campaign_id,
        conversion_date as date_day,
        max(channel) as channel,
        sum(credit) as attributed_conversions,
        sum(credited_value) as attributed_value
    from credits
    where campaign_id is not null
    group by attribution_model, platform, campaign_id, conversion_date

),

spend_days as (

    select
        platform,
        campaign_id,
        date_day,
        max(channel) as channel,
        sum(spend_reporting) as spend_reporting
    from campaign_performance
    group by platform, campaign_id, date_day

),

campaign_names as (

    select
        platform,
        campaign_id,
        max(campaign_name) as campaign_name
    from campaign_performance
    group by platform, campaign_id

),

{{ attribution_spend_ctes(['platform', 'campaign_id', 'date_day'], {'channel': 'model_spend_days.channel'}) }},

final as (

    select
        -- ids
        {{ surrogate_key(['joined.attribution_model', 'joined.platform', 'joined.campaign_id', 'joined.date_day']) }}
            as attribution_campaign_sk,
        cast(joined.campaign_id as varchar) as campaign_id,

        -- strings
        cast(joined.attribution_model as varchar) as attribution_model,
        cast(joined.platform as varchar) as platform,
        cast(joined.channel as varchar) as channel,
        cast(campaign_names.campaign_name as varchar) as campaign_name,
        cast(upper('{{ var("reporting_currency") }}') as varchar) as reporting_currency,

        -- numerics: money in the reporting currency
        cast(joined.attributed_conversions as double) as attributed_conversions,
        cast(joined.attributed_value as double) as attributed_value,
        {{ attribution_spend_ratios(
            'joined.attributed_conversions', 'joined.attributed_value', 'joined.spend_reporting'
        ) }},

        -- dates
        cast(joined.date_day as date) as date_day

    from joined
    left join campaign_names
        on
            joined.platform = campaign_names.platform
            and joined.campaign_id = campaign_names.campaign_id

)

select * from final
