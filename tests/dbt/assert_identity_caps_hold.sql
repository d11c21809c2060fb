-- No person holds more identifiers of a type than `identity_max_per_person` allows.
{%- set caps = var('identity_max_per_person') if execute else {'customer_user_id': 1} %}

with

int_identity__stitched as (

    select * from {{ ref('int_identity__stitched') }}

),

counts as (

    select
        person_key,
        identifier_type,
        count(*) as identifier_count
    from int_identity__stitched
    group by 1, 2

)

select
    person_key,
    identifier_type,
    identifier_count
from counts
where
    identifier_count > case identifier_type
        {%- for identifier_type, cap in caps.items() %}
        when '{{ identifier_type }}' then {{ cap | int }}
        {%- endfor %}
        else {{ var('identity_default_max_per_person') if execute else 5 }}
    end
