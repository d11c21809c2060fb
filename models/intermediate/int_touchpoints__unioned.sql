{#- Every touch a person made, from every source that reports one, on one column set, with its channel
    (macro channel_grouping over the seed channel_grouping_rules) and its consent (macro consent_state).
    - Page views of the pixel (`web` events named in var `touchpoint_page_view_event_names`): one per
      delivery (staging keeps the first received copy of each `webhook-id`). UTM tags and click ids come
      from the event's own fields, else from its page URL's query string.
    - Email clicks: SendGrid `click` events; copies of one click (same message, URL and time, even under
      another `sg_event_id`) are one touch, the first received kept. The link's UTM tags are parsed.
    - App opens: AppsFlyer in-app events named in var `touchpoint_app_open_event_names` (primary
      attribution only); a pushed and a pulled copy of one open (same app, device and event time) are
      one touch, the pushed copy kept.
    Identifiers are not selected: each touch names its staging model and record id exactly as
    int_identifiers__pseudonymized does, which maps it to its people's pseudonyms. Click ids and full
    URLs (query strings carry click ids) stop here: only the click id's type, hosts and paths go on. -#}
{#- (vars are read when dbt executes; the linter's templater gets the defaults) -#}
{%- set page_view_names = var('touchpoint_page_view_event_names') if execute else ['PageView'] -%}
{%- set app_open_names = var('touchpoint_app_open_event_names') if execute else ['af_app_opened'] -%}
{#- Click id parameters, in the order one is chosen when a landing carries several; the pixel's staging
    has the first five as fields, the others are read from the URL. -#}
{%- set staged_click_ids = ['gclid', 'msclkid', 'fbclid', 'ttclid', 'li_fat_id'] -%}
{%- set click_id_params = staged_click_ids + ['gbraid', 'wbraid', 'dclid'] -%}
{%- set utm_fields = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term'] -%}

with

first_party_events as (

    select * from {{ ref('stg_webhooks__first_party_events') }}

),

sendgrid_events as (

    select * from {{ ref('stg_webhooks__sendgrid_events') }}

),

appsflyer_pushed_events as (

    select * from {{ ref('stg_webhooks__appsflyer_events') }}

),

appsflyer_in_app_events as (

    select * from {{ ref('stg_appsflyer__in_app_events') }}

),

page_views as (

    select
        'stg_webhooks__first_party_events' as source_model,
        message_id as record_id,
        'web' as touch_source,
        event_name,
        cast(null as varchar) as app_id,
        page_url as link_url,
        referrer,
        {%- for field in utm_fields %}
        {{ field }},
        {%- endfor %}
        {%- for param in click_id_params %}
        {{ param if param in staged_click_ids else 'cast(null as varchar)' }} as {{ param }},
        {%- endfor %}
        consent_ad_user_data,
        consent_ad_personalization,
        event_at as touched_at,
        received_at
    from first_party_events
    where
        event_source = 'web'
        and event_name in ('{{ page_view_names | join("', '") }}')

),

email_clicks as (

    select
        'stg_webhooks__sendgrid_events' as source_model,
        event_id as record_id,
        'email' as touch_source,
        event_type as event_name,
        cast(null as varchar) as app_id,
        url as link_url,
        cast(null as varchar) as referrer,
        {%- for field in utm_fields + click_id_params %}
        cast(null as varchar) as {{ field }},
        {%- endfor %}
        cast(null as varchar) as consent_ad_user_data,
        cast(null as varchar) as consent_ad_personalization,
        occurred_at as touched_at,
        received_at
    from sendgrid_events
    where event_type = 'click'
    qualify row_number() over (
        partition by message_id, url, occurred_at
        order by received_at asc, event_id asc
    ) = 1

),

app_open_copies as (

    select
        'stg_webhooks__appsflyer_events' as source_model,
        event_id as record_id,
        1 as copy_rank,
        app_id,
        appsflyer_id,
        event_name,
        event_at,
        received_at
    from appsflyer_pushed_events
    where
        is_primary_attribution
        and event_name in ('{{ app_open_names | join("', '") }}')

    union all

    select
        'stg_appsflyer__in_app_events' as source_model,
        event_sk as record_id,
        2 as copy_rank,
        app_id,
        appsflyer_id,
        event_name,
        event_at,
        ingested_at as received_at
    from appsflyer_in_app_events
    where
        is_primary_attribution
        and event_name in ('{{ app_open_names | join("', '") }}')

),

-- the device id only matches the copies here; it is not selected
app_opens as (

    select
        source_model,
        record_id,
        'app' as touch_source,
        event_name,
        app_id,
        cast(null as varchar) as link_url,
        cast(null as varchar) as referrer,
        {%- for field in utm_fields + click_id_params %}
        cast(null as varchar) as {{ field }},
        {%- endfor %}
        cast(null as varchar) as consent_ad_user_data,
        cast(null as varchar) as consent_ad_personalization,
        event_at as touched_at,
        received_at
    from app_open_copies
    qualify row_number() over (
        partition by app_id, coalesce(appsflyer_id, source_model || ':' || record_id), event_name, event_at
        order by copy_rank asc, received_at asc, record_id asc
    ) = 1

),

unioned as (

    select * from page_views

    union all

    select * from email_clicks

    union all

    select * from app_opens

),

-- the event's own fields first, else the link's query string
tagged as (

    select
        source_model,
        record_id,
        touch_source,
        event_name,
        app_id,
        {%- for field in utm_fields %}
        coalesce(nullif(trim({{ field }}), ''), {{ url_parameter('link_url', field) }}) as {{ field }},
        {%- endfor %}
        {{ url_parameter('link_url', 'utm_id') }} as utm_id,
        case
            {%- for param in click_id_params %}
            when coalesce(nullif(trim({{ param }}), ''), {{ url_parameter('link_url', param) }}) is not null
                then '{{ param }}'
            {%- endfor %}
        end as click_id_type,
        {{ url_host('referrer') }} as referrer_host,
        {{ url_host('link_url') }} as landing_host,
        {{ url_path('link_url') }} as landing_path,
        {{ consent_state('consent_ad_user_data') }} as consent_ad_user_data,
        {{ consent_state('consent_ad_personalization') }} as consent_ad_personalization,
        touched_at,
        received_at
    from unioned

),

grouped as (

    select
        *,
        {{ channel_grouping(
            'tagged.touch_source', 'tagged.click_id_type', 'tagged.utm_source', 'tagged.utm_medium',
            'tagged.referrer_host'
        ) }}
            as channel_grouping
    from tagged

),

final as (

    select
        -- ids
        {{ surrogate_key(['source_model', 'record_id']) }} as touchpoint_id,
        source_model,
        record_id,
        -- campaign id: the standard `utm_id` tag; ad id: `utm_content` on a paid platform's landing
        utm_id as campaign_id,
        case when channel_grouping['platform'] is not null then utm_content end as ad_id,
        app_id,

        -- strings
        touch_source,
        case
            when touch_source = 'email' then 'email_click'
            when touch_source = 'app' then 'app_open'
            when channel_grouping['channel'] = 'sms' then 'sms_click'
            when channel_grouping['channel'] = 'email' then 'email_click'
            when click_id_type is not null or utm_source is not null or utm_medium is not null then 'click'
            else 'web_visit'
        end as touch_type,
        channel_grouping['channel'] as channel,
        channel_grouping['platform'] as platform,
        event_name,
        click_id_type,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        utm_term,
        referrer_host,
        landing_host,
        landing_path,
        consent_ad_user_data,
        consent_ad_personalization,

        -- numerics
        channel_grouping['rule_priority'] as channel_rule_priority,

        -- booleans
        {{ consent_allows_journeys('consent_ad_user_data') }} as has_journey_consent,

        -- dates
        cast(timezone('UTC', touched_at) as date) as touch_date,

        -- timestamps
        touched_at,
        received_at

    from grouped

)

select * from final
