with

source as (

    {{ source_columns('meta_ads', 'ads') }}

),

versions as (

    {{ content_changed_at('source', ['id'], ['name']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['id']) }}

),

final as (

    select
        -- ids
        cast(id as varchar) as ad_id,
        cast(adset_id as varchar) as ad_set_id,
        cast(campaign_id as varchar) as campaign_id,
        cast(account_id as varchar) as account_id,

        -- strings
        name as ad_name,
        status,
        effective_status,

        -- timestamps
        cast(created_time as timestamptz) as created_at,
        cast(updated_time as timestamptz) as updated_at,

        -- metadata
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
