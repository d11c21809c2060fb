{#- URL parts in SQL (DuckDB regular expressions). -#}

{#- The decoded value of query parameter `name` (case-insensitive name; `+` read as a space), or
    NULL when the URL lacks it or it is blank. -#}
{% macro url_parameter(url, name) -%}
    nullif(
        trim(url_decode(replace(regexp_extract({{ url }}, '(?i)[?&]{{ name }}=([^&#]*)', 1), '+', ' '))), ''
    )
{%- endmacro %}

{#- The host of a URL, lowercased, without user info or port; NULL for a blank URL. A value without
    a scheme is read as starting with the host (`google.com/x`, `android-app://...` keeps its package). -#}
{% macro url_host(url) -%}
    nullif(
        lower(regexp_extract(trim({{ url }}), '^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?(?://)?(?:[^@/?#]*@)?([^/:?#\s]+)', 1)),
        ''
    )
{%- endmacro %}

{#- The path of a URL with a scheme, without query string or fragment (`/` when empty); NULL for a
    blank URL. -#}
{% macro url_path(url) -%}
    case
        when nullif(trim({{ url }}), '') is not null
            then coalesce(
                nullif(regexp_extract(trim({{ url }}), '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*(/[^?#]*)', 1), ''), '/'
            )
    end
{%- endmacro %}
