{#- Meta ad-day performance in adlake's canonical columns: names from the latest entity
    versions (falling back to the names in the report), conversions from the configured action
    types and attribution window (purchases and leads alike, as Fivetran counts them; the value
    comes from the types that carry one). -#}

with

insights as (

    select * from {{ ref('stg_meta_ads__insights') }}

),

actions as (

    select * from {{ ref('stg_meta_ads__insights_actions') }}

),

accounts as (

    select * from {{ ref('stg_meta_ads__ad_accounts') }}

),

campaigns as (

    select * from {{ ref('stg_meta_ads__campaigns') }}

),

ad_sets as (

    select * from {{ ref('stg_meta_ads__ad_sets') }}

),

ads as (

    select * from {{ ref('stg_meta_ads__ads') }}

),

conversions as (

    select
        account_id,
        ad_id,
        date_day,
        sum(action_count) as conversions,
        sum(action_value) as conversions_value
    from actions
    where
        attribution_window = '{{ meta_ads_conversion_window() }}'
        and action_type in (
            {%- for action_type in var('meta_ads_conversion_action_types') %}
            '{{ action_type }}'{{ "," if not loop.last }}
            {%- endfor %}
        )
    group by account_id, ad_id, date_day

),

final as (

    select
        insights.date_day,
        'meta_ads' as platform,
        insights.account_id,
        coalesce(accounts.account_name, insights.account_name) as account_name,
        insights.campaign_id,
        coalesce(campaigns.campaign_name, insights.campaign_name) as campaign_name,
        insights.ad_set_id as ad_group_id,
        coalesce(ad_sets.ad_set_name, insights.ad_set_name) as ad_group_name,
        insights.ad_id,
        coalesce(ads.ad_name, insights.ad_name) as ad_name,
        insights.currency,
        accounts.report_timezone,
        -- Meta leaves out metrics that are zero.
        coalesce(insights.impressions, 0) as impressions,
        coalesce(insights.link_clicks, 0) as clicks,
        coalesce(insights.spend, 0) as spend,
        coalesce(conversions.conversions, 0) as conversions,
        coalesce(conversions.conversions_value, 0) as conversions_value,
        -- the latest ingestion among the rows this row is built from (incremental marts)
        greatest(
            insights.ingested_at,
            accounts.content_changed_at,
            campaigns.content_changed_at,
            ad_sets.content_changed_at,
            ads.content_changed_at
        ) as source_ingested_at
    from insights
    left join accounts
        on insights.account_id = accounts.account_id
    left join campaigns
        on insights.campaign_id = campaigns.campaign_id
    left join ad_sets
        on insights.ad_set_id = ad_sets.ad_set_id
    left join ads
        on insights.ad_id = ads.ad_id
    left join conversions
        on
            insights.account_id = conversions.account_id
            and insights.ad_id = conversions.ad_id
            and insights.date_day = conversions.date_day

)

select * from final
