with

source as (

    {{ source_columns('google_ads', 'campaigns') }}

),

versions as (

    {{ content_changed_at('source', ['customer_id', 'campaign_id'], ['campaign_name']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['customer_id', 'campaign_id']) }}

),

final as (

    select
        -- ids
        cast(campaign_id as varchar) as campaign_id,
        cast(customer_id as varchar) as account_id,

        -- strings
        campaign_name,
        status,
        advertising_channel_type,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
