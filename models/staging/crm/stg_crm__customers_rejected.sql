{{ cx_rejected_rows('base_crm__customers', 'crm.customers') }}
