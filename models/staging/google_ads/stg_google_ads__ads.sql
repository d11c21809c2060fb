with

source as (

    {{ source_columns('google_ads', 'ads') }}

),

versions as (

    {{ content_changed_at('source', ['customer_id', 'ad_group_id', 'ad_id'], ['ad_name']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['customer_id', 'ad_group_id', 'ad_id']) }}

),

final as (

    select
        -- ids
        cast(ad_id as varchar) as ad_id,
        cast(ad_group_id as varchar) as ad_group_id,
        cast(campaign_id as varchar) as campaign_id,
        cast(customer_id as varchar) as account_id,

        -- strings
        ad_name,
        status,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
