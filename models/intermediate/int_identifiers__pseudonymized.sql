{#- The pseudonymization boundary for person identifiers: every identifier a staging model holds in
    clear (columns marked `meta: {pii: true}`), as a keyed HMAC pseudonym, one row per record and
    identifier type. Models past staging read people's identifiers from here, never from staging.
    A table, not a view: the HMAC function exists only inside dbt's connection, and the file keeps
    only pseudonyms. Each entry: staging model, its record key, the record's time, and
    (column, kind for normalization, identifier type).
    Incremental (macros/incremental_days.sql): a run pseudonymizes only the records whose staging row
    was received after the last build (per staging model) and replaces each such record's rows whole
    (delete+insert on source model and record id, so an identifier a record lost goes too). Every row
    keeps `pseudonym_key_id`, the HMAC of a fixed text under the key that made it: a run under another
    key rebuilds every record, so pseudonyms of two keys never mix. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['source_model', 'record_id'],
    on_schema_change='fail',
    post_hook="{{ incremental_days_log(['source_model', 'record_id'], watermark_by=['source_model'], day_column=none) }}",
) }}

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

{%- set key_id = pseudonymize("'adlake pseudonym key id'", 'id') %}
{%- set other_key = "(select max(pseudonym_key_id) from " ~ this ~ ") is distinct from (select " ~ key_id ~ ")" %}

{% for observation in observations %}
{{ observation.model }} as (

    {{ incremental_days(
        "(select '" ~ observation.model ~ "' as source_model, cast(" ~ observation.record_id
        ~ " as varchar) as record_id, * from " ~ ref(observation.model) ~ ")",
        ['source_model', 'record_id'], is_incremental(), watermark_by=['source_model'],
        ingested_at='ingested_at', day_column=none, reprocess_all_when=other_key
    ) }}

),

{% endfor %}
key_id as (

    select {{ key_id }} as pseudonym_key_id

),


{%- for observation in observations %}
{{ observation.model }}_identifiers as (

    {%- for column, kind, identifier_type in observation.identifiers %}
    select
        '{{ observation.model }}' as source_model,
        cast({{ observation.record_id }} as varchar) as record_id,
        '{{ identifier_type }}' as identifier_type,
        {{ pseudonymize(column, kind) }} as identifier_pseudonym,
        {{ observation.observed_at }} as observed_at,
        ingested_at
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
        {{ surrogate_key(['unioned.source_model', 'unioned.record_id', 'unioned.identifier_type']) }}
            as observation_sk,
        unioned.record_id,
        unioned.identifier_pseudonym,

        -- strings
        unioned.source_model,
        unioned.identifier_type,

        -- timestamps
        unioned.observed_at,

        -- metadata
        cast(unioned.ingested_at as timestamptz) as ingested_at,
        key_id.pseudonym_key_id

    from unioned
    cross join key_id
    -- values that normalize to nothing (blank, all-zero ids, phones without a country code)
    where unioned.identifier_pseudonym is not null

)

select * from final
