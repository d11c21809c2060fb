with

source as (

    {{ source_columns('tiktok_ads', 'ad_groups') }}

),

versions as (

    {{ content_changed_at('source', ['adgroup_id'], ['adgroup_name']) }}

),

latest as (

    select *
    from versions
    {{ latest_version(['adgroup_id']) }}

),

final as (

    select
        -- ids
        cast(adgroup_id as varchar) as ad_group_id,
        cast(campaign_id as varchar) as campaign_id,
        cast(advertiser_id as varchar) as account_id,

        -- strings
        adgroup_name as ad_group_name,
        budget_mode,
        optimization_goal,
        billing_event,
        operation_status,
        secondary_status,

        -- numerics
        case
            when budget_mode = 'BUDGET_MODE_INFINITE' then null
            else cast(budget as decimal(18, 6))
        end as budget,

        -- booleans
        coalesce(operation_status = 'ENABLE', false) as is_enabled,

        -- timestamps: the schedule is the advertiser's wall clock (stg_tiktok_ads__advertisers.report_timezone)
        cast(nullif(trim(schedule_start_time), '') as timestamp) as schedule_start_local,
        cast(nullif(trim(schedule_end_time), '') as timestamp) as schedule_end_local,
        cast(create_time as timestamptz) as created_at,
        cast(modify_time as timestamptz) as updated_at,

        -- metadata
        _dlt_load_id as dlt_load_id,
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
