with

source as (

    {{ source_columns('google_ads', 'customers') }}

),

versions as (

    {{ content_changed_at('source', ['customer_id'], ['customer_name', 'currency_code', 'time_zone']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['customer_id']) }}

),

final as (

    select
        -- ids
        cast(customer_id as varchar) as account_id,

        -- strings
        customer_name as account_name,
        currency_code as currency,
        time_zone as report_timezone,
        status,

        -- booleans
        coalesce(status = 'ENABLED', false) as is_active,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
