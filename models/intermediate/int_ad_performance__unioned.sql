{#- Every platform's ad-day performance on one column set. Each platform adds one CTE here
    as its connector lands. -#}
with

meta_ads as (

    select * from {{ ref('int_meta_ads__ad_performance_joined') }}

),

unioned as (

    select
        date_day,
        platform,
        account_id,
        account_name,
        campaign_id,
        campaign_name,
        ad_group_id,
        ad_group_name,
        ad_id,
        ad_name,
        currency,
        report_timezone,
        impressions,
        clicks,
        spend,
        conversions,
        conversions_value
    from meta_ads

),

final as (

    select * from unioned

)

select * from final
