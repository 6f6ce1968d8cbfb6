{{ cx_rejected_rows('base_crm__order_lines', 'crm.order_lines') }}
