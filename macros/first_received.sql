{#- Pushed events can arrive more than once (providers deliver at least once). The receiver drops
    repeats inside its dedup horizon; this keeps the first received copy of each event in staging
    for whatever gets past it (a redelivery after the horizon, a replayed journal). -#}
{% macro first_received(partition_by) -%}
    qualify row_number() over (
        partition by {{ partition_by | join(', ') }}
        order by received_at asc, cast(_dlt_load_id as double) asc, _dlt_id asc
    ) = 1
{%- endmacro %}
