{#- The programmatic DSP's creative-day rows (file drops) in adlake's canonical columns (mapping in
    _intermediate__models.yml): DSP advertiser = account, line item = ad group, creative = ad. The
    files name only the campaign; the day's zone comes from the `programmatic_report_timezone` var. -#}

with

performance as (

    select * from {{ ref('stg_file_drops__programmatic_daily') }}

),

final as (

    select
        date_day,
        'programmatic' as platform,
        account_id,
        cast(null as varchar) as account_name,
        campaign_id,
        campaign_name,
        ad_group_id,
        cast(null as varchar) as ad_group_name,
        ad_id,
        cast(null as varchar) as ad_name,
        currency,
        {{ string_var('programmatic_report_timezone') }} as report_timezone,
        coalesce(impressions, 0) as impressions,
        coalesce(clicks, 0) as clicks,
        coalesce(spend, 0) as spend,
        coalesce(conversions, 0) as conversions,
        coalesce(conversions_value, 0) as conversions_value,
        ingested_at as source_ingested_at
    from performance

)

select * from final
