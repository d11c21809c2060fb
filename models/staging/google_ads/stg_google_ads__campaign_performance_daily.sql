with

source as (

    {{ source_columns('google_ads', 'campaign_performance_daily') }}

),

latest as (

    select *
    from source
    {{ latest_version(['customer_id', 'campaign_id', 'date']) }}

),

final as (

    select
        -- ids
        cast(customer_id as varchar) as account_id,
        cast(campaign_id as varchar) as campaign_id,

        -- strings
        currency_code as currency,
        time_zone as report_timezone,

        -- numerics: micros become currency units through a decimal product (a division would go
        -- through double); Google's conversion doubles are rounded to six places
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(cost_micros as bigint) as cost_micros,
        cast(cost_micros * 0.000001 as decimal(18, 6)) as spend,
        cast(conversions as decimal(18, 6)) as conversions,
        cast(conversions_value as decimal(18, 6)) as conversions_value,
        cast(all_conversions as decimal(18, 6)) as all_conversions,

        -- dates
        cast(date as date) as date_day,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at

    from latest

)

select * from final
