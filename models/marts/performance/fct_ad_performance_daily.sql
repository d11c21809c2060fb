with

performance as (

    select * from {{ ref('int_ad_performance__unioned') }}

),

final as (

    select
        -- ids
        {{ surrogate_key(['platform', 'account_id', 'ad_id', 'date_day']) }} as ad_performance_sk,
        cast(date_day as date) as date_day,
        cast(platform as varchar) as platform,
        cast(account_id as varchar) as account_id,
        cast(account_name as varchar) as account_name,
        cast(campaign_id as varchar) as campaign_id,
        cast(campaign_name as varchar) as campaign_name,
        cast(ad_group_id as varchar) as ad_group_id,
        cast(ad_group_name as varchar) as ad_group_name,
        cast(ad_id as varchar) as ad_id,
        cast(ad_name as varchar) as ad_name,

        -- strings
        cast(currency as varchar) as currency,
        cast(report_timezone as varchar) as report_timezone,

        -- numerics
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(spend as decimal(18, 6)) as spend,
        cast(conversions as decimal(18, 6)) as conversions,
        cast(conversions_value as decimal(18, 6)) as conversions_value

    from performance

)

select * from final
