with

source as (

    {{ source_columns('meta_ads', 'ad_accounts') }}

),

versions as (

    {{ content_changed_at('source', ['account_id'], ['name', 'currency', 'timezone_name']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['account_id']) }}

),

final as (

    select
        -- ids
        cast(account_id as varchar) as account_id,

        -- strings
        name as account_name,
        currency,
        timezone_name as report_timezone,

        -- numerics
        cast(account_status as integer) as account_status,

        -- booleans
        coalesce(cast(account_status as integer) = 1, false) as is_active,

        -- metadata
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
