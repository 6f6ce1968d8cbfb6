{{ cx_rejected_rows('base_web__events', 'web.events') }}
