{#- A network restates a day by delivering the day's file again: the newest delivery of a report day
    replaces the whole day (a publisher missing from it is gone), then one row per publisher and
    campaign is kept (should two files of that delivery carry the same key, the one read last wins). -#}
with

source as (

    {{ source_columns('file_drops', 'affiliate_daily') }}

),

latest_delivery as (

    select *
    from source
    qualify cast(_dlt_load_id as double) = max(cast(_dlt_load_id as double)) over (partition by report_date)

),

latest as (

    select *
    from latest_delivery
    {{ latest_version(['report_date', 'publisher_id', 'campaign_id']) }}

),

final as (

    select
        -- ids
        cast(campaign_id as varchar) as campaign_id,
        cast(publisher_id as varchar) as ad_group_id,

        -- strings
        publisher as ad_group_name,
        currency,
        lower(status) as approval_status,

        -- numerics: the network's spend is the commission it charges
        cast(clicks as bigint) as clicks,
        cast(transactions as bigint) as conversions,
        cast(sale_amount as decimal(18, 6)) as conversions_value,
        cast(commission as decimal(18, 6)) as spend,

        -- booleans
        coalesce(lower(status) = 'approved', false) as is_approved,

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
