{#- Attributed conversions, value and spend per model, channel (with its platform when paid) and day.
    Conversions count on the UTC day they happened; spend is the platforms' spend of that report day
    (rpt_campaign_performance_daily, in the reporting currency), repeated for every model. Channels
    without spend (email, organic...) have none; a paid channel-day with spend but nothing attributed is
    kept with 0 conversions. CPA and ROAS are NULL when their divisor is 0. -#}
{#- (vars are read when dbt executes; the linter's templater gets the defaults) -#}
{%- set models = var('attribution_models') if execute else ['last_touch'] -%}

with

credits as (

    select * from {{ ref('fct_attribution_credits') }}

),

campaign_performance as (

    select * from {{ ref('rpt_campaign_performance_daily') }}

),

attribution_models as (

    select unnest(['{{ models | join("', '") }}']) as attribution_model

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

model_spend_days as (

    select
        attribution_models.attribution_model,
        spend_days.channel,
        spend_days.platform,
        spend_days.date_day,
        spend_days.spend_reporting
    from attribution_models
    cross join spend_days

),

joined as (

    select
        coalesce(credited_days.attribution_model, model_spend_days.attribution_model) as attribution_model,
        coalesce(credited_days.channel, model_spend_days.channel) as channel,
        coalesce(credited_days.platform, model_spend_days.platform) as platform,
        coalesce(credited_days.date_day, model_spend_days.date_day) as date_day,
        coalesce(
            credited_days.attribution_channel, model_spend_days.channel || ':' || model_spend_days.platform
        ) as attribution_channel,
        coalesce(credited_days.attributed_conversions, 0) as attributed_conversions,
        coalesce(credited_days.attributed_value, 0) as attributed_value,
        model_spend_days.spend_reporting
    from credited_days
    full outer join model_spend_days
        on
            credited_days.attribution_model = model_spend_days.attribution_model
            and credited_days.channel = model_spend_days.channel
            and credited_days.platform = model_spend_days.platform
            and credited_days.date_day = model_spend_days.date_day

),

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
        cast(spend_reporting as decimal(18, 6)) as spend_reporting,
        cast(spend_reporting / nullif(attributed_conversions, 0) as double) as cost_per_acquisition,
        cast(attributed_value / nullif(spend_reporting, 0) as double) as return_on_ad_spend,

        -- dates
        cast(date_day as date) as date_day

    from joined

)

select * from final
