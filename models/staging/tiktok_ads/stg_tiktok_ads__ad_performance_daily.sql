with

source as (

    {{ source_columns('tiktok_ads', 'ad_performance_daily') }}

),

latest as (

    select *
    from source
    {{ latest_version(['advertiser_id', 'ad_id', 'report_date']) }}

),

final as (

    select
        -- ids
        cast(advertiser_id as varchar) as account_id,
        cast(campaign_id as varchar) as campaign_id,
        cast(adgroup_id as varchar) as ad_group_id,
        cast(ad_id as varchar) as ad_id,

        -- strings: names at report time; money is in the advertiser currency and the day is the
        -- advertiser's local day (stg_tiktok_ads__advertisers.currency, .report_timezone)
        campaign_name,
        adgroup_name as ad_group_name,
        ad_name,

        -- numerics
        {{ tiktok_ads_metric('impressions', 'bigint') }} as impressions,
        {{ tiktok_ads_metric('clicks', 'bigint') }} as clicks,
        {{ tiktok_ads_metric('spend', 'decimal(18, 6)') }} as spend,
        {{ tiktok_ads_metric('conversion', 'bigint') }} as conversions,
        {{ tiktok_ads_metric('total_conversion_value', 'decimal(18, 6)') }} as conversions_value,

        -- dates
        cast(report_date as date) as date_day,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from latest

)

select * from final
