{#- Consent rules (documented in macros/consent.yml and the `touchpoints_consent` doc block).
    consent_state: a Consent Mode v2 value as one of `granted`, `denied`, `not_applicable` (no consent
    regime covers the person) or `unknown` (not recorded, or a value adlake does not know). -#}
{% macro consent_state(column) -%}
    case lower(trim(cast({{ column }} as varchar)))
        when 'granted' then 'granted'
        when 'denied' then 'denied'
        when 'not_applicable' then 'not_applicable'
        when 'not applicable' then 'not_applicable'
        else 'unknown'
    end
{%- endmacro %}

{#- consent_allows_journeys: whether a touch or conversion with this `ad_user_data` value may be used
    in journeys and person-level marts: granted, or no consent regime applies. Denied and unknown are
    left out of them (aggregates keep every volume). Never NULL. -#}
{% macro consent_allows_journeys(ad_user_data_column) -%}
    ({{ consent_state(ad_user_data_column) }} in ('granted', 'not_applicable'))
{%- endmacro %}
