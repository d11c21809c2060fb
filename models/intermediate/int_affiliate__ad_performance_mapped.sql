{#- The affiliate network's publisher-day rows (file drops) in adlake's canonical columns (mapping in
    _intermediate__models.yml). The network's finest unit is a publisher working for a campaign:
    publisher = ad group, and the ad is the pair (ad_id `<campaign_id>:<publisher_id>`, named after
    the publisher), since one publisher can promote several campaigns on a day. The files name no
    account and count no impressions: the account comes from the `affiliate_account_id` var and
    impressions stay NULL (not reported, not zero). Spend is the commission the network charges. -#}

with

performance as (

    select * from {{ ref('stg_file_drops__affiliate_daily') }}

),

final as (

    select
        date_day,
        'affiliate' as platform,
        {{ string_var('affiliate_account_id') }} as account_id,
        {{ string_var('affiliate_account_name') }} as account_name,
        campaign_id,
        cast(null as varchar) as campaign_name,
        ad_group_id,
        ad_group_name,
        campaign_id || ':' || ad_group_id as ad_id,
        ad_group_name as ad_name,
        currency,
        {{ string_var('affiliate_report_timezone') }} as report_timezone,
        cast(null as bigint) as impressions,
        coalesce(clicks, 0) as clicks,
        coalesce(spend, 0) as spend,
        coalesce(conversions, 0) as conversions,
        coalesce(conversions_value, 0) as conversions_value,
        ingested_at as source_ingested_at
    from performance

)

select * from final
