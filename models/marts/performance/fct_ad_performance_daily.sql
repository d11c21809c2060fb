{#- Every platform's ad-day performance (int_ad_performance__unioned) with its channel and its money
    also in the reporting currency, at the rate of the report day (int_fx_rates__daily). Incremental:
    each run rebuilds whole the platform-days holding a row ingested after the last build
    (macros/incremental_days.sql). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'date_day'],
    on_schema_change='fail',
    post_hook="{{ incremental_days_log(['platform', 'date_day'], watermark_by=['platform']) }}",
) }}

with

performance as (

    {{ incremental_days(
        ref('int_ad_performance__unioned'), ['platform', 'date_day'], is_incremental(), watermark_by=['platform']
    ) }}

),

platform_channels as (

    select * from {{ ref('ad_platform_channels') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

final as (

    select
        -- ids
        {{ surrogate_key([
            'performance.platform', 'performance.account_id', 'performance.ad_id', 'performance.date_day'
        ]) }} as ad_performance_sk,
        cast(performance.date_day as date) as date_day,
        cast(performance.platform as varchar) as platform,
        cast(performance.account_id as varchar) as account_id,
        cast(performance.account_name as varchar) as account_name,
        cast(performance.campaign_id as varchar) as campaign_id,
        cast(performance.campaign_name as varchar) as campaign_name,
        cast(performance.ad_group_id as varchar) as ad_group_id,
        cast(performance.ad_group_name as varchar) as ad_group_name,
        cast(performance.ad_id as varchar) as ad_id,
        cast(performance.ad_name as varchar) as ad_name,

        -- strings
        cast(platform_channels.channel as varchar) as channel,
        cast(performance.currency as varchar) as currency,
        cast(performance.report_timezone as varchar) as report_timezone,
        cast(
            coalesce(fx_rates.reporting_currency, upper('{{ var("reporting_currency") }}')) as varchar
        ) as reporting_currency,

        -- numerics: money in the account currency
        cast(performance.impressions as bigint) as impressions,
        cast(performance.clicks as bigint) as clicks,
        cast(performance.spend as decimal(18, 6)) as spend,
        cast(performance.conversions as decimal(18, 6)) as conversions,
        cast(performance.conversions_value as decimal(18, 6)) as conversions_value,
        cast(performance.conversions as decimal(18, 6)) as platform_reported_conversions,
        cast(performance.conversions_value as decimal(18, 6)) as platform_reported_conversions_value,

        -- numerics: money in the reporting currency
        cast(fx_rates.rate_to_reporting as double) as fx_rate_to_reporting,
        cast(performance.spend * fx_rates.rate_to_reporting as decimal(18, 6)) as spend_reporting,
        cast(performance.conversions_value * fx_rates.rate_to_reporting as decimal(18, 6))
            as conversions_value_reporting,

        -- dates
        cast(fx_rates.rate_date as date) as fx_rate_date,

        -- metadata
        cast(performance.source_ingested_at as timestamptz) as source_ingested_at

    from performance
    left join platform_channels
        on performance.platform = platform_channels.platform
    left join fx_rates
        on
            performance.currency = fx_rates.currency
            and performance.date_day = fx_rates.date_day

)

select * from final
