{#- Connected components of an undirected graph: for every vertex, the smallest vertex id of its component.
    `vertices` names a relation (CTE) with a varchar column `vertex_id`; `arcs` one with `src` and `dst`
    (both directions of every edge). Renders a query (usable as a CTE body) giving `vertex_id, component_id`.
    Label propagation to the minimum (rudderlabs/dbt-id-stitching's rule, field notes 6.2) as one recursive
    query, which ends by itself when no label changes (the labels only decrease). Dispatched. -#}
{% macro connected_components(vertices, arcs) -%}
    {{ return(adapter.dispatch('connected_components', 'adlake')(vertices, arcs)) }}
{%- endmacro %}

{#- DuckDB (1.3+): `using key (vertex_id)` keeps one row per vertex, replaced when its label drops, and
    `recurring.<cte>` reads the labels so far, so only changed labels propagate (no path enumeration, which
    grows with the square of a component's size). Not parsed by sqlfluff's DuckDB dialect: the project's
    .sqlfluff lints models with a stand-in. -#}
{% macro duckdb__connected_components(vertices, arcs) -%}
    with recursive labels (vertex_id, component_id) using key (vertex_id) as (

        select
            vertex_id,
            vertex_id as component_id
        from {{ vertices }}

        union

        (
            select
                {{ arcs }}.dst as vertex_id,
                min(labels.component_id) as component_id
            from labels
            inner join {{ arcs }} on labels.vertex_id = {{ arcs }}.src
            inner join recurring.labels as known_labels on {{ arcs }}.dst = known_labels.vertex_id
            group by {{ arcs }}.dst, known_labels.component_id
            having min(labels.component_id) < known_labels.component_id
        )

    )

    select
        vertex_id,
        component_id
    from labels
{%- endmacro %}

{% macro default__connected_components(vertices, arcs) -%}
    {{ exceptions.raise_compiler_error("connected_components has no implementation for adapter "
        ~ adapter.type() ~ " (the DuckDB one uses a recursive CTE with USING KEY)") }}
{%- endmacro %}
