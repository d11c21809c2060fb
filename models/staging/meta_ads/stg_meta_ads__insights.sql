with

source as (

    {{ source_columns('meta_ads', 'insights') }}

),

latest as (

    select *
    from source
    {{ latest_version(['account_id', 'ad_id', 'date_start']) }}

),

final as (

    select
        -- ids
        cast(account_id as varchar) as account_id,
        cast(campaign_id as varchar) as campaign_id,
        cast(adset_id as varchar) as ad_set_id,
        cast(ad_id as varchar) as ad_id,

        -- strings
        account_name,
        campaign_name,
        adset_name as ad_set_name,
        ad_name,
        account_currency as currency,

        -- numerics
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(inline_link_clicks as bigint) as link_clicks,
        cast(spend as decimal(18, 6)) as spend,
        cast(reach as bigint) as reach,
        cast(frequency as double) as frequency,

        -- dates
        cast(date_start as date) as date_day,

        -- metadata
        actions,
        action_values,
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from latest

)

select * from final
