{{ cx_rejected_rows('base_crm__deals', 'crm.deals') }}
