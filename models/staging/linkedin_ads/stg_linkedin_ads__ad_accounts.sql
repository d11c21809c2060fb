with

source as (

    {{ source_columns('linkedin_ads', 'ad_accounts') }}

),

versions as (

    {{ content_changed_at('source', ['id'], ['name', 'currency']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['id']) }}

),

final as (

    select
        -- ids
        {{ linkedin_ads_urn_id('id', 'sponsoredAccount') }} as account_id,

        -- strings
        name as account_name,
        currency,
        -- LinkedIn reports every account's days in UTC.
        'UTC' as report_timezone,
        status,
        type as account_type,
        reference as reference_urn,
        serving_statuses,

        -- booleans
        coalesce(status = 'ACTIVE', false) as is_active,
        coalesce(test, false) as is_test,

        -- timestamps
        {{ linkedin_ads_epoch_ms("json_extract_string(change_audit_stamps, '$.created.time')") }} as created_at,
        {{ linkedin_ads_epoch_ms("json_extract_string(change_audit_stamps, '$.lastModified.time')") }}
            as last_modified_at,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
