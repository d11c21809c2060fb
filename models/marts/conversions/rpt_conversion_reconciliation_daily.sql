{#- The platforms' self-attributed conversions next to the conversions counted once, per platform and
    day. Deduplicated conversions are not split between platforms (that is attribution's job): each
    row shows the day's deduplicated total and the day's over-count ratio, the sum of every platform's
    claims over the deduplicated count. Only the conversion names in `reconciliation_conversion_names`
    are counted (what the platforms' `conversions` metrics count: purchases by default; not installs or
    deals). -#}
{#- (vars are read when dbt executes; the linter's templater gets the defaults) -#}
{%- set names = var('reconciliation_conversion_names') if execute else ['purchase'] -%}

with

ad_performance as (

    select * from {{ ref('fct_ad_performance_daily') }}

),

conversions as (

    select * from {{ ref('fct_conversions') }}

),

platform_days as (

    select
        date_day,
        platform,
        min(channel) as channel,
        sum(platform_reported_conversions) as platform_reported_conversions
    from ad_performance
    group by date_day, platform

),

claimed_days as (

    select
        date_day,
        sum(platform_reported_conversions) as all_platforms_reported_conversions
    from platform_days
    group by date_day

),

deduplicated_days as (

    select
        conversion_date as date_day,
        count(*) as deduplicated_conversions
    from conversions
    where conversion_name in ('{{ names | join("', '") }}')
    group by conversion_date

),

final as (

    select
        -- ids
        {{ surrogate_key(['platform_days.platform', 'platform_days.date_day']) }} as reconciliation_sk,

        -- strings
        cast(platform_days.platform as varchar) as platform,
        cast(platform_days.channel as varchar) as channel,

        -- numerics
        cast(platform_days.platform_reported_conversions as decimal(18, 6)) as platform_reported_conversions,
        cast(claimed_days.all_platforms_reported_conversions as decimal(18, 6))
            as all_platforms_reported_conversions,
        cast(coalesce(deduplicated_days.deduplicated_conversions, 0) as bigint) as deduplicated_conversions,
        cast(
            claimed_days.all_platforms_reported_conversions
            / nullif(deduplicated_days.deduplicated_conversions, 0) as double
        ) as over_count_ratio,
        cast(
            platform_days.platform_reported_conversions
            / nullif(deduplicated_days.deduplicated_conversions, 0) as double
        ) as platform_claim_share,

        -- dates
        cast(platform_days.date_day as date) as date_day

    from platform_days
    inner join claimed_days
        on platform_days.date_day = claimed_days.date_day
    left join deduplicated_days
        on platform_days.date_day = deduplicated_days.date_day

)

select * from final
