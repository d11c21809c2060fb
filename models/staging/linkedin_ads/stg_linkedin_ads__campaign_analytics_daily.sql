with

source as (

    {{ source_columns('linkedin_ads', 'campaign_analytics_daily') }}

),

latest as (

    select *
    from source
    {{ latest_version(['account_id', 'pivot_value', 'report_date']) }}

),

final as (

    select
        -- ids: the pivot is a LinkedIn campaign (adlake's ad group)
        cast(account_id as varchar) as account_id,
        {{ linkedin_ads_urn_id('pivot_value', 'sponsoredCampaign') }} as campaign_id,

        -- strings: LinkedIn reports UTC days; money is in the account currency
        -- (stg_linkedin_ads__ad_accounts.currency), the cost also in USD
        'UTC' as report_timezone,

        -- numerics
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(landing_page_clicks as bigint) as landing_page_clicks,
        cast(cost_in_local_currency as decimal(18, 6)) as spend,
        cast(cost_in_usd as decimal(18, 6)) as spend_usd,
        -- externalWebsiteConversions already holds the post-click and post-view parts: never add them
        cast(external_website_conversions as bigint) as conversions,
        cast(external_website_post_click_conversions as bigint) as post_click_conversions,
        cast(external_website_post_view_conversions as bigint) as post_view_conversions,
        cast(conversion_value_in_local_currency as decimal(18, 6)) as conversions_value,
        cast(one_click_leads as bigint) as leads,
        cast(one_click_lead_form_opens as bigint) as lead_form_opens,
        cast(total_engagements as bigint) as total_engagements,
        cast(video_views as bigint) as video_views,
        cast(video_starts as bigint) as video_starts,
        cast(video_completions as bigint) as video_completions,

        -- dates
        cast(report_date as date) as date_day,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from latest

)

select * from final
