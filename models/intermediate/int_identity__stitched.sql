{#- Identity stitching: every identifier resolved to one pseudonymous person (connected components of
    int_identity__edges, with Segment-style guards; field notes 6.2). Persons are grown level by level in the
    var `identity_priority` (highest first): at each level, the level's identifiers and the persons built so
    far are joined by their edges (connected components); a group that would hold more identifiers of a type
    than `identity_max_per_person` allows is not merged: each of its new (lowest-priority) identifiers joins
    at most one person (the one it was seen with on the most records, then first, then the smallest label),
    while the person has room for its type, or stands alone. When no cap is exceeded this is exactly the
    connected components of the graph. Junk values never get here (the boundary blocks them).
    The person key is deterministic: HMAC (`pseudonymize`) of the person's label, the smallest
    `<priority level>:<type>:<pseudonym>` of its identifiers (so its highest-priority identifier), which
    depends on no row order and changes with the pseudonym key. -#}
{{ config(materialized='table') }}

{#- (Stand-ins when not executing: parsing and linting.) -#}
{%- set levels = var('identity_priority') if execute else [['customer_user_id'], ['email']] -%}
{%- set caps = var('identity_max_per_person') if execute else {'customer_user_id': 1} -%}
{%- set default_cap = var('identity_default_max_per_person') if execute else 5 -%}
{%- set last_level = levels | length + 1 -%}
{#- Each type's priority level (a type on one level only); caps of 1 or more. -#}
{%- set level_of = {} -%}
{%- for level in levels -%}{%- set level_number = loop.index -%}{%- for identifier_type in level -%}
{%- if identifier_type in level_of -%}
{{ exceptions.raise_compiler_error("identity_priority lists " ~ identifier_type ~ " twice") }}
{%- endif -%}
{%- do level_of.update({identifier_type: level_number}) -%}
{%- endfor -%}{%- endfor -%}
{%- for identifier_type, cap in caps.items() if cap | int < 1 -%}
{{ exceptions.raise_compiler_error("identity_max_per_person: " ~ identifier_type ~ " must be 1 or more") }}
{%- endfor %}

with

int_identifiers__pseudonymized as (

    select * from {{ ref('int_identifiers__pseudonymized') }}

),

int_identity__edges as (

    select * from {{ ref('int_identity__edges') }}

),

identifiers as (

    select
        identifier_type,
        identifier_pseudonym,
        case identifier_type
            {%- for identifier_type, level_number in level_of.items() %}
            when '{{ identifier_type }}' then {{ level_number }}
            {%- endfor %}
            else {{ last_level }}
        end as priority_level,
        case identifier_type
            {%- for identifier_type, cap in caps.items() %}
            when '{{ identifier_type }}' then {{ cap | int }}
            {%- endfor %}
            else {{ default_cap | int }}
        end as max_per_person,
        min(observed_at) as first_observed_at
    from int_identifiers__pseudonymized
    group by 1, 2

),

nodes as materialized (

    select
        identifier_type,
        identifier_pseudonym,
        priority_level,
        max_per_person,
        first_observed_at,
        concat_ws(':', lpad(cast(priority_level as varchar), 2, '0'), identifier_type, identifier_pseudonym)
            as node_id
    from identifiers

),

type_caps as (

    select distinct
        identifier_type,
        max_per_person
    from nodes

),

edges_between_nodes as (

    select
        node_a.node_id as node_a_id,
        node_a.priority_level as node_a_level,
        node_b.node_id as node_b_id,
        node_b.priority_level as node_b_level,
        int_identity__edges.record_count,
        int_identity__edges.first_observed_at
    from int_identity__edges
    inner join nodes as node_a
        on
            int_identity__edges.identifier_a_type = node_a.identifier_type
            and int_identity__edges.identifier_a_pseudonym = node_a.identifier_pseudonym
    inner join nodes as node_b
        on
            int_identity__edges.identifier_b_type = node_b.identifier_type
            and int_identity__edges.identifier_b_pseudonym = node_b.identifier_pseudonym

),

arcs as materialized (

    select
        node_a_id as src,
        node_a_level as src_level,
        node_b_id as dst,
        node_b_level as dst_level,
        record_count,
        first_observed_at
    from edges_between_nodes

    union all

    select
        node_b_id as src,
        node_b_level as src_level,
        node_a_id as dst,
        node_a_level as dst_level,
        record_count,
        first_observed_at
    from edges_between_nodes

),

persons_0 as (

    select
        node_id,
        identifier_type,
        node_id as person_label,
        false as is_capped
    from nodes
    where false

),
{% for level in range(1, last_level + 1) %}
{%- set previous = 'persons_' ~ (level - 1) %}

-- level {{ level }}: its identifiers' links to the persons built so far and to each other
links_{{ level }} as materialized (

    select
        arcs.src as node_id,
        coalesce({{ previous }}.person_label, arcs.dst) as vertex_id,
        {{ previous }}.person_label is not null as is_person,
        sum(arcs.record_count) as record_count,
        min(arcs.first_observed_at) as first_observed_at
    from arcs
    left join {{ previous }} on arcs.dst = {{ previous }}.node_id
    where
        arcs.src_level = {{ level }}
        and ({{ previous }}.node_id is not null or arcs.dst_level = {{ level }})
    group by 1, 2, 3

),

vertices_{{ level }} as (

    select node_id as vertex_id
    from nodes
    where priority_level = {{ level }}

    union

    select vertex_id
    from links_{{ level }}
    where is_person

),

link_arcs_{{ level }} as (

    select
        node_id as src,
        vertex_id as dst
    from links_{{ level }}

    union

    select
        vertex_id as src,
        node_id as dst
    from links_{{ level }}

),

groups_{{ level }} as materialized (

    {{ connected_components('vertices_' ~ level, 'link_arcs_' ~ level) }}

),

vertex_counts_{{ level }} as (

    select
        person_label as vertex_id,
        identifier_type,
        count(*) as identifier_count
    from {{ previous }}
    group by 1, 2

    union all

    select
        node_id as vertex_id,
        identifier_type,
        1 as identifier_count
    from nodes
    where priority_level = {{ level }}

),

-- groups that would give one person more identifiers of a type than its cap
conflicted_{{ level }} as (

    select groups_{{ level }}.component_id
    from groups_{{ level }}
    inner join vertex_counts_{{ level }} on groups_{{ level }}.vertex_id = vertex_counts_{{ level }}.vertex_id
    inner join type_caps on vertex_counts_{{ level }}.identifier_type = type_caps.identifier_type
    group by groups_{{ level }}.component_id, type_caps.identifier_type, type_caps.max_per_person
    having sum(vertex_counts_{{ level }}.identifier_count) > type_caps.max_per_person
    qualify row_number() over (partition by groups_{{ level }}.component_id) = 1

),

merges_{{ level }} as (

    select
        groups_{{ level }}.vertex_id,
        groups_{{ level }}.component_id
    from groups_{{ level }}
    left join conflicted_{{ level }} on groups_{{ level }}.component_id = conflicted_{{ level }}.component_id
    where conflicted_{{ level }}.component_id is null

),

-- in a conflicted group, each new identifier joins at most one person: the one seen with it most
attachments_{{ level }} as (

    select
        links_{{ level }}.node_id,
        links_{{ level }}.vertex_id as person_label,
        links_{{ level }}.record_count,
        links_{{ level }}.first_observed_at
    from links_{{ level }}
    inner join groups_{{ level }} on links_{{ level }}.node_id = groups_{{ level }}.vertex_id
    inner join conflicted_{{ level }} on groups_{{ level }}.component_id = conflicted_{{ level }}.component_id
    where links_{{ level }}.is_person
    qualify row_number() over (
        partition by links_{{ level }}.node_id
        order by links_{{ level }}.record_count desc, links_{{ level }}.first_observed_at, links_{{ level }}.vertex_id
    ) = 1

),

-- while the person has room for its type (a type belongs to one level: the person has none of it yet)
admitted_{{ level }} as (

    select
        attachments_{{ level }}.node_id,
        attachments_{{ level }}.person_label
    from attachments_{{ level }}
    inner join nodes on attachments_{{ level }}.node_id = nodes.node_id
    qualify row_number() over (
        partition by attachments_{{ level }}.person_label, nodes.identifier_type
        order by
            attachments_{{ level }}.record_count desc,
            attachments_{{ level }}.first_observed_at,
            attachments_{{ level }}.node_id
    ) <= nodes.max_per_person

),

persons_{{ level }} as materialized (

    select
        {{ previous }}.node_id,
        {{ previous }}.identifier_type,
        coalesce(merges_{{ level }}.component_id, {{ previous }}.person_label) as person_label,
        {{ previous }}.is_capped
    from {{ previous }}
    left join merges_{{ level }} on {{ previous }}.person_label = merges_{{ level }}.vertex_id

    union all

    select
        nodes.node_id,
        nodes.identifier_type,
        case
            when conflicted_{{ level }}.component_id is null then groups_{{ level }}.component_id
            else coalesce(admitted_{{ level }}.person_label, nodes.node_id)
        end as person_label,
        conflicted_{{ level }}.component_id is not null as is_capped
    from nodes
    inner join groups_{{ level }} on nodes.node_id = groups_{{ level }}.vertex_id
    left join conflicted_{{ level }} on groups_{{ level }}.component_id = conflicted_{{ level }}.component_id
    left join admitted_{{ level }} on nodes.node_id = admitted_{{ level }}.node_id
    where nodes.priority_level = {{ level }}

),
{% endfor %}

final as (

    select
        -- ids
        {{ pseudonymize("'person:' || persons_" ~ last_level ~ ".person_label", 'id') }} as person_key,
        nodes.identifier_pseudonym,

        -- strings
        nodes.identifier_type,

        -- numerics
        nodes.priority_level,

        -- booleans
        persons_{{ last_level }}.is_capped,

        -- timestamps
        nodes.first_observed_at

    from nodes
    inner join persons_{{ last_level }} on nodes.node_id = persons_{{ last_level }}.node_id

)

select * from final
