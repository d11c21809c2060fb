with

source as (

    {{ source_columns('tiktok_ads', 'campaigns') }}

),

versions as (

    {{ content_changed_at('source', ['campaign_id'], ['campaign_name']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['campaign_id']) }}

),

final as (

    select
        -- ids
        cast(campaign_id as varchar) as campaign_id,
        cast(advertiser_id as varchar) as account_id,

        -- strings
        campaign_name,
        objective_type,
        budget_mode,
        operation_status,
        secondary_status,

        -- numerics: TikTok sends budget 0 with an unlimited budget
        case
            when budget_mode = 'BUDGET_MODE_INFINITE' then null
            else cast(budget as decimal(18, 6))
        end as budget,

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
