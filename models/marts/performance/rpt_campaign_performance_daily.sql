{#- Campaign-day rollup of fct_ad_performance_daily. Built from the ad rows, so spend a platform
    reports only above the ad (Google Performance Max) is not in it, as it is not in the fact.
    Incremental like the fact: the platform-days the fact rebuilt with newer rows. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'date_day'],
    on_schema_change='fail',
    post_hook="{{ incremental_days_log(['platform', 'date_day'], watermark_by=['platform']) }}",
) }}

with

ad_performance as (

    {{ incremental_days(
        ref('fct_ad_performance_daily'), ['platform', 'date_day'], is_incremental(), watermark_by=['platform']
    ) }}

),

campaign_days as (

    select
        date_day,
        platform,
        account_id,
        campaign_id,
        max(account_name) as account_name,
        max(campaign_name) as campaign_name,
        max(channel) as channel,
        max(currency) as currency,
        max(report_timezone) as report_timezone,
        max(reporting_currency) as reporting_currency,
        count(distinct ad_group_id) as ad_group_count,
        count(*) as ad_count,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as spend,
        sum(platform_reported_conversions) as platform_reported_conversions,
        sum(platform_reported_conversions_value) as platform_reported_conversions_value,
        sum(spend_reporting) as spend_reporting,
        sum(conversions_value_reporting) as conversions_value_reporting,
        max(source_ingested_at) as source_ingested_at
    from ad_performance
    group by date_day, platform, account_id, campaign_id

),

final as (

    select
        -- ids
        {{ surrogate_key(['platform', 'account_id', 'campaign_id', 'date_day']) }} as campaign_performance_sk,
        cast(date_day as date) as date_day,
        cast(platform as varchar) as platform,
        cast(account_id as varchar) as account_id,
        cast(account_name as varchar) as account_name,
        cast(campaign_id as varchar) as campaign_id,
        cast(campaign_name as varchar) as campaign_name,

        -- strings
        cast(channel as varchar) as channel,
        cast(currency as varchar) as currency,
        cast(report_timezone as varchar) as report_timezone,
        cast(reporting_currency as varchar) as reporting_currency,

        -- numerics: money in the account currency, then in the reporting currency
        cast(ad_group_count as bigint) as ad_group_count,
        cast(ad_count as bigint) as ad_count,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(spend as decimal(18, 6)) as spend,
        cast(platform_reported_conversions as decimal(18, 6)) as platform_reported_conversions,
        cast(platform_reported_conversions_value as decimal(18, 6)) as platform_reported_conversions_value,
        cast(spend_reporting as decimal(18, 6)) as spend_reporting,
        cast(conversions_value_reporting as decimal(18, 6)) as conversions_value_reporting,

        -- metadata
        cast(source_ingested_at as timestamptz) as source_ingested_at

    from campaign_days

)

select * from final
