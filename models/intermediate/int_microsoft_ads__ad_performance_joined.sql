{#- Microsoft Advertising ad-day performance in adlake's canonical columns (mapping in
    _intermediate__models.yml). The ad performance report carries names and currency on every row;
    its days are in the ReportTimeZone the connector asked for, which is not in the rows: it comes
    from the `microsoft_ads_report_timezone` var (null when not set). Conversions_value is Revenue. -#}

with

performance as (

    select * from {{ ref('stg_microsoft_ads__ad_performance_daily') }}

),

final as (

    select
        date_day,
        'microsoft_ads' as platform,
        account_id,
        account_name,
        campaign_id,
        campaign_name,
        ad_group_id,
        ad_group_name,
        ad_id,
        ad_name,
        currency,
        {{ string_var('microsoft_ads_report_timezone') }} as report_timezone,
        -- an empty field in the report is a metric with nothing counted
        coalesce(impressions, 0) as impressions,
        coalesce(clicks, 0) as clicks,
        coalesce(spend, 0) as spend,
        coalesce(conversions, 0) as conversions,
        coalesce(conversions_value, 0) as conversions_value,
        ingested_at as source_ingested_at
    from performance

)

select * from final
