{{ cx_rejected_rows('base_crm__contacts', 'crm.contacts') }}
