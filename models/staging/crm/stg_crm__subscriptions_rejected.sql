{{ cx_rejected_rows('base_crm__subscriptions', 'crm.subscriptions') }}
