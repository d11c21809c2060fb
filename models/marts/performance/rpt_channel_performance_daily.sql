{#- Channel-day rollup of the paid platforms' performance in the reporting currency. Each platform's
    day is its own report day (time zones are not re-bucketed). Email and SMS cost and volume are not
    here yet: they join as rows of their channels once the webhook staging for them lands.
    Incremental: a day holding a fact row newer than the last build is rebuilt whole (every channel
    of the day, since a channel-day sums several platforms). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='date_day',
    on_schema_change='fail',
    post_hook="{{ incremental_days_log(['date_day']) }}",
) }}

with

ad_performance as (

    {{ incremental_days(ref('fct_ad_performance_daily'), ['date_day'], is_incremental()) }}

),

channel_days as (

    select
        date_day,
        channel,
        max(reporting_currency) as reporting_currency,
        count(distinct platform) as platform_count,
        count(distinct platform || ':' || account_id) as account_count,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(platform_reported_conversions) as platform_reported_conversions,
        sum(spend_reporting) as spend_reporting,
        sum(conversions_value_reporting) as conversions_value_reporting,
        max(source_ingested_at) as source_ingested_at
    from ad_performance
    group by date_day, channel

),

final as (

    select
        -- ids
        {{ surrogate_key(['channel', 'date_day']) }} as channel_performance_sk,
        cast(date_day as date) as date_day,
        cast(channel as varchar) as channel,

        -- strings
        cast(reporting_currency as varchar) as reporting_currency,

        -- numerics: money in the reporting currency
        cast(platform_count as bigint) as platform_count,
        cast(account_count as bigint) as account_count,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(platform_reported_conversions as decimal(18, 6)) as platform_reported_conversions,
        cast(spend_reporting as decimal(18, 6)) as spend_reporting,
        cast(conversions_value_reporting as decimal(18, 6)) as conversions_value_reporting,

        -- metadata
        cast(source_ingested_at as timestamptz) as source_ingested_at

    from channel_days

)

select * from final
