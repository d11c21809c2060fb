{#- LinkedIn creative-day performance in adlake's canonical columns (mapping in
    _intermediate__models.yml): campaign group = campaign, LinkedIn campaign = ad group,
    creative = ad. The report rows name only the creative: its campaign and campaign group come
    from the entity tables, and the money's currency from the ad account (LinkedIn reports local
    cost and value in the account currency; the USD cost is left out, as the value has no USD twin).
    Conversions are externalWebsiteConversions (post-click and post-view already in it). -#}

with

analytics as (

    select * from {{ ref('stg_linkedin_ads__creative_analytics_daily') }}

),

accounts as (

    select * from {{ ref('stg_linkedin_ads__ad_accounts') }}

),

campaign_groups as (

    select * from {{ ref('stg_linkedin_ads__campaign_groups') }}

),

campaigns as (

    select * from {{ ref('stg_linkedin_ads__campaigns') }}

),

creatives as (

    select * from {{ ref('stg_linkedin_ads__creatives') }}

),

final as (

    select
        analytics.date_day,
        'linkedin_ads' as platform,
        analytics.account_id,
        accounts.account_name,
        campaigns.campaign_group_id as campaign_id,
        campaign_groups.campaign_group_name as campaign_name,
        creatives.campaign_id as ad_group_id,
        campaigns.campaign_name as ad_group_name,
        analytics.creative_id as ad_id,
        creatives.creative_name as ad_name,
        accounts.currency,
        coalesce(analytics.report_timezone, accounts.report_timezone) as report_timezone,
        coalesce(analytics.impressions, 0) as impressions,
        coalesce(analytics.clicks, 0) as clicks,
        coalesce(analytics.spend, 0) as spend,
        coalesce(analytics.conversions, 0) as conversions,
        coalesce(analytics.conversions_value, 0) as conversions_value,
        -- the latest ingestion among the rows this row is built from (incremental marts)
        greatest(
            analytics.ingested_at,
            accounts.content_changed_at,
            creatives.content_changed_at,
            campaigns.content_changed_at,
            campaign_groups.content_changed_at
        ) as source_ingested_at
    from analytics
    left join accounts
        on analytics.account_id = accounts.account_id
    left join creatives
        on analytics.creative_id = creatives.creative_id
    left join campaigns
        on creatives.campaign_id = campaigns.campaign_id
    left join campaign_groups
        on campaigns.campaign_group_id = campaign_groups.campaign_group_id

)

select * from final
