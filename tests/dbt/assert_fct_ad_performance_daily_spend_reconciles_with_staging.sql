-- Integrity: spend per platform, account and day in the mart equals the staged platform spend.
with

staged as (

    select
        'meta_ads' as platform,
        account_id,
        date_day,
        sum(spend) as spend
    from {{ ref('stg_meta_ads__insights') }}
    group by account_id, date_day

),

mart as (

    select
        platform,
        account_id,
        date_day,
        sum(spend) as spend
    from {{ ref('fct_ad_performance_daily') }}
    group by platform, account_id, date_day

),

final as (

    select
        coalesce(staged.platform, mart.platform) as platform,
        coalesce(staged.account_id, mart.account_id) as account_id,
        coalesce(staged.date_day, mart.date_day) as date_day,
        staged.spend as staged_spend,
        mart.spend as mart_spend
    from staged
    full outer join mart
        on
            staged.platform = mart.platform
            and staged.account_id = mart.account_id
            and staged.date_day = mart.date_day
    where staged.spend is distinct from mart.spend

)

select * from final
