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

{#- consent_as_of: the `facts` relation (a CTE name) with the person's consent as of each row's time
    added as `person_consent_ad_user_data` / `person_consent_ad_personalization` /
    `person_consent_observed_at`: the latest observation in int_consent__observed (a CTE named
    `consent_observed`) of the same `person_key` at or before `at_column`; NULL when the person
    recorded none by then (consent is never assumed backwards in time; a withdrawal acts forward). Ties
    at one instant take the most restrictive state (denied before granted). -#}
{% macro consent_as_of(facts, key_column, at_column) -%}
    select
        {{ facts }}.*,
        consent_observed.consent_ad_user_data as person_consent_ad_user_data,
        consent_observed.consent_ad_personalization as person_consent_ad_personalization,
        consent_observed.observed_at as person_consent_observed_at
    from {{ facts }}
    left join consent_observed
        on
            {{ facts }}.person_key = consent_observed.person_key
            and consent_observed.observed_at <= {{ facts }}.{{ at_column }}
    qualify row_number() over (
        partition by {{ facts }}.{{ key_column }}
        order by
            consent_observed.observed_at desc nulls last,
            case consent_observed.consent_ad_user_data when 'denied' then 0 else 1 end,
            case consent_observed.consent_ad_personalization when 'denied' then 0 else 1 end,
            consent_observed.record_id
    ) = 1
{%- endmacro %}
