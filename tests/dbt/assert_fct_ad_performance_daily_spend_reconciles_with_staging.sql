-- Integrity: spend per platform, account and day in the mart equals the staged platform spend,
-- exactly and in the account currency (nothing lost or doubled between staging and the mart).
with

staged_rows as (

    select
        'meta_ads' as platform,
        account_id,
        date_day,
        spend
    from {{ ref('stg_meta_ads__insights') }}

    union all

    select
        'google_ads' as platform,
        account_id,
        date_day,
        spend
    from {{ ref('stg_google_ads__ad_performance_daily') }}

    union all

    select
        'linkedin_ads' as platform,
        account_id,
        date_day,
        spend
    from {{ ref('stg_linkedin_ads__creative_analytics_daily') }}

    union all

    select
        'tiktok_ads' as platform,
        account_id,
        date_day,
        spend
    from {{ ref('stg_tiktok_ads__ad_performance_daily') }}

    union all

    select
        'microsoft_ads' as platform,
        account_id,
        date_day,
        spend
    from {{ ref('stg_microsoft_ads__ad_performance_daily') }}

    union all

    select
        'programmatic' as platform,
        account_id,
        date_day,
        spend
    from {{ ref('stg_file_drops__programmatic_daily') }}

    union all

    select
        'affiliate' as platform,
        {{ string_var('affiliate_account_id') }} as account_id,
        date_day,
        spend
    from {{ ref('stg_file_drops__affiliate_daily') }}

),

staged as (

    select
        platform,
        account_id,
        date_day,
        coalesce(sum(spend), 0) as spend
    from staged_rows
    group by platform, account_id, date_day

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
