with

source as (

    {{ source_columns('tiktok_ads', 'advertisers') }}

),

versions as (

    {{ content_changed_at('source', ['advertiser_id'], ['name', 'currency', 'timezone']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['advertiser_id']) }}

),

final as (

    select
        -- ids
        cast(advertiser_id as varchar) as account_id,

        -- strings
        name as account_name,
        company as company_name,
        currency,
        -- Report days and schedule times of the advertiser are wall-clock times in this zone.
        timezone as report_timezone,
        display_timezone,
        status,
        role,

        -- booleans
        coalesce(status = 'STATUS_ENABLE', false) as is_active,

        -- timestamps
        to_timestamp(cast(create_time as bigint)) as created_at,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
