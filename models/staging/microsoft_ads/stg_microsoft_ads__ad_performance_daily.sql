with

source as (

    {{ source_columns('microsoft_ads', 'ad_performance_daily') }}

),

latest as (

    select *
    from source
    {{ latest_version(['account_id', 'ad_id', 'time_period']) }}

),

final as (

    select
        -- ids
        cast(account_id as varchar) as account_id,
        cast(campaign_id as varchar) as campaign_id,
        cast(ad_group_id as varchar) as ad_group_id,
        cast(ad_id as varchar) as ad_id,

        -- strings
        account_name,
        campaign_name,
        ad_group_name,
        ad_title as ad_name,
        currency_code as currency,

        -- numerics: the report's strings (an empty field is a missing value), money as decimals
        cast(nullif(impressions, '') as bigint) as impressions,
        cast(nullif(clicks, '') as bigint) as clicks,
        cast(nullif(spend, '') as decimal(18, 6)) as spend,
        cast(nullif(conversions, '') as decimal(18, 6)) as conversions,
        cast(nullif(view_through_conversions, '') as decimal(18, 6)) as view_through_conversions,
        cast(nullif(revenue, '') as decimal(18, 6)) as conversions_value,

        -- dates
        cast(time_period as date) as date_day,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from latest

)

select * from final
