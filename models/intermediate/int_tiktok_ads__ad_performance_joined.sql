{#- TikTok ad-day performance in adlake's canonical columns (mapping in _intermediate__models.yml):
    advertiser = account. The report rows carry neither currency nor time zone: both come from the
    advertiser; names from the latest entity versions, else as the report wrote them. -#}

with

performance as (

    select * from {{ ref('stg_tiktok_ads__ad_performance_daily') }}

),

advertisers as (

    select * from {{ ref('stg_tiktok_ads__advertisers') }}

),

campaigns as (

    select * from {{ ref('stg_tiktok_ads__campaigns') }}

),

ad_groups as (

    select * from {{ ref('stg_tiktok_ads__ad_groups') }}

),

ads as (

    select * from {{ ref('stg_tiktok_ads__ads') }}

),

final as (

    select
        performance.date_day,
        'tiktok_ads' as platform,
        performance.account_id,
        advertisers.account_name,
        performance.campaign_id,
        coalesce(campaigns.campaign_name, performance.campaign_name) as campaign_name,
        performance.ad_group_id,
        coalesce(ad_groups.ad_group_name, performance.ad_group_name) as ad_group_name,
        performance.ad_id,
        coalesce(ads.ad_name, performance.ad_name) as ad_name,
        advertisers.currency,
        advertisers.report_timezone,
        -- TikTok writes "-" for a metric it cannot compute (NULL in staging): nothing was counted.
        coalesce(performance.impressions, 0) as impressions,
        coalesce(performance.clicks, 0) as clicks,
        coalesce(performance.spend, 0) as spend,
        coalesce(performance.conversions, 0) as conversions,
        coalesce(performance.conversions_value, 0) as conversions_value,
        -- the latest ingestion among the rows this row is built from (incremental marts)
        greatest(
            performance.ingested_at,
            advertisers.content_changed_at,
            campaigns.content_changed_at,
            ad_groups.content_changed_at,
            ads.content_changed_at
        ) as source_ingested_at
    from performance
    left join advertisers
        on performance.account_id = advertisers.account_id
    left join campaigns
        on performance.campaign_id = campaigns.campaign_id
    left join ad_groups
        on performance.ad_group_id = ad_groups.ad_group_id
    left join ads
        on performance.ad_id = ads.ad_id

)

select * from final
