with

source as (

    {{ source_columns('meta_ads', 'campaigns') }}

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
        cast(id as varchar) as campaign_id,
        cast(account_id as varchar) as account_id,

        -- strings
        name as campaign_name,
        objective,
        status,
        effective_status,

        -- numerics: budgets arrive in the currency's minor unit
        cast(daily_budget as decimal(18, 6)) / 100 as daily_budget,
        cast(lifetime_budget as decimal(18, 6)) / 100 as lifetime_budget,

        -- timestamps
        cast(created_time as timestamptz) as created_at,
        cast(updated_time as timestamptz) as updated_at,

        -- metadata
        _ingested_at as ingested_at,
        _content_changed_at as content_changed_at

    from latest

)

select * from final
