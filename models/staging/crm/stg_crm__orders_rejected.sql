{{ cx_rejected_rows('base_crm__orders', 'crm.orders') }}
