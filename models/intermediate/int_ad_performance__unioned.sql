{#- Every platform's ad-day performance on one column set. Each platform maps its staging to these
    columns in its own model (int_<platform>__ad_performance_*; the mapping is written down in
    _intermediate__models.yml); a platform without data contributes no rows. -#}

{%- set platform_models = [
    'int_meta_ads__ad_performance_joined',
    'int_google_ads__ad_performance_joined',
    'int_linkedin_ads__ad_performance_joined',
    'int_tiktok_ads__ad_performance_joined',
    'int_microsoft_ads__ad_performance_joined',
    'int_programmatic__ad_performance_mapped',
    'int_affiliate__ad_performance_mapped',
] -%}

{%- set columns = [
    'date_day', 'platform', 'account_id', 'account_name', 'campaign_id', 'campaign_name', 'ad_group_id',
    'ad_group_name', 'ad_id', 'ad_name', 'currency', 'report_timezone', 'impressions', 'clicks', 'spend',
    'conversions', 'conversions_value', 'source_ingested_at',
] %}

with

{% for model in platform_models %}
{{ model }} as (

    select * from {{ ref(model) }}

),

{% endfor %}
unioned as (

    {%- for model in platform_models %}

    select {{ columns | join(', ') }}
    from {{ model }}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select * from unioned

)

select * from final
