with

source as (

    {{ source_columns('linkedin_ads', 'creatives') }}

),

versions as (

    {{ content_changed_at('source', ['id'], ['campaign', 'name']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['id']) }}

),

final as (

    select
        -- ids: the versioned Creatives API names creatives, campaigns and accounts by URN
        {{ linkedin_ads_urn_id('id', 'sponsoredCreative') }} as creative_id,
        {{ linkedin_ads_urn_id('campaign', 'sponsoredCampaign') }} as campaign_id,
        {{ linkedin_ads_urn_id('account', 'sponsoredAccount') }} as account_id,

        -- strings
        name as creative_name,
        intended_status,

        -- booleans
        coalesce(is_serving, false) as is_serving,
        coalesce(is_test, false) as is_test,

        -- timestamps
        {{ linkedin_ads_epoch_ms('created_at') }} as created_at,
        {{ linkedin_ads_epoch_ms('last_modified_at') }} as last_modified_at,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
