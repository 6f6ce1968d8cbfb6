{{ cx_rejected_rows('base_crm__tickets', 'crm.tickets') }}
