with

source as (

    {{ source_columns('linkedin_ads', 'campaigns') }}

),

versions as (

    {{ content_changed_at('source', ['id'], ['campaign_group', 'name']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['id']) }}

),

final as (

    select
        -- ids: a LinkedIn campaign is adlake's ad group, its campaign group adlake's campaign
        {{ linkedin_ads_urn_id('id', 'sponsoredCampaign') }} as campaign_id,
        {{ linkedin_ads_urn_id('campaign_group', 'sponsoredCampaignGroup') }} as campaign_group_id,
        {{ linkedin_ads_urn_id('account', 'sponsoredAccount') }} as account_id,

        -- strings
        name as campaign_name,
        status,
        type as campaign_type,
        cost_type,
        objective_type,
        json_extract_string(daily_budget, '$.currencyCode') as daily_budget_currency,
        json_extract_string(total_budget, '$.currencyCode') as total_budget_currency,

        -- numerics
        cast(json_extract_string(daily_budget, '$.amount') as decimal(18, 6)) as daily_budget,
        cast(json_extract_string(total_budget, '$.amount') as decimal(18, 6)) as total_budget,

        -- booleans
        coalesce(test, false) as is_test,

        -- timestamps
        {{ linkedin_ads_epoch_ms("json_extract_string(run_schedule, '$.start')") }} as run_schedule_start_at,
        {{ linkedin_ads_epoch_ms("json_extract_string(run_schedule, '$.end')") }} as run_schedule_end_at,
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
