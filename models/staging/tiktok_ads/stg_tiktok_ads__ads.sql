with

source as (

    {{ source_columns('tiktok_ads', 'ads') }}

),

versions as (

    {{ content_changed_at('source', ['ad_id'], ['ad_name']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['ad_id']) }}

),

final as (

    select
        -- ids
        cast(ad_id as varchar) as ad_id,
        cast(adgroup_id as varchar) as ad_group_id,
        cast(campaign_id as varchar) as campaign_id,
        cast(advertiser_id as varchar) as account_id,

        -- strings
        ad_name,
        operation_status,
        secondary_status,

        -- booleans
        coalesce(operation_status = 'ENABLE', false) as is_enabled,

        -- timestamps
        cast(create_time as timestamptz) as created_at,
        cast(modify_time as timestamptz) as updated_at,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
