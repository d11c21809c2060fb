{#- The pseudonymization boundary for person identifiers: every identifier a staging model holds in
    clear (columns marked `meta: {pii: true}`), as a keyed HMAC pseudonym, one row per record and
    identifier type. Models past staging read people's identifiers from here, never from staging.
    A table, not a view: the HMAC function exists only inside dbt's connection, and the file keeps
    only pseudonyms. Each entry: staging model, its record key, the record's time, and
    (column, kind for normalization, identifier type). -#}
{{ config(materialized='table') }}

{%- set observations = [
    {'model': 'stg_crm__contacts', 'record_id': 'contact_id', 'observed_at': 'modified_at', 'identifiers': [
        ('email', 'email', 'email'),
        ('phone', 'phone', 'phone'),
    ]},
    {'model': 'stg_appsflyer__installs', 'record_id': 'install_sk', 'observed_at': 'installed_at', 'identifiers': [
        ('appsflyer_id', 'id', 'appsflyer_id'),
        ('customer_user_id', 'id', 'customer_user_id'),
        ('advertising_id', 'device_id', 'gaid'),
        ('idfa', 'device_id', 'idfa'),
        ('idfv', 'device_id', 'idfv'),
        ('android_id', 'device_id', 'android_id'),
    ]},
    {'model': 'stg_appsflyer__in_app_events', 'record_id': 'event_sk', 'observed_at': 'event_at', 'identifiers': [
        ('appsflyer_id', 'id', 'appsflyer_id'),
        ('customer_user_id', 'id', 'customer_user_id'),
        ('advertising_id', 'device_id', 'gaid'),
        ('idfa', 'device_id', 'idfa'),
        ('idfv', 'device_id', 'idfv'),
        ('android_id', 'device_id', 'android_id'),
    ]},
    {'model': 'stg_webhooks__sendgrid_events', 'record_id': 'event_id', 'observed_at': 'occurred_at', 'identifiers': [
        ('email', 'email', 'email'),
    ]},
    {'model': 'stg_webhooks__twilio_status_callbacks', 'record_id': 'event_id', 'observed_at': 'status_at',
     'identifiers': [
        ('to_phone', 'phone', 'phone'),
    ]},
    {'model': 'stg_webhooks__meta_changes', 'record_id': 'event_id', 'observed_at': 'occurred_at', 'identifiers': [
        ('from_id', 'id', 'meta_user_id'),
    ]},
    {'model': 'stg_webhooks__appsflyer_events', 'record_id': 'event_id', 'observed_at': 'event_at', 'identifiers': [
        ('appsflyer_id', 'id', 'appsflyer_id'),
        ('customer_user_id', 'id', 'customer_user_id'),
        ('advertising_id', 'device_id', 'gaid'),
        ('idfa', 'device_id', 'idfa'),
        ('idfv', 'device_id', 'idfv'),
        ('android_id', 'device_id', 'android_id'),
    ]},
    {'model': 'stg_webhooks__adjust_callbacks', 'record_id': 'event_id', 'observed_at': 'created_at', 'identifiers': [
        ('adid', 'id', 'adjust_adid'),
        ('gps_adid', 'device_id', 'gaid'),
        ('idfa', 'device_id', 'idfa'),
    ]},
    {'model': 'stg_webhooks__first_party_events', 'record_id': 'message_id', 'observed_at': 'event_at',
     'identifiers': [
        ('anonymous_id', 'id', 'anonymous_id'),
        ('user_id', 'id', 'customer_user_id'),
        ('email', 'email', 'email'),
        ('fbp', 'id', 'fbp'),
        ('fbc', 'id', 'fbc'),
    ]},
] -%}

with

{% for observation in observations %}
{{ observation.model }} as (

    select * from {{ ref(observation.model) }}

),

{% endfor %}
{%- for observation in observations %}
{{ observation.model }}_identifiers as (

    {%- for column, kind, identifier_type in observation.identifiers %}
    select
        '{{ observation.model }}' as source_model,
        cast({{ observation.record_id }} as varchar) as record_id,
        '{{ identifier_type }}' as identifier_type,
        {{ pseudonymize(column, kind) }} as identifier_pseudonym,
        {{ observation.observed_at }} as observed_at
    from {{ observation.model }}
    where {{ column }} is not null
    {%- if not loop.last %}

    union all
    {% endif -%}
    {%- endfor %}

),

{% endfor %}
unioned as (

    {%- for observation in observations %}
    select * from {{ observation.model }}_identifiers
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {%- endfor %}

),

final as (

    select
        -- ids
        {{ surrogate_key(['source_model', 'record_id', 'identifier_type']) }} as observation_sk,
        record_id,
        identifier_pseudonym,

        -- strings
        source_model,
        identifier_type,

        -- timestamps
        observed_at

    from unioned
    -- values that normalize to nothing (blank, all-zero ids, phones without a country code)
    where identifier_pseudonym is not null

)

select * from final
