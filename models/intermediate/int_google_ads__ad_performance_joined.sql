{#- Google Ads ad-day performance in adlake's canonical columns (the mapping of every platform is
    written down in _intermediate__models.yml): customer = account, ad_group_ad = ad; spend is
    cost_micros / 1e6 (staging); names from the latest entity versions. Performance Max campaigns
    have no ad rows, so their spend is not here (see stg_google_ads__campaign_performance_daily). -#}

with

performance as (

    select * from {{ ref('stg_google_ads__ad_performance_daily') }}

),

customers as (

    select * from {{ ref('stg_google_ads__customers') }}

),

campaigns as (

    select * from {{ ref('stg_google_ads__campaigns') }}

),

ad_groups as (

    select * from {{ ref('stg_google_ads__ad_groups') }}

),

ads as (

    select * from {{ ref('stg_google_ads__ads') }}

),

final as (

    select
        performance.date_day,
        'google_ads' as platform,
        performance.account_id,
        customers.account_name,
        performance.campaign_id,
        campaigns.campaign_name,
        performance.ad_group_id,
        ad_groups.ad_group_name,
        performance.ad_id,
        ads.ad_name,
        coalesce(performance.currency, customers.currency) as currency,
        coalesce(performance.report_timezone, customers.report_timezone) as report_timezone,
        coalesce(performance.impressions, 0) as impressions,
        coalesce(performance.clicks, 0) as clicks,
        coalesce(performance.spend, 0) as spend,
        coalesce(performance.conversions, 0) as conversions,
        coalesce(performance.conversions_value, 0) as conversions_value,
        -- the latest ingestion among the rows this row is built from (incremental marts)
        greatest(
            performance.ingested_at,
            customers.content_changed_at,
            campaigns.content_changed_at,
            ad_groups.content_changed_at,
            ads.content_changed_at
        ) as source_ingested_at
    from performance
    left join customers
        on performance.account_id = customers.account_id
    left join campaigns
        on
            performance.account_id = campaigns.account_id
            and performance.campaign_id = campaigns.campaign_id
    left join ad_groups
        on
            performance.account_id = ad_groups.account_id
            and performance.ad_group_id = ad_groups.ad_group_id
    left join ads
        on
            performance.account_id = ads.account_id
            and performance.ad_group_id = ads.ad_group_id
            and performance.ad_id = ads.ad_id

)

select * from final
