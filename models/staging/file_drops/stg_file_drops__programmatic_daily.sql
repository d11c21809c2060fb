{#- A network restates a day by delivering the day's file again: the newest delivery of a report day
    replaces the whole day (a creative missing from it is gone), then one row per creative is kept
    (should two files of that delivery carry the same creative, the one read last wins). -#}
with

source as (

    {{ source_columns('file_drops', 'programmatic_daily') }}

),

latest_delivery as (

    select *
    from source
    qualify cast(_dlt_load_id as double) = max(cast(_dlt_load_id as double)) over (partition by report_date)

),

latest as (

    select *
    from latest_delivery
    {{ latest_version(['report_date', 'advertiser_id', 'creative_id']) }}

),

final as (

    select
        -- ids
        cast(advertiser_id as varchar) as account_id,
        cast(campaign_id as varchar) as campaign_id,
        cast(ad_group_id as varchar) as ad_group_id,
        cast(creative_id as varchar) as ad_id,

        -- strings
        campaign as campaign_name,
        advertiser_currency as currency,

        -- numerics
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(media_cost_advertiser_currency as decimal(18, 6)) as spend,
        cast(post_click_conversions as bigint) as post_click_conversions,
        cast(post_view_conversions as bigint) as post_view_conversions,
        cast(total_conversions as bigint) as conversions,
        cast(revenue as decimal(18, 6)) as conversions_value,

        -- dates
        cast(report_date as date) as date_day,

        -- timestamps
        _file_modified_at as file_modified_at,

        -- metadata
        _file_name as file_name,
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from latest

)

select * from final
